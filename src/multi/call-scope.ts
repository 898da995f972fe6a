// The life of one MultiWriter call: one deadline from the moment it is made, the caller's signal, and
// the per-cluster attempts it makes. Each attempt gets its own AbortController, so the MultiWriter can
// stop one attempt (handover: its cluster went unhealthy) without touching the call, and can tell
// afterwards who stopped it: the caller, the deadline, or the handover. Nothing here is shared between
// calls, so one caller's abort or deadline never reaches another call.
import { AbortedError, TimeoutError } from '../protocol/errors.ts';

export type StopReason = 'caller' | 'deadline' | 'handover';

export interface Attempt {
  readonly cluster: number;
  /** Pass to the cluster's Writer call. */
  readonly signal: AbortSignal;
  /** Why the attempt was stopped; null while it was not. */
  readonly stopped: StopReason | null;
  /** Stops this attempt only (the call goes on). */
  handOver(reason: Error): void;
}

class AttemptImpl implements Attempt {
  private readonly ac = new AbortController();
  stopped: StopReason | null = null;

  constructor(readonly cluster: number) {}

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  stop(why: StopReason, reason: Error): void {
    if (this.stopped) return;
    this.stopped = why;
    this.ac.abort(reason);
  }

  handOver(reason: Error): void {
    this.stop('handover', reason);
  }
}

export class CallScope {
  /** Set once the caller aborted or the deadline passed: no further attempt may start. */
  stopped: Exclude<StopReason, 'handover'> | null = null;
  readonly deadline: number;
  private readonly live = new Set<AttemptImpl>();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onCallerAbort: () => void;

  constructor(
    private readonly signal: AbortSignal | undefined,
    readonly timeoutMs: number,
  ) {
    this.deadline = performance.now() + timeoutMs;
    this.timer = setTimeout(() => this.stop('deadline'), timeoutMs);
    this.onCallerAbort = () => this.stop('caller');
    signal?.addEventListener('abort', this.onCallerAbort, { once: true });
    if (signal?.aborted) this.stop('caller');
  }

  /** The error a message gets when the call stops before it was written. */
  stopError(): Error {
    return this.stopped === 'caller'
      ? new AbortedError('writeMessages aborted by its caller before the message was acknowledged', this.signal?.reason)
      : new TimeoutError(`writeMessages did not get the message acknowledged within its ${this.timeoutMs} ms deadline`);
  }

  /** Starts an attempt on a cluster; it is stopped with the call. */
  attempt(cluster: number): Attempt {
    const a = new AttemptImpl(cluster);
    this.live.add(a);
    if (this.stopped) a.stop(this.stopped, this.stopError());
    return a;
  }

  /** The attempt has an outcome; the scope forgets it. */
  settle(a: Attempt): void {
    this.live.delete(a as AttemptImpl);
  }

  /** Releases the timer and the caller's signal listener. */
  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onCallerAbort);
    this.live.clear();
  }

  private stop(why: Exclude<StopReason, 'handover'>): void {
    if (this.stopped) return;
    this.stopped = why;
    const err = this.stopError();
    for (const a of this.live) a.stop(why, err);
  }
}
