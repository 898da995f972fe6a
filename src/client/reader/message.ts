// The Message handed to callers, and the walk from a fetched record set to messages: records below the
// fetch offset (a batch starts before it) are skipped, control batches are skipped, and with
// read_committed the records of aborted transactions are dropped.
import { decodeRecordSet, type RecordBatch } from '../../protocol/records/index.ts';
import { LOG_OVERHEAD } from '../../protocol/records/batch-layout.ts';

export interface MessageHeader {
  key: string;
  value: Uint8Array | null;
}

export interface Message {
  topic: string;
  partition: number;
  offset: bigint;
  /** The partition's high watermark when the message was fetched. */
  highWaterMark: bigint;
  /**
   * A view into the fetched (decompressed) batch: keeping it keeps the whole batch in memory. Copy it
   * (`key.slice()`) to keep it for long, or give the Reader `copyBytes: true`. So are value and headers.
   */
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: MessageHeader[];
  time: Date;
}

/**
 * Commit fencing: the assignment a message was delivered under, stamped by the Reader. A property
 * present from creation keeps every message the same shape; a WeakMap entry per message cost a
 * quarter of a group reader's CPU.
 */
export const ASSIGNMENT: unique symbol = Symbol('mka.assignment');
export interface StampedMessage extends Message {
  [ASSIGNMENT]: number;
}

/** What a message costs in the prefetch queue's byte budget. */
export function messageBytes(m: Message): number {
  let n = (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const h of m.headers) n += h.key.length + (h.value?.length ?? 0);
  return n;
}


/**
 * Splits a record set into complete batches without decoding them, so that a big response is decoded
 * one batch at a time and a corrupt batch costs only what follows it.
 */
export function* batchSlices(data: Uint8Array): Generator<Uint8Array> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (data.length - pos >= LOG_OVERHEAD) {
    const length = view.getInt32(pos + 8);
    // A negative or short length is handed to the decoder, which names the corruption.
    const total = length < 0 ? data.length - pos : LOG_OVERHEAD + length;
    if (data.length - pos < total) return; // the broker cut the last batch at the size limit
    yield data.subarray(pos, pos + total);
    pos += total;
  }
}

/**
 * The offset after the last complete batch of a fetched record set, read from batch headers alone
 * (base offset + last offset delta), or null when a batch is not magic 2 (legacy sets: decode to know).
 * `from` when no batch is complete.
 */
export function nextOffsetAfter(data: Uint8Array, from: bigint): bigint | null {
  let next = from;
  for (const slice of batchSlices(data)) {
    if (slice.length < 61 || slice[16] !== 2) return null;
    const view = new DataView(slice.buffer, slice.byteOffset, slice.byteLength);
    const last = view.getBigInt64(0) + BigInt(view.getInt32(23));
    if (last + 1n > next) next = last + 1n;
  }
  return next;
}

export async function decodeSlice(slice: Uint8Array, topic: string, partition: number): Promise<RecordBatch[]> {
  return decodeRecordSet(slice, { topic, partition });
}

/**
 * Tracks aborted transactions of one fetched record set (read_committed): a transactional batch of a
 * producer whose aborted transaction began at or before it is dropped, until that producer's abort
 * marker is seen.
 */
export class AbortFilter {
  private readonly pending: { producerId: bigint; firstOffset: bigint }[];
  private readonly aborted = new Set<bigint>();

  constructor(aborted: { producerId: bigint; firstOffset: bigint }[] | null) {
    this.pending = (aborted ?? []).slice().sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  }

  /** True when the batch's records are to be delivered. Call for every batch, in order. */
  keep(b: RecordBatch): boolean {
    if (b.isControl) {
      if (b.control?.type === 'abort') this.aborted.delete(b.producerId);
      return false;
    }
    if (!b.isTransactional) return true;
    while (this.pending.length && this.pending[0].firstOffset <= b.lastOffset) this.aborted.add(this.pending.shift()!.producerId);
    return !this.aborted.has(b.producerId);
  }
}
