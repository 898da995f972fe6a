// MultiReader: one Reader per cluster, read at once and merged. A call collects what each cluster's
// Reader has queued, starting from a rotating cluster so a busy cluster never starves a quiet one; it
// holds nothing between calls (read-ahead stays in each Reader's bounded queue, where seeks and revoked
// partitions drop it). In group mode readMessage returns a cluster's messages once that cluster's group
// has committed them, each cluster on its own: a slow or frozen cluster never holds back the others. A
// cluster whose reader fails is set aside (the others go on) and tried again after a backoff.
import { checkClusterIndex } from './cluster-index.ts';
import { Reader, type Message, type PartitionLag, type ReaderConfig, type ReaderStats } from '../client/reader/index.ts';
import { FirstOffset, LastOffset } from '../client/reader/config.ts';
import { AbortedError, ClosedError, KafkaError, TimeoutError } from '../protocol/errors.ts';
import { MultiReadCommitError } from './multi-reader-errors.ts';
import { ClusterSlot, type ClusterSource } from './multi-reader-slot.ts';
import { sumStats } from './stats.ts';
import { clusterTelemetry, type MultiTelemetryOptions } from './telemetry.ts';

export { MultiReadCommitError } from './multi-reader-errors.ts';

const UTF8 = new TextDecoder();

/** A message and the cluster (index of its config) it came from. */
export interface MultiMessage extends Message {
  cluster: number;
}

export interface MultiReaderOptions extends MultiTelemetryOptions {
  /** Most messages one cluster contributes to one readMessage result. Default 100. */
  maxPerCluster?: number;
  /**
   * Drop a message whose header of this name carries an id seen within the last `dedupeWindow`
   * messages (pairs with MultiWriter's messageIdHeader: failover retries can write twice).
   */
  dedupeHeader?: string;
  dedupeWindow?: number;
  /** Wait before reading again from a cluster whose reader failed. Default 1000 ms. */
  retryBackoffMs?: number;
}

export interface ReadOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Resolves after the work already queued (promise jobs, ready I/O) has run, without a timer's clamp. */
const nextTurn = (): Promise<void> =>
  new Promise((resolve) => (typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate(resolve) : setTimeout(resolve, 0)));

export class MultiReader implements AsyncIterable<MultiMessage> {
  private readonly slots: ClusterSlot<MultiMessage>[];
  private readonly opts: Required<Omit<MultiReaderOptions, 'dedupeHeader' | keyof MultiTelemetryOptions>> & { dedupeHeader?: string };
  private readonly seen = new Map<string, true>();
  private start = 0;
  private closed = false;
  /** Calls in progress: while there are none, no cluster is fetched for. */
  private active = 0;
  private wake: (() => void) | null = null;

  /** `source` is for tests: what stands in for each cluster's Reader. */
  constructor(configs: ReaderConfig[], opts: MultiReaderOptions = {}, source: (config: ReaderConfig) => ClusterSource = (c) => new Reader(c)) {
    if (!Array.isArray(configs) || configs.length === 0) throw new KafkaError('MultiReader needs at least one cluster config', false);
    this.opts = {
      maxPerCluster: opts.maxPerCluster ?? 100,
      dedupeHeader: opts.dedupeHeader,
      dedupeWindow: opts.dedupeWindow ?? 100_000,
      retryBackoffMs: opts.retryBackoffMs ?? 1000,
    };
    if (!Number.isInteger(this.opts.maxPerCluster) || this.opts.maxPerCluster < 1) throw new KafkaError('maxPerCluster must be an integer >= 1', false);
    const notify = () => this.notify();
    this.slots = configs.map((c, i) => new ClusterSlot<MultiMessage>(i, source(clusterTelemetry(c, i, opts)), !!c.groupId, this.opts.retryBackoffMs, notify));
  }

  get clusters(): number {
    return this.slots.length;
  }

  /**
   * The next messages from whichever clusters have data (at least one message). In group mode each
   * cluster's messages are committed to its group before they are returned (as Reader.readMessage),
   * but every cluster on its own: the call returns what the clusters that answered have committed.
   * A cluster whose commit is slow keeps its batch and returns it in a later call; a commit that fails
   * rejects a call with MultiReadCommitError, which names the cluster and carries that batch (read,
   * not committed, not delivered again by this reader); the other clusters' messages wait for the
   * next call.
   */
  readMessage(opts: ReadOptions = {}): Promise<MultiMessage[]> {
    return this.next(opts, true);
  }

  /** As readMessage, without committing: call commitMessages after processing. */
  fetchMessage(opts: ReadOptions = {}): Promise<MultiMessage[]> {
    return this.next(opts, false);
  }

  /** Commits messages to the groups of their clusters; resolves once every cluster named has answered. */
  async commitMessages(...messages: MultiMessage[]): Promise<void> {
    const byCluster = new Map<number, MultiMessage[]>();
    for (const m of messages) {
      checkClusterIndex(m.cluster, this.slots.length);
      byCluster.set(m.cluster, [...(byCluster.get(m.cluster) ?? []), m]);
    }
    await Promise.all([...byCluster].map(([c, ms]) => this.slots[c].source.commitMessages(...ms)));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<MultiMessage> {
    while (true) {
      let batch: MultiMessage[];
      try {
        batch = await this.readMessage();
      } catch (e) {
        if (e instanceof ClosedError) return;
        throw e;
      }
      yield* batch;
    }
  }

  private async next(opts: ReadOptions, commit: boolean): Promise<MultiMessage[]> {
    const { signal, timeoutMs } = opts;
    const deadline = timeoutMs !== undefined ? performance.now() + timeoutMs : Infinity;
    this.active++;
    try {
      for (;;) {
        this.check(signal);
        // Each cluster's queued messages reach its slot within one turn: take them all in one result.
        for (const s of this.slots) s.demand(this.opts.maxPerCluster);
        await nextTurn();
        this.check(signal);
        const out = this.collect(commit);
        if (out.length) return out;
        if (this.slots.every((s) => s.dead)) {
          throw new KafkaError(`every cluster failed: ${this.slots.map((s, i) => `cluster ${i}: ${s.error?.message}`).join('; ')}`, false);
        }
        const left = deadline - performance.now();
        if (left <= 0) throw new TimeoutError(`no message from any cluster within ${timeoutMs} ms`);
        await this.sleep(left, signal);
      }
    } finally {
      if (--this.active === 0) for (const s of this.slots) s.demand(0);
    }
  }

  private check(signal: AbortSignal | undefined): void {
    if (this.closed) throw new ClosedError('multi-reader closed');
    if (signal?.aborted) throw new AbortedError('readMessage aborted', signal.reason);
  }

  /**
   * What the clusters have for the caller, from a rotating first cluster: committed batches, and new
   * messages (returned at once, or first committed when `commit` and the cluster has a group). A failed
   * commit is thrown before anything is taken, so the messages of other clusters stay for the next call.
   */
  private collect(commit: boolean): MultiMessage[] {
    const n = this.slots.length;
    const order = Array.from({ length: n }, (_, k) => this.slots[(this.start + k) % n]);
    this.start = (this.start + 1) % n;
    for (const s of order) {
      const failed = s.takeCommitFailure();
      if (failed) throw failed;
    }
    const out: MultiMessage[] = [];
    for (const s of order) {
      const committed = s.takeCommitted();
      if (committed) out.push(...committed);
      const raw = s.take(this.opts.maxPerCluster);
      if (!raw.length) continue;
      const keep: MultiMessage[] = [];
      // The slot's Reader hands each message to this layer only: it is labelled in place, not copied
      // (a copy per message was a sixth of the layer's CPU).
      for (const m of raw) {
        if (this.duplicate(m)) continue;
        (m as MultiMessage).cluster = s.index;
        keep.push(m as MultiMessage);
      }
      // A duplicate is committed like any message: it was read, only not returned.
      if (commit && s.group) s.startCommit(raw, keep);
      else out.push(...keep);
    }
    return out;
  }

  private duplicate(m: Message): boolean {
    const name = this.opts.dedupeHeader;
    if (!name) return false;
    const h = m.headers.find((x) => x.key === name);
    if (!h || !h.value) return false;
    const id = UTF8.decode(h.value);
    if (this.seen.has(id)) return true;
    this.seen.set(id, true);
    if (this.seen.size > this.opts.dedupeWindow) this.seen.delete(this.seen.keys().next().value!);
    return false;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === Infinity ? undefined : setTimeout(done, ms);
      const onAbort = () => done();
      signal?.addEventListener('abort', onAbort, { once: true });
      const prev = this.wake;
      this.wake = () => {
        prev?.();
        done();
      };
      function done() {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
    });
  }

  // ------------------------------------------------------------------- per-cluster, kafka-go style

  private slot(i: number): ClusterSlot<MultiMessage> {
    checkClusterIndex(i, this.slots.length);
    return this.slots[i];
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('multi-reader closed');
  }

  /** High watermark minus offset(i), as of the last message of cluster i returned (-1n in group mode). */
  lag(i: number): bigint {
    return this.slot(i).lag();
  }

  /** The offset after the last message of cluster i returned, or where it was set (-1n in group mode). */
  offset(i: number): bigint {
    return this.slot(i).offset();
  }

  /** Asks cluster i's partition leader for the log end: its distance from offset(i). */
  async readLag(i: number, opts: ReadOptions = {}): Promise<bigint> {
    const s = this.slot(i);
    this.checkOpen();
    if (s.group) throw new KafkaError('readLag is for partition readers; use groupLag with a group', false);
    return s.readLag(opts);
  }

  /**
   * Cluster i's group lag per assigned topic and partition: committed offset, position (the next
   * message this MultiReader returns), high watermark, last stable offset, and lag from the position.
   */
  async groupLag(i: number, opts: ReadOptions = {}): Promise<Map<string, Map<number, PartitionLag>>> {
    const s = this.slot(i);
    this.checkOpen();
    return s.groupLag(opts);
  }

  /**
   * The next message of cluster i is the one at `offset` (or FirstOffset / LastOffset). Partition
   * readers only. Resolves once the reader has moved.
   */
  async setOffset(i: number, offset: bigint): Promise<void> {
    const s = this.slot(i);
    this.checkOpen();
    // Checked before the slot forgets what it holds: a refused seek must not drop messages.
    if (s.group) throw new KafkaError('setOffset is for partition readers; a group reader starts at committed offsets', false);
    if (offset < 0n && offset !== FirstOffset && offset !== LastOffset) {
      throw new KafkaError(`offset ${offset} is neither an offset nor FirstOffset/LastOffset`, false);
    }
    return s.setOffset(offset);
  }

  /** The next message of cluster i is the first at or after `t` (the log end when there is none). */
  async setOffsetAt(i: number, t: Date, opts: ReadOptions = {}): Promise<void> {
    const s = this.slot(i);
    this.checkOpen();
    if (s.group) throw new KafkaError('setOffsetAt is for partition readers', false);
    return s.setOffsetAt(t, opts);
  }

  /** Cluster i's reader stats; offset and lag as offset(i) and lag(i). */
  stats(i: number): ReaderStats {
    return this.slot(i).stats();
  }

  aggregateStats(): ReaderStats {
    return sumStats(this.slots.map((s) => s.stats()));
  }

  /**
   * Closes every cluster's reader (leaving groups); pending and later reads reject with ClosedError.
   * A batch whose commit was still out, or committed but not yet returned, is not returned: with a
   * group, the committed offset decides where the next reader starts.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) s.close();
    this.notify();
    await Promise.allSettled(this.slots.map((s) => s.source.close()));
  }
}
