// MultiReader: one Reader per cluster, read at once and merged. Each cluster keeps one fetch
// outstanding; a readMessage call takes what has arrived, starting from a rotating cluster, so a busy
// cluster never starves a quiet one, and memory stays within each Reader's own bounded queue. A
// cluster that fails is set aside (the others go on) and tried again after a backoff.
import { Reader, type Message, type ReaderConfig, type ReaderStats } from '../client/reader/index.ts';
import { AbortedError, ClosedError, KafkaError, TimeoutError } from '../protocol/errors.ts';
import { sumStats } from './stats.ts';

/** A message and the cluster (index of its config) it came from. */
export interface MultiMessage extends Message {
  cluster: number;
}

export interface MultiReaderOptions {
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

interface Slot {
  pending: boolean;
  ready: Message[];
  error: Error | null;
  /** Set when the reader failed for good (non-retriable): the cluster is out of the merge. */
  dead: boolean;
  retryAt: number;
  /** Bumped by setOffset: a fetch that was in flight before it is stale. */
  epoch: number;
}

function checkIndex(i: number, n: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`cluster index ${i} is out of range 0..${n - 1}`);
}

export class MultiReader implements AsyncIterable<MultiMessage> {
  private readonly readers: Reader[];
  private readonly configs: ReaderConfig[];
  private readonly slots: Slot[];
  private readonly opts: Required<Omit<MultiReaderOptions, 'dedupeHeader'>> & { dedupeHeader?: string };
  private readonly seen = new Map<string, true>();
  private start = 0;
  private closed = false;
  private wake: (() => void) | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(configs: ReaderConfig[], opts: MultiReaderOptions = {}) {
    if (!Array.isArray(configs) || configs.length === 0) throw new KafkaError('MultiReader needs at least one cluster config', false);
    this.configs = configs;
    this.readers = configs.map((c) => new Reader(c));
    this.slots = configs.map(() => ({ pending: false, ready: [], error: null, dead: false, retryAt: 0, epoch: 0 }));
    this.opts = {
      maxPerCluster: opts.maxPerCluster ?? 100,
      dedupeHeader: opts.dedupeHeader,
      dedupeWindow: opts.dedupeWindow ?? 100_000,
      retryBackoffMs: opts.retryBackoffMs ?? 1000,
    };
    // Start reading at once, so the first readMessage finds every cluster's messages waiting.
    this.arm();
  }

  get clusters(): number {
    return this.readers.length;
  }

  /**
   * The next messages from whichever clusters have data (at least one message). In group mode the
   * returned messages are committed per cluster, as Reader.readMessage commits.
   */
  async readMessage(opts: ReadOptions = {}): Promise<MultiMessage[]> {
    const got = await this.next(opts);
    const byCluster = new Map<number, MultiMessage[]>();
    for (const m of got) if (this.configs[m.cluster].groupId) byCluster.set(m.cluster, [...(byCluster.get(m.cluster) ?? []), m]);
    await Promise.all([...byCluster].map(([c, ms]) => this.readers[c].commitMessages(...ms)));
    return got;
  }

  /** As readMessage, without committing: call commitMessages after processing. */
  fetchMessage(opts: ReadOptions = {}): Promise<MultiMessage[]> {
    return this.next(opts);
  }

  /** Commits messages to the groups of their clusters. */
  async commitMessages(...messages: MultiMessage[]): Promise<void> {
    const byCluster = new Map<number, MultiMessage[]>();
    for (const m of messages) {
      checkIndex(m.cluster, this.readers.length);
      byCluster.set(m.cluster, [...(byCluster.get(m.cluster) ?? []), m]);
    }
    await Promise.all([...byCluster].map(([c, ms]) => this.readers[c].commitMessages(...ms)));
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

  private async next(opts: ReadOptions): Promise<MultiMessage[]> {
    const { signal, timeoutMs } = opts;
    const deadline = timeoutMs !== undefined ? performance.now() + timeoutMs : Infinity;
    while (true) {
      if (this.closed) throw new ClosedError('multi-reader closed');
      if (signal?.aborted) throw new AbortedError('readMessage aborted', signal.reason);
      this.arm();
      const out = this.take();
      if (out.length) return out;
      if (this.slots.every((s) => s.dead)) {
        throw new KafkaError(`every cluster failed: ${this.slots.map((s, i) => `cluster ${i}: ${s.error?.message}`).join('; ')}`, false);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new TimeoutError(`no message from any cluster within ${timeoutMs} ms`);
      await this.sleep(left, signal);
    }
  }

  /** Starts a fetch on every cluster that has none outstanding and is not backing off. */
  private arm(): void {
    const now = performance.now();
    this.slots.forEach((s, c) => {
      if (s.pending || s.dead || s.ready.length >= this.opts.maxPerCluster) return;
      if (now < s.retryAt) {
        this.scheduleRetry(s.retryAt - now);
        return;
      }
      s.pending = true;
      const epoch = s.epoch;
      this.readers[c].fetchMessage().then(
        (m) => {
          s.pending = false;
          if (s.epoch === epoch) {
            s.ready.push(m);
            s.error = null;
          }
          // More may be queued in the reader already: keep one fetch outstanding while there is room.
          if (!this.closed) this.arm();
          this.notify();
        },
        (e: unknown) => {
          s.pending = false;
          if (this.closed) return;
          s.error = e instanceof Error ? e : new Error(String(e));
          if (e instanceof ClosedError || (e instanceof KafkaError && !e.retriable)) s.dead = true;
          else s.retryAt = performance.now() + this.opts.retryBackoffMs;
          this.notify();
        },
      );
    });
  }

  /** Up to maxPerCluster ready messages of each cluster, starting from a rotating one. */
  private take(): MultiMessage[] {
    const n = this.slots.length;
    const out: MultiMessage[] = [];
    for (let k = 0; k < n; k++) {
      const c = (this.start + k) % n;
      const s = this.slots[c];
      const batch = s.ready.splice(0, this.opts.maxPerCluster);
      for (const m of batch) if (!this.duplicate(m)) out.push({ ...m, cluster: c });
    }
    this.start = (this.start + 1) % n;
    return out;
  }

  private duplicate(m: Message): boolean {
    const name = this.opts.dedupeHeader;
    if (!name) return false;
    const h = m.headers.find((x) => x.key === name);
    if (!h || !h.value) return false;
    const id = new TextDecoder().decode(h.value);
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

  private scheduleRetry(ms: number): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.notify();
    }, ms);
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

  private reader(i: number): Reader {
    checkIndex(i, this.readers.length);
    return this.readers[i];
  }

  /** Lag of cluster i's reader after its last message (-1n in group mode). */
  lag(i: number): bigint {
    return this.reader(i).lag();
  }

  /** Next offset of cluster i's reader (-1n in group mode). */
  offset(i: number): bigint {
    return this.reader(i).offset();
  }

  readLag(i: number, opts: ReadOptions = {}): Promise<bigint> {
    return this.reader(i).readLag(opts);
  }

  async setOffset(i: number, offset: bigint): Promise<void> {
    const r = this.reader(i);
    this.slots[i].epoch++;
    this.slots[i].ready = [];
    await r.setOffset(offset);
  }

  async setOffsetAt(i: number, t: Date, opts: ReadOptions = {}): Promise<void> {
    const r = this.reader(i);
    this.slots[i].epoch++;
    this.slots[i].ready = [];
    await r.setOffsetAt(t, opts);
  }

  stats(i: number): ReaderStats {
    return this.reader(i).stats();
  }

  aggregateStats(): ReaderStats {
    return sumStats(this.readers.map((r) => r.stats()));
  }

  /** Closes every cluster's reader (leaving groups); pending and later reads reject with ClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.notify();
    await Promise.allSettled(this.readers.map((r) => r.close()));
  }
}
