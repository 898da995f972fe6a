// One partition's log: record batches (magic 2) held as the bytes a fetch returns, offsets assigned on
// append, retention by bytes so a long test cannot grow memory without bound. The batches are kept
// exactly as the broker stamped them, so a fetch is a concatenation, never a re-encode.
import { BatchLayout as L, crc32c, decodeBatchV2 } from '../protocol/records/index.ts';

export interface StoredBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  lastSequence: number;
  leaderEpoch: number;
  bytes: Uint8Array;
}

/** Where appended batches go besides memory (a file, for a cluster that must survive a kill). */
export interface LogSink {
  append(bytes: Uint8Array): void;
  /** The log lost batches at its start (retention, DeleteRecords): rewrite what is left. */
  truncateStart(batches: readonly StoredBatch[]): void;
}

/** Reads the header fields of a stamped batch. */
export function describeBatch(bytes: Uint8Array): StoredBatch {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const baseOffset = v.getBigInt64(L.BASE_OFFSET);
  const baseSequence = v.getInt32(L.BASE_SEQUENCE);
  const delta = v.getInt32(L.LAST_OFFSET_DELTA);
  return {
    baseOffset,
    lastOffset: baseOffset + BigInt(delta),
    maxTimestamp: v.getBigInt64(L.MAX_TIMESTAMP),
    producerId: v.getBigInt64(L.PRODUCER_ID),
    producerEpoch: v.getInt16(L.PRODUCER_EPOCH),
    baseSequence,
    lastSequence: baseSequence < 0 ? -1 : baseSequence + delta,
    leaderEpoch: v.getInt32(L.PARTITION_LEADER_EPOCH),
    bytes,
  };
}

export class PartitionLog {
  private batches: StoredBatch[] = [];
  private sizeBytes = 0;
  logStartOffset = 0n;
  endOffset = 0n;
  private readonly listeners = new Set<() => void>();

  constructor(
    private retentionBytes: number,
    private readonly sink?: LogSink,
  ) {}

  /** Rebuilds the log from batches read back from a sink (a restart after a kill). */
  restore(batches: StoredBatch[], logStartOffset: bigint): void {
    this.batches = batches.filter((b) => b.lastOffset >= logStartOffset);
    this.sizeBytes = this.batches.reduce((n, b) => n + b.bytes.length, 0);
    const last = batches[batches.length - 1];
    this.endOffset = last ? last.lastOffset + 1n : logStartOffset;
    this.logStartOffset = logStartOffset > this.endOffset ? this.endOffset : logStartOffset;
  }

  get size(): number {
    return this.sizeBytes;
  }

  setRetentionBytes(n: number): void {
    this.retentionBytes = n;
    this.enforceRetention();
  }

  /**
   * Appends one validated batch: stamps its base offset and leader epoch, and for log-append-time
   * topics its timestamp type and max timestamp (which the CRC covers, so the CRC is recomputed).
   */
  append(batch: Uint8Array, leaderEpoch: number, logAppendTime: bigint | null): StoredBatch {
    const bytes = batch.slice();
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    v.setBigInt64(L.BASE_OFFSET, this.endOffset);
    v.setInt32(L.PARTITION_LEADER_EPOCH, leaderEpoch);
    if (logAppendTime !== null) {
      v.setInt16(L.ATTRIBUTES, v.getInt16(L.ATTRIBUTES) | L.TIMESTAMP_TYPE_BIT);
      v.setBigInt64(L.MAX_TIMESTAMP, logAppendTime);
      v.setUint32(L.CRC, crc32c(bytes.subarray(L.CRC_FROM)));
    }
    const stored = describeBatch(bytes);
    this.sink?.append(bytes);
    this.batches.push(stored);
    this.sizeBytes += bytes.length;
    this.endOffset = stored.lastOffset + 1n;
    this.enforceRetention();
    for (const l of [...this.listeners]) l();
    return stored;
  }

  /** Calls `fn` after every append until the returned function is called. */
  onAppend(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Index of the first batch whose last offset is at or after `offset`. */
  private indexOf(offset: bigint): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid].lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The batches from the one holding `offset`, up to `maxBytes` — but always at least one whole batch
   * when there is one (KIP-74), so a batch larger than the limit still makes progress.
   */
  read(offset: bigint, maxBytes: number, below = this.endOffset): Uint8Array[] {
    const out: Uint8Array[] = [];
    let total = 0;
    for (let i = this.indexOf(offset); i < this.batches.length; i++) {
      if (this.batches[i].baseOffset >= below) break;
      const b = this.batches[i].bytes;
      if (out.length > 0 && total + b.length > maxBytes) break;
      out.push(b);
      total += b.length;
      if (total >= maxBytes) break;
    }
    return out;
  }

  allBatches(): readonly StoredBatch[] {
    return this.batches;
  }

  /** First offset whose record timestamp is at or after `ts`, with that timestamp; null when none. */
  async offsetForTime(ts: bigint): Promise<{ offset: bigint; timestamp: bigint } | null> {
    for (const b of this.batches) {
      if (b.maxTimestamp < ts) continue;
      const decoded = await decodeBatchV2(b.bytes);
      for (const r of decoded.records) {
        if (r.offset < this.logStartOffset) continue;
        const t = decoded.timestampType === 'log-append-time' ? decoded.maxTimestamp : BigInt(r.timestamp.getTime());
        if (t >= ts) return { offset: r.offset, timestamp: t };
      }
    }
    return null;
  }

  /** The largest timestamp in the log and the offset of the first record carrying it (ListOffsets -3). */
  async maxTimestamp(): Promise<{ offset: bigint; timestamp: bigint } | null> {
    let best: StoredBatch | undefined;
    for (const b of this.batches) if (!best || b.maxTimestamp > best.maxTimestamp) best = b;
    if (!best) return null;
    return this.offsetForTime(best.maxTimestamp);
  }

  /** DeleteRecords: moves the log start forward; whole batches before it are dropped. */
  deleteBefore(offset: bigint): void {
    if (offset <= this.logStartOffset) return;
    this.logStartOffset = offset;
    this.dropBefore(offset);
  }

  private dropBefore(offset: bigint): void {
    const i = this.indexOf(offset);
    if (i === 0) return;
    for (const b of this.batches.slice(0, i)) this.sizeBytes -= b.bytes.length;
    this.batches = this.batches.slice(i);
    this.sink?.truncateStart(this.batches);
  }

  private enforceRetention(): void {
    if (this.retentionBytes < 0 || this.sizeBytes <= this.retentionBytes || this.batches.length <= 1) return;
    let drop = 0;
    let size = this.sizeBytes;
    // The newest batch always stays, whatever the limit: a log never loses its end.
    while (drop < this.batches.length - 1 && size > this.retentionBytes) size -= this.batches[drop++].bytes.length;
    const start = this.batches[drop].baseOffset;
    this.logStartOffset = start > this.logStartOffset ? start : this.logStartOffset;
    this.dropBefore(start);
  }
}
