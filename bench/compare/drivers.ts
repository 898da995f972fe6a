// Client-independent loops shared by every adapter, so each client is driven exactly alike: the
// produce pump (chunks of spec.chunk messages, spec.window calls outstanding), the consume counter,
// the fixed-rate e2e sender with its latency histogram, and the codec timing loop.
import type { BenchSpec, CodecRates, IdleCost, Latency, Throughput } from './types.ts';

/** The value every produced message carries: spec.valueBytes of printable bytes. */
export function benchValue(spec: BenchSpec): Buffer {
  const v = Buffer.alloc(spec.valueBytes);
  for (let i = 0; i < v.length; i++) v[i] = 97 + ((i * 7) % 26);
  return v;
}

/** Distinct keys of the keyed cases: message i carries `key-${i % KEYS}`. */
export const KEYS = 10_000;

/**
 * The messages of one send call, as the client wants them: `make(key, value)` builds one (key null unless
 * spec.keyed). `at(from, n)` gives messages from..from+n-1 of the run. With `reuse` the arrays are built
 * once per distinct (from mod KEYS, n) and handed out again (for clients that do not modify them), so
 * the keyed cases cost the driver no more than the null-key ones.
 */
export function messageSource<M>(spec: BenchSpec, make: (key: Buffer | null, value: Buffer) => M, reuse = true): (from: number, n: number) => M[] {
  const value = benchValue(spec);
  const keys = spec.keyed ? Array.from({ length: KEYS }, (_, i) => Buffer.from(`key-${i}`)) : null;
  const cache = new Map<string, M[]>();
  const build = (from: number, n: number): M[] => {
    const out = new Array<M>(n);
    for (let i = 0; i < n; i++) out[i] = make(keys ? keys[(from + i) % KEYS] : null, value);
    return out;
  };
  return (from, n) => {
    if (!reuse) return build(from, n);
    const k = `${keys ? from % KEYS : 0}:${n}`;
    let m = cache.get(k);
    if (!m) cache.set(k, (m = build(from, n)));
    return m;
  };
}

/** Calls in flight whose outcome the driver awaits later; the first failure is kept, not thrown at once. */
class Outstanding {
  private readonly calls = new Set<Promise<unknown>>();
  failure: unknown;
  get size(): number {
    return this.calls.size;
  }
  add(call: Promise<unknown>): void {
    const p: Promise<unknown> = call.then(
      () => this.calls.delete(p),
      (e) => {
        this.failure ??= e;
        this.calls.delete(p);
      },
    );
    this.calls.add(p);
  }
  race(): Promise<unknown> {
    return Promise.race(this.calls);
  }
  /** Waits for every call; throws the first failure. */
  async settle(): Promise<void> {
    await Promise.all(this.calls);
    if (this.failure !== undefined) throw this.failure;
  }
}

/**
 * Sends spec.messages in calls of spec.chunk messages, keeping spec.window calls outstanding.
 * `send(n, from)` must resolve once messages from..from+n-1 are acknowledged (acks=all).
 */
export async function pumpProduce(spec: BenchSpec, send: (n: number, from: number) => Promise<unknown>): Promise<Throughput> {
  const t0 = performance.now();
  let queued = 0;
  const outstanding = new Outstanding();
  while (queued < spec.messages && outstanding.failure === undefined) {
    const n = Math.min(spec.chunk, spec.messages - queued);
    const from = queued;
    queued += n;
    outstanding.add(send(n, from));
    if (outstanding.size >= spec.window) await outstanding.race();
  }
  await outstanding.settle();
  return { messages: queued, bytes: queued * spec.valueBytes, elapsedMs: performance.now() - t0 };
}

/** Writes spec.messages in transactions of spec.txnMessages, one after another: `txn(n)` sends n messages and commits. */
export async function pumpTransactions(spec: BenchSpec, txn: (n: number) => Promise<unknown>): Promise<Throughput> {
  const t0 = performance.now();
  let sent = 0;
  while (sent < spec.messages) {
    const n = Math.min(spec.txnMessages, spec.messages - sent);
    await txn(n);
    sent += n;
  }
  return { messages: sent, bytes: sent * spec.valueBytes, elapsedMs: performance.now() - t0 };
}

/** Counts consumed messages; resolves when spec.messages have arrived. Start the clock at the first call of start(). */
export class ConsumeCounter {
  private count = 0;
  private bytes = 0;
  private t0 = 0;
  private resolveDone!: (t: Throughput) => void;
  readonly done: Promise<Throughput>;
  constructor(private readonly spec: BenchSpec) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }
  /** Call right before the client starts fetching. */
  start(): void {
    this.t0 = performance.now();
  }
  /** Adds n messages of `bytes` value bytes; returns true once the target is reached. */
  add(n: number, bytes: number): boolean {
    if (this.count >= this.spec.messages) return true;
    this.count += n;
    this.bytes += bytes;
    if (this.count >= this.spec.messages) {
      this.resolveDone({ messages: this.count, bytes: this.bytes, elapsedMs: performance.now() - this.t0 });
      return true;
    }
    return false;
  }
}

/**
 * With spec.idleMs > 0: once a consumer has read everything, keeps it running (the caller does not stop
 * it) for spec.idleMs and measures the process's CPU time and memory over that window. Returns t with
 * the idle cost added; with idleMs 0, t as it is.
 */
export async function measureIdle(spec: BenchSpec, t: Throughput): Promise<Throughput> {
  if (!spec.idleMs) return t;
  // Let the last commits and fetch-session set-up settle before the window opens.
  await new Promise((r) => setTimeout(r, 2000));
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, spec.idleMs));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - w0;
  const mem = process.memoryUsage();
  const idle: IdleCost = { cpuMsPerSec: (cpu.user + cpu.system) / wall, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed };
  return { ...t, idle };
}

/** Mean ms per call of fn over spec.codecMs, after 3 warm-up calls (at least 5 calls timed). */
export async function msPerCall(ms: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  let n = 0;
  const t0 = performance.now();
  while (n < 5 || performance.now() - t0 < ms) {
    await fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across the process. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** A value of spec.valueBytes with the send time (float64 ms) in its first 8 bytes. */
export function stampedValue(spec: BenchSpec): Buffer {
  const v = benchValue(spec);
  v.writeDoubleBE(nowMs(), 0);
  return v;
}

/** Collects produce-to-consume latencies of messages sent after the warm-up. */
export class LatencyRecorder {
  private readonly samples: number[] = [];
  private measureFrom = Infinity;
  private measureTo = Infinity;
  /** Called by the consumer for every message value. */
  record(value: Uint8Array | Buffer | null | undefined): void {
    if (!value || value.length < 8) return;
    const sent = Buffer.from(value.buffer, value.byteOffset, value.length).readDoubleBE(0);
    if (sent < this.measureFrom || sent >= this.measureTo) return;
    this.samples.push(nowMs() - sent);
  }
  window(from: number, to: number): void {
    this.measureFrom = from;
    this.measureTo = to;
  }
  get received(): number {
    return this.samples.length;
  }
  result(): Latency {
    const s = Float64Array.from(this.samples).sort();
    const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN);
    return { count: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s.length ? s[s.length - 1] : NaN };
  }
}

/**
 * Sends at spec.rate messages/s in 10 ms ticks (rate/100 messages per tick) for warm-up + duration,
 * then waits until every measured message has been consumed (or 10 s). `send(values)` hands one tick's
 * messages to the client and must not be awaited for acks by the driver (the client's own batching decides).
 */
export async function fixedRateE2E(spec: BenchSpec, rec: LatencyRecorder, send: (values: Buffer[]) => Promise<unknown>): Promise<Latency> {
  const perTick = Math.max(1, Math.round(spec.rate / 100));
  const start = nowMs();
  const measureFrom = start + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  rec.window(measureFrom, end);
  let ticks = 0;
  let expected = 0;
  const pending = new Outstanding();
  while (nowMs() < end && pending.failure === undefined) {
    const values = Array.from({ length: perTick }, () => stampedValue(spec));
    // Counted per value with the recorder's own window: a tick may straddle either edge.
    for (const v of values) {
      const t = v.readDoubleBE(0);
      if (t >= measureFrom && t < end) expected++;
    }
    pending.add(send(values));
    ticks++;
    // Schedule against the start, not the last tick, so a slow tick does not lower the rate.
    const next = start + ticks * 10;
    const wait = next - nowMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await pending.settle();
  const giveUp = nowMs() + 10_000;
  while (rec.received < expected && nowMs() < giveUp) await new Promise((r) => setTimeout(r, 20));
  const r = rec.result();
  if (r.count < expected) throw new Error(`e2e: ${expected - r.count} of ${expected} measured messages never arrived`);
  return r;
}

/** Runs fn for spec.codecMs after a 300 ms warm-up; returns calls per second. */
export async function callsPerSecond(ms: number, fn: () => unknown): Promise<number> {
  const warm = performance.now() + 300;
  while (performance.now() < warm) await fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - t0);
}

/** encode/decode measured alike for every codec: a batch of spec.codecRecords values of spec.valueBytes. */
export async function codecRates(spec: BenchSpec, encode: () => unknown, decode: () => unknown): Promise<CodecRates> {
  const enc = await callsPerSecond(spec.codecMs, encode);
  const dec = await callsPerSecond(spec.codecMs, decode);
  return { encode: enc * spec.codecRecords, decode: dec * spec.codecRecords };
}
