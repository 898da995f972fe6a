// Builds record batches of magic 2. Records are written straight into one growing buffer behind a
// reserved header, so appending costs no per-record allocation beyond the bytes themselves; sealing
// compresses the records section (asynchronously, see compression/) and fills in the header and CRC.
import { ProtocolEncodeError } from '../errors.ts';
import { codecFor, type CompressionType } from '../compression/index.ts';
import { ByteWriter } from '../wire/byte-writer.ts';
import { uvarintSize, varintSize } from '../wire/varint.ts';
import { utf8Length } from '../wire/byte-writer.ts';
import * as L from './batch-layout.ts';
import { crc32c } from './crc.ts';
import type { RecordHeader, RecordInput, TimestampType } from './types.ts';

export interface BatchOptions {
  compression?: CompressionType;
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  timestampType?: TimestampType;
  transactional?: boolean;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
}

function varlongNumberSize(v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return varintSize(v);
  let u = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (u >= 0x80) {
    u = Math.floor(u / 0x80);
    n++;
  }
  return n;
}

function bytesSize(b: Uint8Array | null): number {
  return b === null ? 1 : varintSize(b.length) + b.length;
}

export class RecordBatchBuilder {
  private readonly w: ByteWriter;
  private readonly opts: BatchOptions;
  private count = 0;
  private baseTimestamp = 0;
  private maxTimestamp = -1;

  constructor(opts: BatchOptions = {}, initialCapacity = 1024) {
    this.opts = opts;
    this.w = new ByteWriter(initialCapacity);
    this.w.reserve(L.HEADER_SIZE);
  }

  /** Records appended so far. */
  get recordCount(): number {
    return this.count;
  }

  /** Uncompressed size of the batch so far, header included. */
  get sizeInBytes(): number {
    return this.w.length;
  }

  /** Appends one record; timestampMs is its create time in epoch milliseconds. */
  append(timestampMs: number, key: Uint8Array | null, value: Uint8Array | null, headers?: readonly RecordHeader[]): void {
    if (!Number.isSafeInteger(timestampMs)) throw new ProtocolEncodeError(`record timestamp ${timestampMs} is not an integer of milliseconds`);
    if (this.count === 0) this.baseTimestamp = timestampMs;
    if (timestampMs > this.maxTimestamp) this.maxTimestamp = timestampMs;
    const tsDelta = timestampMs - this.baseTimestamp;
    const offsetDelta = this.count;
    let size = 1 + varlongNumberSize(tsDelta) + varintSize(offsetDelta) + bytesSize(key) + bytesSize(value);
    const nh = headers ? headers.length : 0;
    size += varintSize(nh);
    for (let i = 0; i < nh; i++) {
      const h = headers![i];
      const kl = utf8Length(h.key);
      size += varintSize(kl) + kl + bytesSize(h.value);
    }
    const w = this.w;
    w.ensure(size + 5);
    w.varint(size);
    w.int8(0); // record attributes: unused
    w.varlongNumber(tsDelta);
    w.varint(offsetDelta);
    w.varintBytes(key);
    w.varintBytes(value);
    w.varint(nh);
    for (let i = 0; i < nh; i++) {
      const h = headers![i];
      w.varintString(h.key);
      w.varintBytes(h.value);
    }
    this.count++;
  }

  /** Appends a RecordInput (convenience over append). */
  add(r: RecordInput, now = Date.now()): void {
    const ts = r.timestamp === undefined ? now : typeof r.timestamp === 'number' ? r.timestamp : r.timestamp.getTime();
    this.append(ts, r.key ?? null, r.value, r.headers);
  }

  /**
   * The finished batch. Uncompressed batches are a view of the builder's buffer (no copy); compressed
   * ones are a new buffer of header + compressed records. The builder must not be used afterwards.
   */
  async build(): Promise<Uint8Array> {
    if (this.count === 0) throw new ProtocolEncodeError('a record batch needs at least one record');
    const compression = this.opts.compression ?? 0;
    let out = this.w.finish();
    if (compression !== 0) {
      const packed = await codecFor(compression).compress(out.subarray(L.HEADER_SIZE));
      const whole = new Uint8Array(L.HEADER_SIZE + packed.length);
      whole.set(out.subarray(0, L.HEADER_SIZE));
      whole.set(packed, L.HEADER_SIZE);
      out = whole;
    }
    this.writeHeader(out, compression);
    return out;
  }

  private writeHeader(out: Uint8Array, compression: CompressionType): void {
    const o = this.opts;
    const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
    v.setBigInt64(L.BASE_OFFSET, o.baseOffset ?? 0n);
    v.setInt32(L.BATCH_LENGTH, out.length - L.LOG_OVERHEAD);
    v.setInt32(L.PARTITION_LEADER_EPOCH, o.partitionLeaderEpoch ?? L.NO_PARTITION_LEADER_EPOCH);
    v.setInt8(L.MAGIC, 2);
    let attributes: number = compression;
    if (o.timestampType === 'log-append-time') attributes |= L.TIMESTAMP_TYPE_BIT;
    if (o.transactional) attributes |= L.TRANSACTIONAL_BIT;
    v.setInt16(L.ATTRIBUTES, attributes);
    v.setInt32(L.LAST_OFFSET_DELTA, this.count - 1);
    v.setBigInt64(L.BASE_TIMESTAMP, BigInt(this.baseTimestamp));
    v.setBigInt64(L.MAX_TIMESTAMP, BigInt(this.maxTimestamp));
    v.setBigInt64(L.PRODUCER_ID, o.producerId ?? L.NO_PRODUCER_ID);
    v.setInt16(L.PRODUCER_EPOCH, o.producerEpoch ?? L.NO_PRODUCER_EPOCH);
    v.setInt32(L.BASE_SEQUENCE, o.baseSequence ?? L.NO_SEQUENCE);
    v.setInt32(L.RECORD_COUNT, this.count);
    v.setUint32(L.CRC, crc32c(out.subarray(L.CRC_FROM)));
  }
}

/**
 * Rewrites the producer fields of a finished batch and its CRC. An idempotent producer learns the
 * sequence of a batch only when it first sends it, long after the batch was compressed.
 */
export function stampBatch(batch: Uint8Array, producerId: bigint, producerEpoch: number, baseSequence: number): void {
  const v = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  v.setBigInt64(L.PRODUCER_ID, producerId);
  v.setInt16(L.PRODUCER_EPOCH, producerEpoch);
  v.setInt32(L.BASE_SEQUENCE, baseSequence);
  v.setUint32(L.CRC, crc32c(batch.subarray(L.CRC_FROM)));
}

/** Encodes records as one batch. */
export async function encodeRecordBatch(records: readonly RecordInput[], opts: BatchOptions = {}): Promise<Uint8Array> {
  const b = new RecordBatchBuilder(opts, 256 + records.length * 64);
  const now = Date.now();
  for (const r of records) b.add(r, now);
  return b.build();
}

/** Bytes a record adds to a batch, before compression (used for batch-size accounting). */
export function estimateRecordSize(key: Uint8Array | null, value: Uint8Array | null, headers?: readonly RecordHeader[]): number {
  let n = 21 + bytesSize(key) + bytesSize(value);
  if (headers) for (const h of headers) n += 5 + h.key.length * 3 + bytesSize(h.value);
  return n + uvarintSize(n);
}
