// Per-cluster health with hysteresis: a failure opens the circuit at once (after `failureThreshold`
// consecutive failures); a background probe then checks the cluster, and only `recoveryProbes`
// consecutive good probes close it again, so a flapping cluster is not retried on every write.
// A manual override pins a cluster up or down until it is cleared.

export interface HealthConfig {
  /** Consecutive failed writes/reads that mark a cluster unhealthy. Default 1. */
  failureThreshold?: number;
  /** Time between probes of an unhealthy cluster. Default 1000 ms. */
  probeIntervalMs?: number;
  /** Consecutive successful probes before an unhealthy cluster is used again. Default 2. */
  recoveryProbes?: number;
  /** Timeout of one probe. Default 2000 ms. */
  probeTimeoutMs?: number;
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

export type Probe = (cluster: number, signal: AbortSignal) => Promise<void>;
export type HealthListener = (h: ClusterHealth) => void;

interface Entry extends ClusterHealth {
  goodProbes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  probing: AbortController | null;
}

export class HealthTracker {
  private readonly entries: Entry[];
  private readonly cfg: Required<HealthConfig>;
  private readonly listeners = new Set<HealthListener>();
  private closed = false;

  constructor(
    count: number,
    private readonly probe: Probe,
    cfg: HealthConfig = {},
  ) {
    this.cfg = {
      failureThreshold: Math.max(1, cfg.failureThreshold ?? 1),
      probeIntervalMs: cfg.probeIntervalMs ?? 1000,
      recoveryProbes: Math.max(1, cfg.recoveryProbes ?? 2),
      probeTimeoutMs: cfg.probeTimeoutMs ?? 2000,
    };
    const now = new Date();
    this.entries = Array.from({ length: count }, (_, cluster) => ({
      cluster, state: 'healthy', since: now, forced: null, consecutiveFailures: 0, lastError: null,
      failovers: 0, recoveries: 0, goodProbes: 0, timer: undefined, probing: null,
    }));
  }

  healthy(i: number): boolean {
    const e = this.entries[i];
    return (e.forced ?? e.state) === 'healthy';
  }

  /** A write or read on cluster i succeeded. */
  success(i: number): void {
    const e = this.entries[i];
    e.consecutiveFailures = 0;
    // Traffic that succeeds (e.g. a last-resort attempt) is as good as a probe.
    if (e.state === 'unhealthy') this.goodProbe(e);
  }

  /** A write or read on cluster i failed in a way that says the cluster is in trouble. */
  failure(i: number, err: Error): void {
    const e = this.entries[i];
    e.lastError = err;
    e.consecutiveFailures++;
    e.goodProbes = 0;
    if (e.state === 'healthy' && e.consecutiveFailures >= this.cfg.failureThreshold) {
      this.set(e, 'unhealthy');
      this.scheduleProbe(e);
    }
  }

  /** Pins cluster i up or down (null: back to automatic). */
  force(i: number, state: HealthState | null): void {
    const e = this.entries[i];
    e.forced = state;
    this.emit(e);
  }

  snapshot(): ClusterHealth[] {
    return this.entries.map(({ goodProbes: _g, timer: _t, probing: _p, ...h }) => ({ ...h }));
  }

  onChange(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries) {
      if (e.timer) clearTimeout(e.timer);
      e.probing?.abort();
    }
    this.listeners.clear();
  }

  private set(e: Entry, state: HealthState): void {
    e.state = state;
    e.since = new Date();
    if (state === 'unhealthy') e.failovers++;
    else e.recoveries++;
    this.emit(e);
  }

  private emit(e: Entry): void {
    const { goodProbes: _g, timer: _t, probing: _p, ...h } = e;
    for (const l of this.listeners) {
      try {
        l({ ...h });
      } catch {
        // A listener's bug must not break routing.
      }
    }
  }

  private goodProbe(e: Entry): void {
    e.goodProbes++;
    if (e.goodProbes >= this.cfg.recoveryProbes) {
      e.goodProbes = 0;
      e.consecutiveFailures = 0;
      if (e.timer) clearTimeout(e.timer);
      e.timer = undefined;
      this.set(e, 'healthy');
    }
  }

  private scheduleProbe(e: Entry): void {
    if (this.closed || e.timer) return;
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.runProbe(e);
    }, this.cfg.probeIntervalMs);
  }

  private async runProbe(e: Entry): Promise<void> {
    if (this.closed || e.state === 'healthy') return;
    const ac = new AbortController();
    e.probing = ac;
    const timer = setTimeout(() => ac.abort(new Error('probe timed out')), this.cfg.probeTimeoutMs);
    try {
      await this.probe(e.cluster, ac.signal);
      if (!ac.signal.aborted) this.goodProbe(e);
      else e.goodProbes = 0;
    } catch (err) {
      e.goodProbes = 0;
      e.lastError = err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
      e.probing = null;
    }
    if (e.state === 'unhealthy') this.scheduleProbe(e);
  }
}
