// Per-partition batches, as the Java producer's accumulator keeps them: messages are encoded into the
// partition's open batch as they come, and that batch keeps accepting messages until the send loop
// actually takes it. The linger (batchTimeoutMs) only makes a batch *ready*; while the partition waits
// behind its in-flight limit, the ready batch goes on growing up to batchSize/batchBytes, so a slow
// broker gets bigger batches rather than a longer queue. Memory stays bounded by maxBufferedBytes.
//
// A message that was never sent can be removed (its call ended): it leaves the buffer at once and the
// batch is re-encoded without it before it is sent. Sequence numbers are taken only when a batch is
// sent, so a removal never leaves a gap.
import { BatchLayout, type RecordHeader } from '../../protocol/records/index.ts';
import type { CompressionType } from '../../protocol/compression/index.ts';
import { createBatchEncoder, type OpenBatchEncoder, type SealedBatch } from './batch.ts';
import type { CallSlot, WriteCall } from './call.ts';

export class Entry implements CallSlot {
  batch: Batch | null = null;
  dropped = false;
  constructor(
    readonly call: WriteCall,
    readonly index: number,
    readonly timestampMs: number,
    readonly key: Uint8Array | null,
    readonly value: Uint8Array | null,
    readonly headers: RecordHeader[],
    /** Encoded size estimate: what the message holds of the buffer. */
    readonly size: number,
  ) {}

  get sent(): boolean {
    return this.batch?.sentOnce ?? false;
  }

  remove(): void {
    this.batch?.acc.drop(this);
  }

  forget(): void {
    if (this.batch && !this.dropped) this.batch.waiting--;
  }
}

export type BatchState = 'open' | 'sealing' | 'sealed';

export class Batch {
  entries: Entry[] = [];
  /** Entries removed since the batch was last encoded: it must be encoded again before it is sent. */
  dropped = 0;
  /** Entries whose call still waits for them; 0 means nobody does (the batch may be abandoned). */
  waiting = 0;
  /** Header plus the entries still in the batch (uncompressed estimate). */
  bytes = BatchLayout.HEADER_SIZE;
  state: BatchState = 'open';
  encoder: OpenBatchEncoder | null;
  sealed: SealedBatch | null = null;
  /** Full, or flushed: ready whatever the linger says. */
  readyNow = false;
  /** When it was marked ready (full, flushed, or a batch opened behind it); 0 until then. */
  readySince = 0;
  /** When it became ready (by the linger at the latest): the end of batchTime, the start of batchQueueTime. */
  readyTime = 0;
  attempts = 0;
  /** Kafka sequence of the first record; -1 until sent in the current producer epoch. */
  baseSequence = -1;
  settled = false;
  /** Made by splitting a batch the broker found too large: sent one at a time. */
  split = false;
  /** Was in a produce request handed to a connection: its content is fixed, its messages' fate unknown. */
  sentOnce = false;
  /** When its latest produce request went out (telemetry's round trip). */
  sentAt = 0;
  /** A request carrying it got no answer (broken connection, timeout): it may have been written. */
  uncertain = false;

  constructor(
    readonly acc: Accumulator,
    readonly p: PartitionQueue,
    /** Position among the partition's batches; split batches take fractions between their neighbours. */
    readonly order: number,
    readonly createdAt: number,
    encoder: OpenBatchEncoder,
  ) {
    this.encoder = encoder;
  }

  get live(): number {
    return this.entries.length - this.dropped;
  }
}

export class PartitionQueue {
  /** Batches not in flight, in order: returned ones first, the open one (if any) last. */
  batches: Batch[] = [];
  inflight: Batch[] = [];
  nextOrder = 0;
  /** Uncompressed size the partition's previous batch reached: the next one starts with that much room. */
  lastBatchBytes = 0;
  /** Earliest time of the next send after a retriable failure (backoff). */
  retryAt = 0;
  /** A retry is pending: nothing more is sent until the batches in flight have come back. */
  blocked = false;
  /**
   * A batch of the current producer epoch was acknowledged here. Until then one batch at a time: a
   * broker with no state for the producer accepts any first sequence, so a later batch could land
   * before an earlier one that the broker refused.
   */
  acked = false;
  nextSequence = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

export interface AccumulatorConfig {
  batchSize: number;
  batchBytes: number;
  batchTimeoutMs: number;
  maxBufferedBytes: number;
  compression: CompressionType;
  /** Batches are written in a transaction (the batch header's transactional bit). */
  transactional?: boolean;
}

export interface AccumulatorHooks {
  /** Something may be sendable: after delayMs, or on the next turn of the event loop ('turn'). */
  wake(delay: number | 'turn'): void;
  /** Encoding or compressing a batch failed; its messages must fail. */
  sealFailed(b: Batch, err: unknown): void;
  /** A batch was closed to new messages after `ms` open (stats). */
  closed?(ms: number): void;
}

export class Accumulator {
  /** Bytes of messages accepted and not yet settled or removed. */
  buffered = 0;
  /** Closing: every batch is ready now, whatever the linger. */
  lingerOff = false;
  private readonly partitions = new Map<string, PartitionQueue[]>();
  private spaceWaiters: (() => void)[] = [];

  constructor(
    private readonly cfg: AccumulatorConfig,
    private readonly hooks: AccumulatorHooks,
  ) {}

  partition(topic: string, partition: number): PartitionQueue {
    let list = this.partitions.get(topic);
    if (!list) this.partitions.set(topic, (list = []));
    return (list[partition] ??= new PartitionQueue(topic, partition));
  }

  *all(): Generator<PartitionQueue> {
    for (const list of this.partitions.values()) for (const p of list) if (p) yield p;
  }

  /** Whether a message of `size` bytes may be queued now (an empty buffer takes any one message). */
  hasRoom(size: number): boolean {
    return this.buffered === 0 || this.buffered + size <= this.cfg.maxBufferedBytes;
  }

  /** Resolves at the next release of buffer space (or when the writer shuts down: `wakeAll`). */
  space(): Promise<void> {
    return new Promise<void>((r) => this.spaceWaiters.push(r));
  }

  wakeAll(): void {
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  /** Encodes the message into the partition's open batch; throws what the encoder throws (the message alone fails). */
  append(p: PartitionQueue, e: Entry): void {
    let b: Batch | null = p.batches.length ? p.batches[p.batches.length - 1] : null;
    if (b && b.state !== 'open') b = null;
    else if (b && (b.live >= this.cfg.batchSize || b.bytes + e.size > this.cfg.batchBytes)) {
      this.markReady(b);
      b = null;
    }
    b ??= this.open(p);
    b.encoder!.append(e.timestampMs, e.key, e.value, e.headers);
    e.batch = b;
    b.entries.push(e);
    b.waiting++;
    b.bytes += e.size;
    this.buffered += e.size;
    if (b.live >= this.cfg.batchSize) this.markReady(b);
  }

  /** Removes a message that was never sent; it will not be. */
  drop(e: Entry): void {
    const b = e.batch;
    if (!b || e.dropped || b.sentOnce || b.settled) return;
    e.dropped = true;
    b.dropped++;
    b.waiting--;
    b.bytes -= e.size;
    this.release(e.size);
    if (b.live === 0 && b.state !== 'sealing') this.discard(b);
  }

  /** Every open batch is ready now (backpressure, close). */
  flush(): void {
    const now = performance.now();
    for (const p of this.all()) {
      for (const b of p.batches) {
        if (b.state !== 'open' || b.readyNow) continue;
        b.readyNow = true;
        b.readySince ||= now;
      }
    }
    this.hooks.wake(0);
  }

  /** When the partition's head batch may be closed and sent: 0 for now. */
  readyAt(b: Batch): number {
    if (b.state !== 'open' || b.readyNow || this.lingerOff) return 0;
    const q = b.p.batches;
    if (q[q.length - 1] !== b) return 0;
    return b.createdAt + this.cfg.batchTimeoutMs;
  }

  /** Sealed and encoded exactly as its entries stand: may go into a request now. */
  sendable(b: Batch): boolean {
    return b.state === 'sealed' && b.dropped === 0;
  }

  /**
   * Closes the batch to new messages and encodes it (compression may run off the event loop); wakes
   * the send loop when done. A batch that lost messages is encoded again from the ones left.
   */
  seal(b: Batch): void {
    if (b.state === 'sealing' || b.settled) return;
    if (b.state === 'open' && !b.split) {
      b.readyTime = Math.min(performance.now(), b.readySince || Infinity, b.createdAt + this.cfg.batchTimeoutMs);
      b.p.lastBatchBytes = b.bytes;
      this.hooks.closed?.(b.readyTime - b.createdAt);
    }
    if (b.live === 0) return this.discard(b);
    let encoder = b.encoder;
    if (b.dropped > 0 || !encoder) {
      b.entries = b.entries.filter((e) => !e.dropped);
      b.dropped = 0;
      encoder = createBatchEncoder(this.cfg, b.bytes + 64);
      for (const e of b.entries) encoder.append(e.timestampMs, e.key, e.value, e.headers);
    }
    b.encoder = null;
    b.sealed = null;
    b.state = 'sealing';
    let sealing: Promise<SealedBatch>;
    try {
      sealing = encoder.seal();
    } catch (err) {
      sealing = Promise.reject(err);
    }
    sealing.then(
      (sealed) => {
        b.state = 'sealed';
        b.sealed = sealed;
        if (b.live === 0) this.discard(b);
        this.hooks.wake(0);
      },
      (err: unknown) => {
        b.state = 'sealed';
        this.hooks.sealFailed(b, err);
      },
    );
  }

  /** Puts a batch back in its place among the partition's unsent batches (a retry). */
  requeue(b: Batch): void {
    const q = b.p.batches;
    const at = q.findIndex((x) => x.order > b.order);
    if (at < 0) q.push(b);
    else q.splice(at, 0, b);
  }

  /**
   * Halves a batch the broker found too large. The halves keep its place and its sequence range, so
   * nothing after it needs renumbering, and they stay marked as sent (their fate was unknown already).
   */
  split(b: Batch): void {
    const p = b.p;
    const half = Math.ceil(b.entries.length / 2);
    const parts = [b.entries.slice(0, half), b.entries.slice(half)];
    let next = b.order + 1;
    for (const x of [...p.batches, ...p.inflight]) if (x.order > b.order && x.order < next) next = x.order;
    let seq = b.baseSequence;
    b.settled = true;
    parts.forEach((entries, i) => {
      const nb = new Batch(this, p, b.order + ((next - b.order) * i) / 2, b.createdAt, createBatchEncoder(this.cfg, 1024));
      for (const e of entries) {
        nb.encoder!.append(e.timestampMs, e.key, e.value, e.headers);
        e.batch = nb;
        nb.entries.push(e);
        nb.bytes += e.size;
        if (!e.call.done[e.index]) nb.waiting++;
      }
      nb.attempts = b.attempts;
      nb.split = true;
      nb.sentOnce = true;
      nb.readyTime = b.readyTime;
      if (seq >= 0) {
        nb.baseSequence = seq;
        seq = (seq + entries.length) % SEQ_MOD;
      }
      this.requeue(nb);
      this.seal(nb);
    });
  }

  /** Gives back the buffer share of a batch that settled (written, failed or abandoned). */
  releaseBatch(b: Batch): void {
    this.release(b.bytes - BatchLayout.HEADER_SIZE);
    b.bytes = BatchLayout.HEADER_SIZE;
  }

  /** Whether any batch waits to be sent. */
  hasQueued(): boolean {
    for (const p of this.all()) if (p.batches.length) return true;
    return false;
  }

  private open(p: PartitionQueue): Batch {
    const now = performance.now();
    const before = p.batches[p.batches.length - 1];
    if (before && !before.readySince) before.readySince = now;
    // A steady stream fills batches of about the same size: starting there saves the builder's
    // doublings (each a fresh zeroed buffer and a copy); after a small batch the next starts small.
    const b = new Batch(this, p, p.nextOrder++, now, createBatchEncoder(this.cfg, p.lastBatchBytes ? p.lastBatchBytes + 64 : 1024));
    p.batches.push(b);
    // No linger: send once the current burst of calls has run. A 0 ms timer would wait a whole
    // millisecond (timers are clamped to 1 ms), which is most of the latency of a quiet cluster.
    if (this.lingerOff) this.hooks.wake(0);
    else this.hooks.wake(this.cfg.batchTimeoutMs === 0 ? 'turn' : this.cfg.batchTimeoutMs);
    return b;
  }

  private markReady(b: Batch): void {
    if (b.readyNow) return;
    b.readyNow = true;
    b.readySince ||= performance.now();
    this.hooks.wake(0);
  }

  /** Takes a batch that holds nothing any more out of its partition. */
  private discard(b: Batch): void {
    b.settled = true;
    const q = b.p.batches;
    const i = q.indexOf(b);
    if (i >= 0) q.splice(i, 1);
  }

  private release(n: number): void {
    this.buffered -= n;
    if (this.spaceWaiters.length) for (const w of this.spaceWaiters.splice(0)) w();
  }
}

export const SEQ_MOD = 0x80000000;
