// MultiWriter: one Writer per cluster, spreading writes by RWMode. Backup writes to the primary while it
// is healthy and to a standby otherwise, failing back when probes find the primary healthy again;
// MultiRW rotates over healthy clusters; Mirror writes every message to every cluster.
//
// Each call has one deadline from the moment it is made, across every cluster it tries. Its attempt on
// a cluster carries an AbortSignal of the MultiWriter's own: the moment that cluster turns unhealthy the
// attempt is stopped (handover) and its unwritten messages go to the next healthy cluster at once, so
// nothing stays stranded on a frozen or dead cluster. Stopping an attempt is told apart from the
// caller's abort (reject, no failover) and from the deadline (reject with TimeoutError).
import { checkClusterIndex } from './cluster-index.ts';
import { Client } from '../client/client.ts';
import { Writer } from '../client/writer/writer.ts';
import type { WriterConfig, WriterMessage, WriteResult } from '../client/writer/config.ts';
import type { WriterStats } from '../client/writer/stats.ts';
import { WriteErrors } from '../client/writer/write-errors.ts';
import { AbortedError, ClosedError, KafkaError } from '../protocol/errors.ts';
import { CallScope, type StopReason } from './call-scope.ts';
import { MultiWriteErrors, unavailableError } from './errors.ts';
import { HealthTracker, resolveHealthConfig, type ClusterHealth, type HealthConfig, type HealthListener, type HealthState } from './health.ts';
import { probeClient, probeCluster } from './probe.ts';
import { RWMode } from './rw-mode.ts';
import { FailoverCounters, sumStats, type MultiWriterStats } from './stats.ts';
import { clusterTelemetry, type MultiTelemetryOptions } from './telemetry.ts';
import { Telemetry } from '../client/telemetry/telemetry.ts';

export interface MultiWriterOptions extends MultiTelemetryOptions {
  health?: HealthConfig;
  /** Mirror: a message counts as written once this many clusters have it. Default: all of them. */
  mirrorMinClusters?: number;
  /**
   * Adds a header with a unique id to every message, so that a MultiReader (dedupeHeader) can drop the
   * duplicates a failover may create. Off by default.
   */
  messageIdHeader?: string;
}

/** Where a message landed: the cluster, and (Mirror) every cluster that has it. */
export interface MultiWriteResult extends WriteResult {
  cluster: number;
  clusters: number[];
}

export interface MultiWriteOptions {
  signal?: AbortSignal;
  /** The call's deadline, from the moment it is made, across every cluster tried. Default: the first config's writeTimeoutMs (30 s). */
  timeoutMs?: number;
}

/** What one attempt on one cluster came to, aligned with the messages it was given. */
interface Outcome {
  errors: (Error | null)[];
  results: (WriteResult | null)[];
  /** Message k was in a request on the wire: if unwritten, the cluster may have it all the same. */
  sent: boolean[];
  stopped: StopReason | null;
}

/** Errors that say the cluster is in trouble (so another cluster may take the message). */
function clusterTrouble(e: Error | null): e is Error {
  return e !== null && e instanceof KafkaError && e.retriable && !(e instanceof AbortedError);
}

/**
 * A written message's result: the Writer's (every written message has one, a partly failed call's
 * too), with the clusters that have it. A literal, not a spread: this runs per message, and the spread
 * was a quarter of the layer's CPU.
 */
function writtenTo(r: WriteResult, cluster: number, clusters: number[]): MultiWriteResult {
  return { topic: r.topic, partition: r.partition, offset: r.offset, cluster, clusters };
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function isOptions(x: unknown): x is MultiWriteOptions {
  return typeof x === 'object' && x !== null && !('value' in x);
}

export class MultiWriter {
  readonly mode: RWMode;
  private readonly writers: Writer[];
  private readonly probes: Client[];
  private readonly health: HealthTracker;
  private readonly opts: MultiWriterOptions;
  private readonly timeoutMs: number;
  private readonly counters: FailoverCounters;
  private next = 0;
  /** Backup: the cluster the last write went to (telemetry tells when it changes). */
  private serving = 0;
  private readonly telemetry: Telemetry;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(mode: RWMode, configs: WriterConfig[], opts: MultiWriterOptions = {}) {
    if (!Object.values(RWMode).includes(mode)) throw new KafkaError(`unknown RWMode ${String(mode)}`, false);
    if (!Array.isArray(configs) || configs.length === 0) throw new KafkaError('MultiWriter needs at least one cluster config', false);
    if (configs.some((c) => c.async)) throw new KafkaError('MultiWriter cannot fail over async writers: leave async off in its configs', false);
    // A transaction lives on one cluster: failing its writes over (Backup, MultiRW) or copying them
    // (Mirror) would commit part of it, or replay it outside it. Refused in every mode.
    if (configs.some((c) => c.transactionalId !== undefined)) {
      throw new KafkaError('MultiWriter does not write transactions (a transaction lives on one cluster): use a transactional Writer on that cluster', false);
    }
    const min = opts.mirrorMinClusters ?? configs.length;
    if (mode === RWMode.Mirror && (min < 1 || min > configs.length)) throw new RangeError(`mirrorMinClusters ${min} outside 1..${configs.length}`);
    const health = resolveHealthConfig(opts.health ?? {});
    this.mode = mode;
    this.opts = opts;
    this.timeoutMs = configs[0].writeTimeoutMs ?? 30_000;
    // Every answer on a cluster's connections (writes and probes) tells its tracker the cluster is alive.
    const alive = (i: number) => () => this.health.answered(i);
    this.writers = configs.map((c, i) => new Writer({ ...clusterTelemetry(c, i, opts), onAnswer: alive(i) }));
    this.probes = configs.map((c, i) => probeClient({ ...clusterTelemetry(c, i, opts, ' probe'), onAnswer: alive(i) }, health));
    this.telemetry = new Telemetry(opts.name ?? 'mka', opts.telemetry);
    this.counters = new FailoverCounters(configs.length);
    this.health = new HealthTracker(configs.length, (i, signal) => probeCluster(this.probes[i], i, configs[i].topic, signal, health.probeTimeoutMs), health, {
      confirmByTraffic: true,
      // The writer's own reconnect backoff grew while the cluster was down; its trial write must not
      // wait it out (seen: an 8 s wait after a restart, and the trial given up).
      onGoodProbe: (i) => this.writers[i].redialNow(),
    });
    this.health.onChange((h) => {
      const tel = this.telemetry.health;
      if (tel.on) tel.emit({ cluster: h.cluster, state: h.forced ?? h.state, forced: h.forced, error: h.lastError });
    });
    // A standby that takes over must not pay for metadata, dials and a producer id on its first writes.
    for (const w of this.writers) w.warmUp().catch(() => {});
  }

  get clusters(): number {
    return this.writers.length;
  }

  /**
   * Writes messages; resolves with where each landed. When some could not be written anywhere (or, in
   * Mirror mode, not to enough clusters) by the call's deadline, rejects with MultiWriteErrors aligned
   * with the messages. The caller's signal rejects at once (AbortedError per unwritten message) and
   * never moves the messages to another cluster.
   */
  async writeMessages(...args: (WriterMessage | MultiWriteOptions)[]): Promise<MultiWriteResult[]> {
    const last = args[args.length - 1];
    const opts = last !== undefined && isOptions(last) ? (args.pop() as MultiWriteOptions) : {};
    let messages = args as WriterMessage[];
    if (this.closed) throw new ClosedError('multi-writer closed');
    if (messages.length === 0) return [];
    if (opts.signal?.aborted) throw new AbortedError('writeMessages aborted before anything was sent', opts.signal.reason);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
    if (this.opts.messageIdHeader) {
      const h = this.opts.messageIdHeader;
      messages = messages.map((m) => ({ ...m, headers: [...(m.headers ?? []), { key: h, value: globalThis.crypto.randomUUID() }] }));
    }
    const scope = new CallScope(opts.signal, timeoutMs);
    try {
      return await (this.mode === RWMode.Mirror ? this.writeMirror(messages, scope) : this.writeFailover(messages, scope));
    } finally {
      scope.dispose();
    }
  }

  /** Backup and MultiRW: each message ends up in one cluster; what one cluster could not take goes to the next. */
  private async writeFailover(messages: WriterMessage[], scope: CallScope): Promise<MultiWriteResult[]> {
    const n = messages.length;
    const results: (MultiWriteResult | null)[] = new Array(n).fill(null);
    const errors: (Error | null)[] = new Array(n).fill(null);
    const sentBefore: boolean[] = new Array(n).fill(false);
    const byCluster = new Map<number, (Error | null)[]>();
    const order = this.order();
    const tried = new Set<number>();
    let pending = messages.map((_, i) => i);
    while (pending.length > 0 && !scope.stopped) {
      const next = this.pick(order, tried);
      if (next === undefined) break;
      const { c, trial } = next;
      this.routed(c, [...tried].pop(), pending.length);
      if (tried.size > 0) {
        this.counters.handedOver += pending.length;
        for (const i of pending) if (sentBefore[i]) this.counters.possibleDuplicates++;
      }
      tried.add(c);
      const out = await this.writeTo(c, pending.map((i) => messages[i]), scope, trial);
      const errs: (Error | null)[] = new Array(n).fill(null);
      byCluster.set(c, errs);
      const moveOn: number[] = [];
      pending.forEach((i, k) => {
        const e = out.errors[k];
        errs[i] = e;
        errors[i] = e;
        if (e === null) {
          results[i] = writtenTo(out.results[k]!, c, [c]);
        } else if (out.stopped === 'handover' || (out.stopped === null && clusterTrouble(e))) {
          sentBefore[i] ||= out.sent[k];
          moveOn.push(i);
        }
      });
      pending = moveOn;
    }
    // Messages the call stopped for (caller or deadline) before another cluster could take them.
    if (scope.stopped) for (const i of pending) errors[i] = scope.stopError();
    const failed = errors.filter((e) => e !== null).length;
    if (failed === 0) return results as MultiWriteResult[];
    if (scope.stopped === 'deadline') this.counters.timedOut += failed;
    const all = this.writers.map((_, c) => c);
    throw new MultiWriteErrors(errors, errors.map((e) => (e ? all : [])), byCluster);
  }

  /** Mirror: every message to every healthy cluster, in parallel; the error names what each cluster misses. */
  private async writeMirror(messages: WriterMessage[], scope: CallScope): Promise<MultiWriteResult[]> {
    const n = this.writers.length;
    const min = this.opts.mirrorMinClusters ?? n;
    const anyHealthy = this.writers.some((_, c) => this.health.healthy(c));
    const outcomes = await Promise.all(
      this.writers.map(async (_, c): Promise<Outcome> => {
        if (!anyHealthy || this.health.healthy(c)) return this.writeTo(c, messages, scope, false);
        if (this.health.trialReady(c)) return this.writeTo(c, messages, scope, true);
        return this.unavailable(c, messages.length);
      }),
    );
    const byCluster = new Map(outcomes.map((o, c) => [c, o.errors] as const));
    const errors: (Error | null)[] = [];
    const missing: number[][] = [];
    const results: MultiWriteResult[] = [];
    messages.forEach((_, i) => {
      const have = outcomes.flatMap((o, c) => (o.errors[i] === null ? [c] : []));
      const miss = outcomes.flatMap((o, c) => (o.errors[i] === null ? [] : [c]));
      missing.push(miss);
      if (have.length >= min) {
        errors.push(null);
        results.push(writtenTo(outcomes[have[0]].results[i]!, have[0], have));
      } else {
        errors.push(outcomes[miss[0]].errors[i]);
      }
    });
    if (scope.stopped === 'deadline') this.counters.timedOut += errors.filter((e) => e !== null).length;
    if (errors.some((e) => e !== null) || missing.some((m) => m.length > 0 && min === n)) {
      throw new MultiWriteErrors(errors, missing, byCluster);
    }
    return results;
  }

  /** The clusters of one call in preference order: Backup by index, MultiRW rotating over the healthy ones. */
  private order(): number[] {
    const all = this.writers.map((_, c) => c);
    if (this.mode !== RWMode.MultiRW) return all;
    // A recovered cluster waiting for its trial write takes its turn in the rotation, or it never would.
    const usable = all.filter((c) => this.health.healthy(c) || this.health.trialReady(c));
    const pool = usable.length ? usable : all;
    const start = pool[this.next++ % pool.length];
    return [...all.slice(start), ...all.slice(0, start)];
  }

  /**
   * The next cluster to try: the first one not tried yet that is healthy, or that recovered and waits
   * for its trial write (so a recovered primary is preferred again). Unhealthy clusters are tried
   * only when no cluster at all is healthy (a last resort, rather than failing without trying).
   */
  private pick(order: number[], tried: Set<number>): { c: number; trial: boolean } | undefined {
    for (const c of order) {
      if (tried.has(c)) continue;
      if (this.health.healthy(c)) return { c, trial: false };
      if (this.health.trialReady(c)) return { c, trial: true };
    }
    if (order.some((c) => this.health.healthy(c))) return undefined;
    const c = order.find((x) => !tried.has(x));
    return c === undefined ? undefined : { c, trial: false };
  }

  /**
   * Telemetry: writes go to cluster c, handed over from `from` (undefined: a call's first try). In
   * Backup mode every change of the cluster written to counts; moving back to a preferred one is a fail-back.
   */
  private routed(c: number, from: number | undefined, messages: number): void {
    if (this.mode === RWMode.Backup) {
      from = this.serving;
      this.serving = c;
    }
    const tel = this.telemetry.failover;
    if (from === undefined || from === c || !tel.on) return;
    tel.emit({ kind: this.mode === RWMode.Backup && c < from ? 'fail-back' : 'failover', from, to: c, messages });
  }

  /** A cluster that is out: every message gets why, none was sent. */
  private unavailable(c: number, n: number): Outcome {
    const why = unavailableError(this.health.snapshot()[c]);
    return { errors: new Array(n).fill(why), results: new Array(n).fill(null), sent: new Array(n).fill(false), stopped: null };
  }

  /**
   * One attempt on cluster c, registered with the health tracker, which stops it (handover) if the
   * cluster turns unhealthy meanwhile; its outcome is evidence of the cluster's health.
   */
  private async writeTo(c: number, messages: WriterMessage[], scope: CallScope, trial: boolean): Promise<Outcome> {
    const attempt = scope.attempt(c);
    const stop = (reason: Error) => attempt.handOver(reason);
    const op = trial ? this.health.beginTrial(c, stop) : this.health.begin(c, stop);
    if (!op) {
      scope.settle(attempt);
      return this.unavailable(c, messages.length);
    }
    this.counters.attempt(c);
    try {
      const results = await this.writers[c].writeMessages(...messages, { signal: attempt.signal });
      this.health.succeeded(op);
      return { errors: messages.map(() => null), results, sent: messages.map(() => true), stopped: null };
    } catch (e) {
      let errors: (Error | null)[];
      let sent: boolean[];
      if (e instanceof WriteErrors) {
        errors = [...e.errors];
        // A Writer that does not say what was on the wire leaves the outcome unknown: assume sent.
        const onWire = (e as WriteErrors & { sent?: readonly boolean[] }).sent;
        sent = errors.map((_, k) => onWire?.[k] ?? true);
      } else {
        errors = messages.map(() => asError(e));
        sent = messages.map(() => true);
      }
      const stopped = attempt.stopped;
      if (stopped) {
        // The Writer reports our own abort as AbortedError: name the real reason instead.
        const why = asError(attempt.signal.reason);
        errors = errors.map((x) => (x === null ? null : why));
      }
      if (errors.some((x) => x === null)) this.health.succeeded(op);
      else if (!stopped && errors.some(clusterTrouble)) this.health.failed(op, errors.find(clusterTrouble)!);
      else this.health.ended(op);
      // The messages of a partly failed call that were written carry their results (topic, partition, offset).
      return { errors, results: e instanceof WriteErrors ? [...e.results] : messages.map(() => null), sent, stopped };
    } finally {
      scope.settle(attempt);
    }
  }

  /** The Writer stats of cluster i (snapshot-and-reset, as Writer.stats()). */
  stats(i: number): WriterStats {
    checkClusterIndex(i, this.writers.length);
    return this.writers[i].stats();
  }

  /** Counters summed over every cluster, plus what failover did (snapshot-and-reset of each). */
  aggregateStats(): MultiWriterStats {
    return { ...sumStats(this.writers.map((w) => w.stats())), ...this.counters.take() };
  }

  /** Health of every cluster: state, since when, last error, failovers and recoveries. */
  healthStatus(): ClusterHealth[] {
    return this.health.snapshot();
  }

  /** Pins cluster i healthy or unhealthy for routing (null: automatic again). Pinning it down hands its calls over. */
  forceHealth(i: number, state: HealthState | null): void {
    checkClusterIndex(i, this.writers.length);
    this.health.force(i, state);
  }

  onHealthChange(listener: HealthListener): () => void {
    return this.health.onChange(listener);
  }

  /**
   * Flushes every cluster's writer and waits; later writes fail with ClosedError. With a signal, aborting
   * stops the wait (what is still pending fails with AbortedError, as Writer.close).
   */
  close(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        await Promise.allSettled(this.writers.map((w) => w.close(opts)));
        this.health.close();
        await Promise.allSettled(this.probes.map((p) => p.close()));
      })();
    }
    return this.closing;
  }
}
