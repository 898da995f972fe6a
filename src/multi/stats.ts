// Aggregate stats across clusters: counters add up, duration summaries merge (count, sum, min, max,
// avg recomputed); settings are taken from the first cluster. Plus the MultiWriter's own counters of
// what failover did, which no single Writer can see.
import type { DurationStats, WriterStats } from '../client/writer/stats.ts';

function isSummary(v: unknown): v is DurationStats {
  return typeof v === 'object' && v !== null && 'count' in v && 'sum' in v && 'min' in v && 'max' in v;
}

/** Counter fields to add; anything else numeric (settings, offsets) is taken from the first entry. */
const COUNTERS = new Set(['writes', 'messages', 'bytes', 'errors', 'retries', 'dials', 'fetches', 'rebalances', 'timeouts', 'queueLength', 'queueCapacity']);

export function sumStats<T extends object>(all: T[]): T {
  if (all.length === 0) throw new RangeError('no stats to sum');
  const out = { ...all[0] } as Record<string, unknown>;
  for (const [k, v0] of Object.entries(all[0])) {
    if (isSummary(v0)) {
      const parts = all.map((s) => (s as Record<string, unknown>)[k] as DurationStats);
      const count = parts.reduce((n, p) => n + p.count, 0);
      const sum = parts.reduce((n, p) => n + p.sum, 0);
      const live = parts.filter((p) => p.count > 0);
      out[k] = {
        count,
        sum,
        avg: count ? sum / count : 0,
        min: live.length ? Math.min(...live.map((p) => p.min)) : 0,
        max: live.length ? Math.max(...live.map((p) => p.max)) : 0,
      };
    } else if (typeof v0 === 'number' && COUNTERS.has(k)) {
      out[k] = all.reduce((n, s) => n + ((s as Record<string, unknown>)[k] as number), 0);
    }
  }
  return out as T;
}

/** What failover did since the last snapshot. */
export interface FailoverStats {
  /** Writer calls started, per cluster (a call handed over counts once on each cluster it tried). */
  attempts: number[];
  /** Messages moved to another cluster after their first one failed or turned unhealthy. */
  handedOver: number;
  /**
   * Of those, messages that were already in a request on the wire (outcome unknown): the old cluster may
   * have them too. The message-id header and a MultiReader's dedupeHeader remove these copies.
   */
  possibleDuplicates: number;
  /** Messages that failed because their call's deadline passed. */
  timedOut: number;
}

export type MultiWriterStats = WriterStats & FailoverStats;

export class FailoverCounters {
  private attempts: number[];
  handedOver = 0;
  possibleDuplicates = 0;
  timedOut = 0;

  constructor(private readonly clusters: number) {
    this.attempts = new Array<number>(clusters).fill(0);
  }

  attempt(cluster: number): void {
    this.attempts[cluster]++;
  }

  /** The counters so far, then starts afresh (as Writer.stats()). */
  take(): FailoverStats {
    const s = { attempts: this.attempts, handedOver: this.handedOver, possibleDuplicates: this.possibleDuplicates, timedOut: this.timedOut };
    this.attempts = new Array<number>(this.clusters).fill(0);
    this.handedOver = this.possibleDuplicates = this.timedOut = 0;
    return s;
  }
}
