// MultiWriter: one Writer per cluster behind the seed's RWMode. Backup writes to the primary while it
// is healthy and to a standby otherwise, failing back when probes find the primary healthy again;
// MultiRW rotates over healthy clusters and tries every other one before giving up; Mirror writes every
// message to every cluster. A write failed on one cluster is retried on another only for the messages
// that failed there, and only for errors that say the cluster (not the message) is the problem.
import { Client } from '../client/client.ts';
import { Writer } from '../client/writer/writer.ts';
import type { WriterConfig, WriterMessage, WriteResult } from '../client/writer/config.ts';
import type { WriterStats } from '../client/writer/stats.ts';
import { WriteErrors } from '../client/writer/write-errors.ts';
import { AbortedError, ClosedError, KafkaError } from '../protocol/errors.ts';
import { MultiWriteErrors } from './errors.ts';
import { HealthTracker, type ClusterHealth, type HealthConfig, type HealthListener, type HealthState } from './health.ts';
import { RWMode } from './rw-mode.ts';
import { sumStats } from './stats.ts';

export interface MultiWriterOptions {
  health?: HealthConfig;
  /** Mirror: a message counts as written once this many clusters have it. Default: all of them. */
  mirrorMinClusters?: number;
  /**
   * Adds a header with a unique id to every message, so that a MultiReader (dedupeHeader) can drop the
   * duplicates a failover retry may create. Off by default.
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
}

function checkIndex(i: number, n: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`cluster index ${i} is out of range 0..${n - 1}`);
}

/** Errors that say the cluster is in trouble (so another cluster may take the message). */
function clusterTrouble(e: Error | null): boolean {
  return e !== null && e instanceof KafkaError && e.retriable;
}

export class MultiWriter {
  readonly mode: RWMode;
  private readonly writers: Writer[];
  private readonly probes: Client[];
  private readonly health: HealthTracker;
  private readonly opts: MultiWriterOptions;
  private next = 0;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(mode: RWMode, configs: WriterConfig[], opts: MultiWriterOptions = {}) {
    if (!Object.values(RWMode).includes(mode)) throw new KafkaError(`unknown RWMode ${String(mode)}`, false);
    if (!Array.isArray(configs) || configs.length === 0) throw new KafkaError('MultiWriter needs at least one cluster config', false);
    if (configs.some((c) => c.async)) throw new KafkaError('MultiWriter cannot fail over async writers: leave async off in its configs', false);
    const min = opts.mirrorMinClusters ?? configs.length;
    if (mode === RWMode.Mirror && (min < 1 || min > configs.length)) throw new RangeError(`mirrorMinClusters ${min} outside 1..${configs.length}`);
    this.mode = mode;
    this.opts = opts;
    this.writers = configs.map((c) => new Writer(c));
    // Probes use their own clients: an admin connection per cluster, apart from the produce path.
    this.probes = configs.map((c) => new Client({ ...c, retry: { attempts: 1 }, retryTimeoutMs: 0 }));
    this.health = new HealthTracker(configs.length, (i, signal) => this.probe(i, configs[i], signal), opts.health);
  }

  get clusters(): number {
    return this.writers.length;
  }

  /**
   * Writes messages; resolves with where each landed. When some could not be written anywhere (or, in
   * Mirror mode, not to enough clusters), rejects with MultiWriteErrors aligned with the messages.
   */
  async writeMessages(...args: (WriterMessage | MultiWriteOptions)[]): Promise<MultiWriteResult[]> {
    const last = args[args.length - 1];
    const opts = last && typeof last === 'object' && !('value' in last) ? (args.pop() as MultiWriteOptions) : {};
    let messages = args as WriterMessage[];
    if (this.closed) throw new ClosedError('multi-writer closed');
    if (messages.length === 0) return [];
    if (opts.signal?.aborted) throw new AbortedError('writeMessages aborted before anything was sent', opts.signal.reason);
    if (this.opts.messageIdHeader) {
      const h = this.opts.messageIdHeader;
      messages = messages.map((m) => ({ ...m, headers: [...(m.headers ?? []), { key: h, value: globalThis.crypto.randomUUID() }] }));
    }
    return this.mode === RWMode.Mirror ? this.writeMirror(messages, opts) : this.writeFailover(messages, opts);
  }

  /** Backup and MultiRW: each message ends up in one cluster, tried in the order `route()` gives. */
  private async writeFailover(messages: WriterMessage[], opts: MultiWriteOptions): Promise<MultiWriteResult[]> {
    const results: (MultiWriteResult | null)[] = new Array(messages.length).fill(null);
    const errors: (Error | null)[] = new Array(messages.length).fill(null);
    const byCluster = new Map<number, (Error | null)[]>();
    let pending = messages.map((_, i) => i);
    for (const c of this.route()) {
      if (pending.length === 0) break;
      const errs: (Error | null)[] = new Array(messages.length).fill(null);
      byCluster.set(c, errs);
      const outcome = await this.writeTo(c, pending.map((i) => messages[i]), opts.signal);
      const retry: number[] = [];
      pending.forEach((i, k) => {
        const e = outcome.errors[k];
        errs[i] = e;
        if (e === null) {
          results[i] = { ...outcome.results[k]!, cluster: c, clusters: [c] };
          errors[i] = null;
        } else {
          errors[i] = e;
          if (clusterTrouble(e) && !(e instanceof AbortedError)) retry.push(i);
        }
      });
      pending = retry;
      if (opts.signal?.aborted) break;
    }
    if (errors.some((e) => e !== null)) {
      const missing = errors.map((e) => (e ? [...byCluster.keys()] : []));
      throw new MultiWriteErrors(errors, missing, byCluster);
    }
    return results as MultiWriteResult[];
  }

  /** Mirror: every message to every healthy cluster, in parallel. */
  private async writeMirror(messages: WriterMessage[], opts: MultiWriteOptions): Promise<MultiWriteResult[]> {
    const n = this.writers.length;
    const min = this.opts.mirrorMinClusters ?? n;
    const byCluster = new Map<number, (Error | null)[]>();
    const outcomes = await Promise.all(
      this.writers.map(async (_, c) => {
        if (!this.health.healthy(c)) {
          const why = new KafkaError(`cluster ${c} is unhealthy: ${this.health.snapshot()[c].lastError?.message ?? 'forced down'}`, true);
          return { errors: messages.map(() => why), results: messages.map(() => null) };
        }
        return this.writeTo(c, messages, opts.signal);
      }),
    );
    outcomes.forEach((o, c) => byCluster.set(c, o.errors));
    const errors: (Error | null)[] = [];
    const missing: number[][] = [];
    const results: MultiWriteResult[] = [];
    messages.forEach((_, i) => {
      const have = outcomes.map((o, c) => (o.errors[i] === null ? c : -1)).filter((c) => c >= 0);
      const miss = outcomes.map((_o, c) => c).filter((c) => !have.includes(c));
      missing.push(miss);
      if (have.length >= min) {
        errors.push(null);
        results.push({ ...outcomes[have[0]].results[i]!, cluster: have[0], clusters: have });
      } else {
        errors.push(outcomes[miss[0]].errors[i]);
      }
    });
    if (errors.some((e) => e !== null) || missing.some((m) => m.length > 0 && min === n)) {
      throw new MultiWriteErrors(errors, missing, byCluster);
    }
    return results;
  }

  /** Clusters in the order a write should try them: healthy ones first, the others as a last resort. */
  private route(): number[] {
    const n = this.writers.length;
    let order: number[];
    if (this.mode === RWMode.Backup) {
      order = Array.from({ length: n }, (_, i) => i);
    } else {
      const start = this.next;
      this.next = (this.next + 1) % n;
      order = Array.from({ length: n }, (_, k) => (start + k) % n);
      // Round robin over the healthy ones only, so that traffic stays even while one is out.
      const healthy = order.filter((c) => this.health.healthy(c));
      if (healthy.length && !this.health.healthy(start)) {
        const h = healthy[start % healthy.length];
        order = [h, ...order.filter((c) => c !== h)];
      }
    }
    return [...order.filter((c) => this.health.healthy(c)), ...order.filter((c) => !this.health.healthy(c))];
  }

  private async writeTo(c: number, messages: WriterMessage[], signal?: AbortSignal): Promise<{ errors: (Error | null)[]; results: (WriteResult | null)[] }> {
    try {
      const results = await this.writers[c].writeMessages(...messages, ...(signal ? [{ signal }] : []));
      this.health.success(c);
      return { errors: messages.map(() => null), results };
    } catch (e) {
      const errors = e instanceof WriteErrors ? [...e.errors] : messages.map(() => (e instanceof Error ? e : new Error(String(e))));
      const trouble = errors.find((x) => clusterTrouble(x) && !(x instanceof AbortedError));
      if (trouble) this.health.failure(c, trouble);
      else if (errors.some((x) => x === null)) this.health.success(c);
      return { errors, results: e instanceof WriteErrors ? errors.map(() => null) : messages.map(() => null) };
    }
  }

  /** A cluster is healthy when its metadata answers and every partition of the writer's topic has a leader. */
  private async probe(i: number, cfg: WriterConfig, signal: AbortSignal): Promise<void> {
    const topics = cfg.topic ? [cfg.topic] : [];
    const m = await this.probes[i].metadata({ topics, signal, timeoutMs: 2000 });
    if (m.brokers.length === 0) throw new KafkaError(`cluster ${i}: no brokers`, true);
    for (const t of m.topics) {
      if (topics.length && t.partitions.some((p) => p.leader < 0)) throw new KafkaError(`cluster ${i}: ${t.name} has partitions without a leader`, true);
    }
  }

  /** The Writer stats of cluster i (snapshot-and-reset, as Writer.stats()). */
  stats(i: number): WriterStats {
    checkIndex(i, this.writers.length);
    return this.writers[i].stats();
  }

  /** Counters summed over every cluster (snapshot-and-reset of each). */
  aggregateStats(): WriterStats {
    return sumStats(this.writers.map((w) => w.stats()));
  }

  /** Health of every cluster: state, since when, last error, failovers and recoveries. */
  healthStatus(): ClusterHealth[] {
    return this.health.snapshot();
  }

  /** Pins cluster i healthy or unhealthy for routing (null: automatic again). */
  forceHealth(i: number, state: HealthState | null): void {
    checkIndex(i, this.writers.length);
    this.health.force(i, state);
  }

  onHealthChange(listener: HealthListener): () => void {
    return this.health.onChange(listener);
  }

  /** Flushes every cluster's writer and waits; later writes fail with ClosedError. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        await Promise.allSettled(this.writers.map((w) => w.close()));
        this.health.close();
        await Promise.allSettled(this.probes.map((p) => p.close()));
      })();
    }
    return this.closing;
  }
}
