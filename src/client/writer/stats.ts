// Snapshot-and-reset counters with the fields of kafka-go's WriterStats. Durations in milliseconds.

export interface DurationStats {
  avg: number;
  min: number;
  max: number;
  count: number;
  sum: number;
}

export type SummaryStats = DurationStats;

export interface WriterStats {
  /** Produce requests sent. */
  writes: number;
  messages: number;
  bytes: number;
  errors: number;
  retries: number;
  dials: number;
  /** Time from a batch's first message to the batch being ready (the linger, or full, or flushed). */
  batchTime: DurationStats;
  /**
   * Time from a batch being ready to its Produce request: waiting behind the in-flight limit (while
   * the batch keeps growing), for a connection or a producer id, and encoding.
   */
  batchQueueTime: DurationStats;
  /** Produce round trips. */
  writeTime: DurationStats;
  /** Time writeMessages calls waited for buffer space (backpressure). */
  waitTime: DurationStats;
  batchSize: SummaryStats;
  batchBytes: SummaryStats;
  maxAttempts: number;
  writeBackoffMin: number;
  writeBackoffMax: number;
  maxBatchSize: number;
  maxBatchBytes: number;
  batchTimeout: number;
  writeTimeout: number;
  requiredAcks: number;
  async: boolean;
  idempotent: boolean;
  compression: string;
  topic: string;
  clientId: string;
}

export class Summary {
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  observe(v: number): void {
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** The summary so far, then starts afresh. */
  take(): SummaryStats {
    const s = this.count
      ? { avg: this.sum / this.count, min: this.min, max: this.max, count: this.count, sum: this.sum }
      : { avg: 0, min: 0, max: 0, count: 0, sum: 0 };
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    return s;
  }
}

/** The Writer's live counters and summaries, shared by its parts; `take` snapshots and resets them. */
export class WriterMeter {
  readonly counters = { writes: 0, messages: 0, bytes: 0, errors: 0, retries: 0, dials: 0 };
  readonly batchTime = new Summary();
  readonly batchQueueTime = new Summary();
  readonly writeTime = new Summary();
  readonly waitTime = new Summary();
  readonly batchSize = new Summary();
  readonly batchBytes = new Summary();

  take(): Pick<WriterStats, 'writes' | 'messages' | 'bytes' | 'errors' | 'retries' | 'dials' | 'batchTime' | 'batchQueueTime' | 'writeTime' | 'waitTime' | 'batchSize' | 'batchBytes'> {
    const c = { ...this.counters };
    for (const k of Object.keys(this.counters) as (keyof typeof this.counters)[]) this.counters[k] = 0;
    return {
      ...c,
      batchTime: this.batchTime.take(),
      batchQueueTime: this.batchQueueTime.take(),
      writeTime: this.writeTime.take(),
      waitTime: this.waitTime.take(),
      batchSize: this.batchSize.take(),
      batchBytes: this.batchBytes.take(),
    };
  }
}
