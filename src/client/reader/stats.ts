// Snapshot-and-reset counters with the fields of kafka-go's ReaderStats. Durations in milliseconds.
import { Summary, type DurationStats, type SummaryStats } from '../writer/stats.ts';

export interface ReaderStats {
  dials: number;
  /** Fetch requests answered. */
  fetches: number;
  messages: number;
  /** Key, value and header bytes of the messages returned. */
  bytes: number;
  rebalances: number;
  /** Stalls the liveness watchdog found and healed (see Reader.health()). */
  stalls: number;
  timeouts: number;
  errors: number;
  dialTime: DurationStats;
  /** Decoding a fetch response's records. */
  readTime: DurationStats;
  /** Fetch round trips, the broker's long-poll included. */
  waitTime: DurationStats;
  /** Messages per fetch. */
  fetchSize: SummaryStats;
  /** Record-set bytes per fetch. */
  fetchBytes: SummaryStats;
  /** The partition reader's offset; -1 in group mode. */
  offset: bigint;
  /** The partition reader's lag; -1 in group mode. */
  lag: bigint;
  minBytes: number;
  maxBytes: number;
  maxWait: number;
  queueLength: number;
  queueCapacity: number;
  clientId: string;
  topic: string;
  /** -1 in group mode. */
  partition: number;
}

export class ReaderCounters {
  dials = 0;
  fetches = 0;
  messages = 0;
  bytes = 0;
  rebalances = 0;
  stalls = 0;
  timeouts = 0;
  errors = 0;
  readonly dialTime = new Summary();
  readonly readTime = new Summary();
  readonly waitTime = new Summary();
  readonly fetchSize = new Summary();
  readonly fetchBytes = new Summary();

  take(): Pick<ReaderStats, 'dials' | 'fetches' | 'messages' | 'bytes' | 'rebalances' | 'stalls' | 'timeouts' | 'errors' | 'dialTime' | 'readTime' | 'waitTime' | 'fetchSize' | 'fetchBytes'> {
    const s = {
      dials: this.dials,
      fetches: this.fetches,
      messages: this.messages,
      bytes: this.bytes,
      rebalances: this.rebalances,
      stalls: this.stalls,
      timeouts: this.timeouts,
      errors: this.errors,
      dialTime: this.dialTime.take(),
      readTime: this.readTime.take(),
      waitTime: this.waitTime.take(),
      fetchSize: this.fetchSize.take(),
      fetchBytes: this.fetchBytes.take(),
    };
    this.dials = this.fetches = this.messages = this.bytes = this.rebalances = this.stalls = this.timeouts = this.errors = 0;
    return s;
  }
}
