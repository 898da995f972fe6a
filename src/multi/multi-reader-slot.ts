// One cluster's side of a MultiReader. It pulls messages from that cluster's Reader only while a call
// wants them, so what is read ahead stays in the Reader's own bounded queue, where a seek or a revoked
// partition drops it. In readMessage's group mode it holds a batch while the cluster's group commits it,
// so a slow or frozen cluster holds back its own messages and nobody else's. And it keeps the position
// of the messages handed to the caller: offset() and lag() are defined by those, not by what was fetched.
import type { CallOptions } from '../client/cluster.ts';
import type { Message, PartitionLag, ReaderStats } from '../client/reader/index.ts';
import { AbortedError, ClosedError, KafkaError } from '../protocol/errors.ts';
import { MultiReadCommitError } from './multi-reader-errors.ts';

/** What a MultiReader uses of one cluster's Reader; a Reader is one, tests pass fakes. */
export interface ClusterSource {
  fetchMessage(opts?: { signal?: AbortSignal }): Promise<Message>;
  /** Messages queued already, taken without waiting (a Reader has it; without it every message is a fetchMessage). */
  fetchReady?(max: number): Message[];
  commitMessages(...messages: Message[]): Promise<void>;
  offset(): bigint;
  lag(): bigint;
  readLag(opts?: CallOptions): Promise<bigint>;
  setOffset(offset: bigint): void;
  setOffsetAt(time: Date, opts?: CallOptions): Promise<void>;
  groupLag(opts?: CallOptions): Promise<Map<string, Map<number, PartitionLag>>>;
  stats(): ReaderStats;
  close(): Promise<void>;
}

interface InFlight {
  ctl: AbortController;
  /** Settles once the fetch's outcome is recorded (never rejects). */
  settled: Promise<void>;
}

interface Commit<M extends Message> {
  raw: Message[];
  keep: M[];
  done: boolean;
  error: MultiReadCommitError<M> | null;
}

export class ClusterSlot<M extends Message> {
  /** Taken from the reader, not yet handed to the caller. */
  private ready: Message[] = [];
  private inFlight: InFlight | null = null;
  private ctl: AbortController | null = null;
  /** Messages this slot may take ahead of the caller: 0 between calls, more while a call collects. */
  private want = 0;
  private commit: Commit<M> | null = null;
  private pauses = 0;
  /** Bumped by a seek: a fetch that was out before it brings a message of the old position. */
  private epoch = 0;
  private ops: Promise<unknown> = Promise.resolve();
  private retryAt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Partition mode: the offset after the last message handed over, and the lag it was read with. */
  private position: bigint;
  private lagValue: bigint;
  /** The last fetch error; cleared by the next message. */
  error: Error | null = null;
  /** The reader failed for good (closed, or a non-retriable error): the cluster is out of the merge. */
  dead = false;

  constructor(
    readonly index: number,
    readonly source: ClusterSource,
    readonly group: boolean,
    private readonly retryBackoffMs: number,
    /** Called whenever something a waiting call may want has happened. */
    private readonly changed: () => void,
  ) {
    this.position = source.offset();
    this.lagValue = source.lag();
    // A partition Reader starts fetching on its first fetchMessage. One cancelled before it is made
    // starts it and takes nothing (its queue is still empty), so the first call finds messages waiting.
    const ctl = new AbortController();
    ctl.abort();
    source.fetchMessage({ signal: ctl.signal }).catch(() => {});
  }

  /** True while a batch of this cluster waits for its commit. */
  get committing(): boolean {
    return this.commit !== null && !this.commit.done;
  }

  /**
   * How many messages to take ahead of the caller: maxPerCluster while a call is active; 0 when none is
   * cancels the fetch that is out, so nothing is held between calls.
   */
  demand(n: number): void {
    this.want = n;
    if (n === 0) this.inFlight?.ctl.abort();
    else this.arm();
  }

  private arm(): void {
    if (this.closed || this.dead || this.inFlight || this.pauses || this.committing || this.ready.length >= this.want) return;
    const wait = this.retryAt - performance.now();
    if (wait > 0) {
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.arm();
        this.changed();
      }, wait);
      return;
    }
    // What the reader has queued comes in one step: a promise per message was most of this layer's cost.
    const got = this.source.fetchReady?.(this.want - this.ready.length);
    if (got?.length) {
      for (const m of got) this.ready.push(m);
      this.error = null;
      if (this.ready.length >= this.want) return;
    }
    // One controller serves fetches until it is used to cancel one: a controller per message costs.
    if (!this.ctl || this.ctl.signal.aborted) this.ctl = new AbortController();
    const ctl = this.ctl;
    const epoch = this.epoch;
    const settled = this.source
      .fetchMessage({ signal: ctl.signal })
      .then(
        (m) => {
          if (epoch !== this.epoch || this.closed) return;
          this.ready.push(m);
          this.error = null;
        },
        (e: unknown) => this.fetchFailed(e, ctl.signal),
      )
      .then(() => {
        this.inFlight = null;
        this.arm();
        this.changed();
      });
    this.inFlight = { ctl, settled };
  }

  private fetchFailed(e: unknown, signal: AbortSignal): void {
    // Cancelled by this slot (no call waiting, a seek, a lag query): nothing was taken, nothing failed.
    if (this.closed || (signal.aborted && e instanceof AbortedError)) return;
    this.error = e instanceof Error ? e : new Error(String(e));
    if (e instanceof ClosedError || (e instanceof KafkaError && !e.retriable)) this.dead = true;
    else this.retryAt = performance.now() + this.retryBackoffMs;
  }

  /** Up to `max` messages for the caller; none while a batch of this cluster is being committed. */
  take(max: number): Message[] {
    if (this.commit) return [];
    const batch = this.ready.splice(0, max);
    if (batch.length && !this.group) {
      const last = batch[batch.length - 1];
      this.position = last.offset + 1n;
      const lag = last.highWaterMark - this.position;
      this.lagValue = lag > 0n ? lag : 0n;
    }
    // No new fetch here: the reader hands a queued message over at once, so one started now would hold
    // it past the call. The next call (or a waiting one) asks again.
    return batch;
  }

  /** Commits `raw` to the cluster's group; `keep` (the ones to return) waits until it has settled. */
  startCommit(raw: Message[], keep: M[]): void {
    const c: Commit<M> = { raw, keep, done: false, error: null };
    this.commit = c;
    this.source
      .commitMessages(...raw)
      .catch((e: unknown) => {
        c.error = new MultiReadCommitError(this.index, keep, e);
      })
      .then(() => {
        c.done = true;
        this.arm();
        this.changed();
      });
  }

  /** The error of a settled commit, once (its messages are on it); null otherwise. */
  takeCommitFailure(): MultiReadCommitError<M> | null {
    const c = this.commit;
    if (!c?.done || !c.error) return null;
    this.commit = null;
    return c.error;
  }

  /** The messages of a commit that succeeded, once; null while there is none. */
  takeCommitted(): M[] | null {
    const c = this.commit;
    if (!c?.done || c.error) return null;
    this.commit = null;
    return c.keep;
  }

  // --------------------------------------------------------------------- position and seeking

  /**
   * Runs `fn` with no fetch of this slot out and after the slot's earlier operations, so the reader's
   * own position stands still while `fn` reads or moves it. Only this cluster's deliveries wait.
   */
  private exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    this.pauses++;
    const run = this.ops
      .then(async () => {
        const f = this.inFlight;
        if (f) {
          f.ctl.abort();
          await f.settled;
        }
        return fn();
      })
      .finally(() => {
        this.pauses--;
        this.arm();
        this.changed();
      });
    this.ops = run.catch(() => {});
    return run;
  }

  /** Partition mode: the offset after the last message handed to the caller (or the seek target). */
  offset(): bigint {
    return this.group ? this.source.offset() : this.position;
  }

  /** Partition mode: the high watermark minus offset() as of the last message handed over. */
  lag(): bigint {
    return this.group ? this.source.lag() : this.lagValue;
  }

  /**
   * Seeks the reader. What this slot took for the old position is dropped at once, so no call
   * returns it after the caller asked to move; the message the reader had waiting for us is
   * fetched again, not lost.
   */
  setOffset(offset: bigint): Promise<void> {
    this.epoch++;
    this.ready = [];
    return this.exclusive(() => {
      this.source.setOffset(offset);
      this.position = this.source.offset();
    });
  }

  /** The time lookup comes first; the seek, and the drop of what was taken for before it, once it is known. */
  setOffsetAt(time: Date, opts: CallOptions): Promise<void> {
    return this.exclusive(async () => {
      await this.source.setOffsetAt(time, opts);
      this.epoch++;
      this.ready = [];
      this.position = this.source.offset();
    });
  }

  /** The log end's distance from offset() (not from what the reader fetched ahead). */
  readLag(opts: CallOptions): Promise<bigint> {
    return this.exclusive(async () => {
      const fromReader = await this.source.readLag(opts);
      if (this.position < 0n) return 0n;
      // The reader measured from the offset after what it handed us; what we still hold is lag too.
      // Exact: the log end is at least that offset, since every message arrived below a high watermark.
      const readerAt = this.source.offset();
      const lag = fromReader + (readerAt >= 0n ? readerAt - this.position : 0n);
      this.lagValue = lag > 0n ? lag : 0n;
      return this.lagValue;
    });
  }

  /** The reader's group lag, each position moved back over the messages the caller has not had yet. */
  async groupLag(opts: CallOptions): Promise<Map<string, Map<number, PartitionLag>>> {
    const lags = await this.source.groupLag(opts);
    const held = this.commit ? [...this.commit.raw, ...this.ready] : this.ready;
    for (const m of held) {
      const byP = lags.get(m.topic);
      const p = byP?.get(m.partition);
      if (!byP || !p || p.position < 0n || m.offset >= p.position) continue;
      byP.set(m.partition, { ...p, position: m.offset, lag: p.lag >= 0n ? p.lag + (p.position - m.offset) : p.lag });
    }
    return lags;
  }

  stats(): ReaderStats {
    return { ...this.source.stats(), offset: this.offset(), lag: this.lag() };
  }

  /** Stops fetching; the caller closes the reader. */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.inFlight?.ctl.abort();
    this.ready = [];
  }
}
