// Per-cluster health judged from what the cluster answers, not from timeouts of whole calls.
//
// Every operation on a cluster (a write attempt, a probe) is registered while it is outstanding. A
// cluster is unhealthy when one of them has waited `stallTimeoutMs` and nothing at all came back from
// that cluster since it began: a frozen cluster (sockets open, nothing answers) and a dead one look the
// same, and a slow but answering cluster does not trip it. Errors count only when nothing answered since
// the failed operation began (otherwise the cluster is up and the error is about a message or a
// partition). Every cluster is probed every `probeIntervalMs`, healthy ones included, so that a quiet
// cluster is judged too; an unhealthy one needs `recoveryProbes` consecutive good probes to come back.
// Only evidence from operations started after the last transition counts, so the errors of calls that
// were outstanding during an outage cannot knock a recovered cluster down again (no flapping).
// With `confirmByTraffic` (a writer's tracker), good probes only make the cluster ready for trial
// operations, one at a time, and the cluster is healthy again once `recoveryProbes` of them in a row
// succeeded: a cluster that answers metadata but cannot yet write (a restart still electing leaders,
// a cold JVM) is not failed back to, then left again.
// The moment a cluster turns unhealthy, every operation outstanding on it is stopped through the stop
// function it was registered with, so its caller can hand the work to another cluster at once.
// A manual override pins a cluster up or down until it is cleared.
import { KafkaError, TimeoutError } from '../protocol/errors.ts';
import { unavailableError } from './errors.ts';

export interface HealthConfig {
  /** Consecutive failures (with nothing answered since each began) that mark a cluster unhealthy. Default 1. */
  failureThreshold?: number;
  /** Time between probes of each cluster, healthy or not. Default 500 ms. */
  probeIntervalMs?: number;
  /**
   * Consecutive good probes before an unhealthy cluster is used again. Default 2. A MultiWriter then
   * sends it as many trial writes, one at a time, before it takes all traffic again.
   */
  recoveryProbes?: number;
  /** Timeout of one probe. Default 1000 ms. */
  probeTimeoutMs?: number;
  /**
   * An operation outstanding this long with nothing answered by its cluster since it began marks the
   * cluster unhealthy (a frozen or partitioned cluster). Default 1000 ms.
   */
  stallTimeoutMs?: number;
}

export type HealthState = 'healthy' | 'unhealthy';

export interface ClusterHealth {
  cluster: number;
  state: HealthState;
  /** When the state last changed. */
  since: Date;
  /** Set while an operator pins the state (`force`). */
  forced: HealthState | null;
  consecutiveFailures: number;
  lastError: Error | null;
  /** How many times the cluster went unhealthy, and healthy again, since it was created. */
  failovers: number;
  recoveries: number;
}

/** A probe resolves when the cluster is fit for traffic, rejects (or never settles) otherwise. */
export type Probe = (cluster: number, signal: AbortSignal) => Promise<void>;
export type HealthListener = (h: ClusterHealth) => void;
/** Stops an outstanding operation; the reason says which cluster turned unhealthy and why. */
export type Stop = (reason: Error) => void;

export type OperationKind = 'call' | 'probe' | 'trial';

/** One outstanding operation on a cluster, from `begin` to its one outcome. */
export interface Operation {
  readonly cluster: number;
  readonly startedAt: number;
  readonly kind: OperationKind;
}

export interface TrackerOptions {
  /** A monotonic clock in ms (tests may pass their own). */
  now?: () => number;
  /** Recovery needs a successful trial operation after the good probes (see above). */
  confirmByTraffic?: boolean;
  /** A probe of an unhealthy cluster succeeded: its brokers answer again. */
  onGoodProbe?: (cluster: number) => void;
}

interface Entry extends ClusterHealth {
  /** Monotonic time of the last transition: evidence from operations begun earlier is ignored. */
  changedAt: number;
  /** Monotonic time of the last answer of any operation (−Infinity: none yet). */
  lastAnswerAt: number;
  goodProbes: number;
  outstanding: Map<Operation, Stop | undefined>;
  probing: boolean;
  /** Enough good probes: trial operations may go to the cluster, one at a time. */
  ready: boolean;
  trial: Operation | null;
  goodTrials: number;
}

const DEFAULTS: Required<HealthConfig> = {
  failureThreshold: 1,
  probeIntervalMs: 500,
  recoveryProbes: 2,
  probeTimeoutMs: 1000,
  stallTimeoutMs: 1000,
};

/** A trial write that has not succeeded in this many stall timeouts is given up, answers or not. */
const TRIAL_STALLS = 5;

/** How often outstanding operations are checked for a stall, as a fraction of the stall timeout. */
const STALL_CHECKS_PER_TIMEOUT = 10;

/**
 * Runs fn after the I/O that is ready now has been handled. A process that was not scheduled for a
 * while (a loaded machine) runs its overdue timers before it reads its sockets: an answer waiting in a
 * socket would be taken for silence. Node's and Bun's setImmediate runs after that read; Deno's does
 * not, but a zero timeout queued from it does (a test checks all three).
 */
const afterPendingIo: (fn: () => void) => void =
  typeof setImmediate === 'function' ? (fn) => void setImmediate(() => setTimeout(fn, 0)) : (fn) => void setTimeout(() => setTimeout(fn, 0), 0);

export class HealthTracker {
  private readonly entries: Entry[];
  private readonly cfg: Required<HealthConfig>;
  private readonly listeners = new Set<HealthListener>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly probeAborts = new Set<AbortController>();
  private readonly now: () => number;
  private readonly confirmByTraffic: boolean;
  private readonly onGoodProbe: (cluster: number) => void;
  private closed = false;

  constructor(
    count: number,
    private readonly probe: Probe,
    cfg: HealthConfig = {},
    opts: TrackerOptions = {},
  ) {
    this.cfg = resolveHealthConfig(cfg);
    this.now = opts.now ?? (() => performance.now());
    this.confirmByTraffic = opts.confirmByTraffic ?? false;
    this.onGoodProbe = opts.onGoodProbe ?? (() => {});
    const wall = new Date();
    const t = this.now();
    this.entries = Array.from({ length: count }, (_, cluster) => ({
      cluster, state: 'healthy', since: wall, forced: null, consecutiveFailures: 0, lastError: null,
      failovers: 0, recoveries: 0, changedAt: t, lastAnswerAt: -Infinity, goodProbes: 0,
      outstanding: new Map<Operation, Stop | undefined>(), probing: false, ready: false, trial: null, goodTrials: 0,
    }));
    // Background timers must not keep a process alive that forgot close(): traffic does that.
    const check = setInterval(() => afterPendingIo(() => this.closed || this.checkStalls()), Math.max(10, this.cfg.stallTimeoutMs / STALL_CHECKS_PER_TIMEOUT));
    check.unref?.();
    this.timers.push(check);
    const probes = setInterval(() => this.probeAll(), this.cfg.probeIntervalMs);
    probes.unref?.();
    this.timers.push(probes);
    // A first answer at once: a cluster's first write (dial, metadata, producer id) may outlast the stall
    // timeout, and must not be taken for a stall while the cluster answers probes.
    queueMicrotask(() => this.probeAll());
  }

  get config(): Readonly<Required<HealthConfig>> {
    return this.cfg;
  }

  healthy(i: number): boolean {
    const e = this.entries[i];
    return (e.forced ?? e.state) === 'healthy';
  }

  /** Cluster i is unhealthy, passed its probes, and waits for one trial operation (confirmByTraffic). */
  trialReady(i: number): boolean {
    const e = this.entries[i];
    return e.forced === null && e.state === 'unhealthy' && e.ready && e.trial === null;
  }

  /**
   * Registers an operation on cluster i; report its one outcome with succeeded, failed or ended. `stop`
   * is called if the cluster turns unhealthy while the operation is outstanding.
   */
  begin(i: number, stop?: Stop, kind: Exclude<OperationKind, 'trial'> = 'call'): Operation {
    const op: Operation = { cluster: i, startedAt: this.now(), kind };
    this.entries[i].outstanding.set(op, stop);
    return op;
  }

  /** The trial operation of a ready cluster (null when it is not ready or a trial is under way). */
  beginTrial(i: number, stop: Stop): Operation | null {
    if (!this.trialReady(i)) return null;
    const e = this.entries[i];
    const op: Operation = { cluster: i, startedAt: this.now(), kind: 'trial' };
    e.outstanding.set(op, stop);
    e.trial = op;
    return op;
  }

  /**
   * The cluster answered something (any response on any of its connections): it is alive, however
   * slow single calls are. Not evidence of recovery, only against a stall.
   */
  answered(i: number): void {
    const e = this.entries[i];
    e.lastAnswerAt = Math.max(e.lastAnswerAt, this.now());
  }

  /** The cluster answered the operation (all of it, or part of a write). */
  succeeded(op: Operation): void {
    const e = this.entries[op.cluster];
    if (!this.settle(e, op)) return;
    e.lastAnswerAt = Math.max(e.lastAnswerAt, this.now());
    if (op.startedAt < e.changedAt) return;
    e.consecutiveFailures = 0;
    if (e.state === 'healthy') return;
    // Writes that went through are the confirmation; probes only prepare for them.
    if (!this.confirmByTraffic || op.kind === 'probe') this.goodProbe(e);
    else if (op.kind === 'call' || ++e.goodTrials >= this.cfg.recoveryProbes) this.set(e, 'healthy');
  }

  /** The operation failed in a way that may say the cluster is in trouble. */
  failed(op: Operation, err: Error): void {
    const e = this.entries[op.cluster];
    if (!this.settle(e, op)) return;
    if (op.kind === 'trial') return this.trialFailed(e, err);
    if (op.startedAt < e.changedAt || e.lastAnswerAt > op.startedAt) return;
    e.lastError = err;
    e.goodProbes = 0;
    e.ready = false;
    e.consecutiveFailures++;
    if (e.state === 'healthy' && e.consecutiveFailures >= this.cfg.failureThreshold) this.set(e, 'unhealthy');
  }

  /** The operation ended without evidence either way (cancelled by its caller, handed over). */
  ended(op: Operation): void {
    this.settle(this.entries[op.cluster], op);
  }

  /** Pins cluster i up or down (null: back to automatic). Pinning it down stops what is outstanding there. */
  force(i: number, state: HealthState | null): void {
    const e = this.entries[i];
    e.forced = state;
    if (!this.healthy(i)) this.stopOutstanding(e);
    this.emit(e);
  }

  snapshot(): ClusterHealth[] {
    return this.entries.map(publicView);
  }

  /** Listeners run in registration order, synchronously at the change. */
  onChange(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const ac of this.probeAborts) ac.abort(new KafkaError('health tracker closed', false));
    this.listeners.clear();
  }

  /** Checks every cluster for a stalled operation now (the timer does it on its own). */
  checkStalls(): void {
    const t = this.now();
    for (const e of this.entries) {
      if (e.state === 'unhealthy') {
        // A trial is given up (the cluster stays out, no transition) when its cluster answered nothing
        // for the stall timeout, or when it has not succeeded in several stall timeouts although the
        // cluster answers (a restart still electing leaders).
        const trial = e.trial;
        const waited = trial ? t - trial.startedAt : 0;
        if (trial && ((waited >= this.cfg.stallTimeoutMs && e.lastAnswerAt <= trial.startedAt) || waited >= TRIAL_STALLS * this.cfg.stallTimeoutMs)) {
          const stop = e.outstanding.get(trial);
          const err = new TimeoutError(`cluster ${e.cluster}: trial write got no answer in ${Math.round(t - trial.startedAt)} ms`);
          this.settle(e, trial);
          // The cluster answers probes but writes slowly (a restart settling): one more good probe, not a full round.
          this.trialFailed(e, err);
          e.goodProbes = this.cfg.recoveryProbes - 1;
          stop?.(unavailableError(publicView(e)));
        }
        continue;
      }
      // The latest operation that has waited the whole stall timeout decides: nothing answered since it began?
      let latest = -Infinity;
      for (const op of e.outstanding.keys()) {
        if (op.startedAt >= e.changedAt && t - op.startedAt >= this.cfg.stallTimeoutMs) latest = Math.max(latest, op.startedAt);
      }
      if (latest > -Infinity && e.lastAnswerAt < latest) {
        e.lastError = new TimeoutError(`cluster ${e.cluster} answered nothing for ${Math.round(t - latest)} ms`);
        this.set(e, 'unhealthy');
      }
    }
  }

  /** Forgets a finished operation; false when it had already had its outcome. */
  private settle(e: Entry, op: Operation): boolean {
    if (!e.outstanding.delete(op)) return false;
    if (e.trial === op) e.trial = null;
    return true;
  }

  private trialFailed(e: Entry, err: Error): void {
    e.lastError = err;
    e.goodProbes = 0;
    e.goodTrials = 0;
    e.ready = false;
  }

  private probeAll(): void {
    for (const e of this.entries) if (!e.probing) void this.runProbe(e);
  }

  private async runProbe(e: Entry): Promise<void> {
    if (this.closed) return;
    e.probing = true;
    const op = this.begin(e.cluster, undefined, 'probe');
    const ac = new AbortController();
    this.probeAborts.add(ac);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The probe's own promise may ignore its signal: the timeout settles the race either way.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          afterPendingIo(() => {
            const err = new TimeoutError(`probe of cluster ${e.cluster} got no answer within ${this.cfg.probeTimeoutMs} ms`);
            ac.abort(err);
            reject(err);
          }),
        this.cfg.probeTimeoutMs,
      );
    });
    try {
      await Promise.race([this.probe(e.cluster, ac.signal), timeout]);
      if (!this.closed) this.succeeded(op);
    } catch (err) {
      if (!this.closed) this.failed(op, err instanceof Error ? err : new Error(String(err)));
    } finally {
      clearTimeout(timer);
      this.probeAborts.delete(ac);
      this.ended(op);
      e.probing = false;
    }
  }

  private goodProbe(e: Entry): void {
    this.onGoodProbe(e.cluster);
    e.goodProbes++;
    if (e.goodProbes < this.cfg.recoveryProbes) return;
    if (this.confirmByTraffic) e.ready = true;
    else this.set(e, 'healthy');
  }

  private set(e: Entry, state: HealthState): void {
    const wasHealthy = this.healthy(e.cluster);
    e.state = state;
    e.since = new Date();
    e.changedAt = this.now();
    e.goodProbes = 0;
    e.goodTrials = 0;
    e.ready = false;
    if (state === 'unhealthy') {
      e.failovers++;
      // Only when routing changes: a cluster pinned down was handed over already, and what is on it
      // now is a last resort; one pinned up stays in use.
      if (wasHealthy && !this.healthy(e.cluster)) this.stopOutstanding(e);
    } else {
      e.recoveries++;
      e.consecutiveFailures = 0;
      // Calls on clusters that are out were last resorts while no cluster was healthy: one is again.
      if (!wasHealthy && this.healthy(e.cluster)) {
        for (const other of this.entries) if (!this.healthy(other.cluster)) this.stopOutstanding(other);
      }
    }
    this.emit(e);
  }

  /** Stops every outstanding operation but the probes (they are bounded by their own timeout). */
  private stopOutstanding(e: Entry): void {
    const why = unavailableError(publicView(e));
    for (const [op, stop] of e.outstanding) if (op.kind !== 'probe') stop?.(why);
  }

  private emit(e: Entry): void {
    const h = publicView(e);
    for (const l of this.listeners) {
      try {
        l({ ...h });
      } catch {
        // A listener's bug must not break routing.
      }
    }
  }
}

export function resolveHealthConfig(cfg: HealthConfig): Required<HealthConfig> {
  const out = { ...DEFAULTS };
  for (const [k, v] of Object.entries(cfg) as [keyof HealthConfig, number | undefined][]) {
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`health.${k} must be a positive number, got ${v}`);
    out[k] = v;
  }
  out.failureThreshold = Math.ceil(out.failureThreshold);
  out.recoveryProbes = Math.ceil(out.recoveryProbes);
  return out;
}

function publicView(e: Entry): ClusterHealth {
  return {
    cluster: e.cluster, state: e.state, since: e.since, forced: e.forced, consecutiveFailures: e.consecutiveFailures,
    lastError: e.lastError, failovers: e.failovers, recoveries: e.recoveries,
  };
}
