// What the telemetry seam costs: Writer and Reader on cluster A with nobody listening, with one
// diagnostics_channel subscriber on every event kind, and with the Prometheus adapter fed from the
// seam. Each run reports throughput and the client process's CPU time per message (user + system; the
// brokers are other processes): on a shared, loaded machine the CPU figure is the steadier of the two.
// Modes interleave round after round so that load drifts evenly over them; medians are reported.
// Two batch shapes each: the usual (large batches and fetches) and a small one that makes an event
// every 10 messages (writer batches of 10; 16 KiB fetches), to show the seam above the noise.
// First, without a broker: the cost of one request event at a call site (nothing listening, one
// subscriber, the Prometheus adapter), from a tight loop, which the load of the machine hardly moves.
// Run: node --import tsx bench/telemetry.ts [rounds, default 3] [seconds per writer run, default 4]
//      node --import tsx bench/telemetry.ts micro   (the per-event cost only; no broker needed)
import { Client } from '../src/client/client.ts';
import { Reader, Writer, subscribeTelemetry, type TelemetryHooks } from '../src/index.ts';
import { PrometheusMetrics } from '../src/adapters/prometheus.ts';
import { Telemetry } from '../src/client/telemetry/telemetry.ts';
import { cluster, uniqueTopic } from '../test/helpers/kafka.ts';

const MICRO_ONLY = process.argv[2] === 'micro';
const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 4);
const READ_COUNT = 200_000;

type Mode = 'none' | 'subscriber' | 'prometheus';
const MODES: Mode[] = ['none', 'subscriber', 'prometheus'];
let events = 0;
const counting: TelemetryHooks = {
  onConnection: () => void events++,
  onRequest: () => void events++,
  onProduce: () => void events++,
  onFetch: () => void events++,
  onRebalance: () => void events++,
  onHealthChange: () => void events++,
  onFailover: () => void events++,
};
function listen(mode: Mode): () => void {
  if (mode === 'none') return () => {};
  return subscribeTelemetry(mode === 'subscriber' ? counting : new PrometheusMetrics().hooks);
}

interface Result {
  rate: number;
  /** Client CPU µs per message. */
  cpu: number;
  /** Events the counting subscriber got per message (0 in the other modes). */
  events: number;
}

async function measure(work: () => Promise<number>): Promise<Result> {
  const e0 = events;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await work();
  const secs = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { rate: n / secs, cpu: (c.user + c.system) / n, events: (events - e0) / n };
}

const value = new Uint8Array(100).fill(97);

async function writeRun(topic: string, batchSize: number): Promise<Result> {
  const w = new Writer({ brokers, topic, clientId: 'mka-bench', batchSize, batchTimeoutMs: 5, maxBufferedBytes: 32 * 1024 * 1024 });
  const chunk = (n: number, base: number) => Array.from({ length: n }, (_, i) => ({ key: `key-${(base + i) % 10_000}`, value }));
  await w.writeMessages(...chunk(100, 0));
  const r = await measure(async () => {
    const deadline = performance.now() + SECONDS * 1000;
    let sent = 0;
    const outstanding = new Set<Promise<unknown>>();
    while (performance.now() < deadline) {
      const p: Promise<unknown> = w.writeMessages(...chunk(1000, sent)).finally(() => outstanding.delete(p));
      outstanding.add(p);
      sent += 1000;
      if (outstanding.size >= 16) await Promise.race(outstanding);
    }
    await Promise.all(outstanding);
    return sent;
  });
  await w.close();
  return r;
}

async function readRun(topic: string, maxBytes: number | undefined): Promise<Result> {
  const r = new Reader({ brokers, topic, partition: 0, ...(maxBytes ? { maxBytes } : {}) });
  await r.fetchMessage({ timeoutMs: 30_000 });
  const res = await measure(async () => {
    for (let i = 1; i < READ_COUNT; i++) await r.fetchMessage({ timeoutMs: 30_000 });
    return READ_COUNT - 1;
  });
  await r.close();
  return res;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ns per request event at the call site, as connection.ts emits it. */
function micro(mode: Mode): number {
  const tel = new Telemetry('bench');
  const off = listen(mode);
  const n = mode === 'none' ? 20_000_000 : 2_000_000;
  const samples: number[] = [];
  try {
    for (let s = 0; s < 5; s++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        if (tel.request.on) {
          tel.request.emit({ apiKey: 0, api: 'Produce', version: 11, broker: '127.0.0.1:9092', ms: i & 15, requestBytes: 1000, responseBytes: 60, errorCode: 0, error: undefined });
        }
      }
      samples.push(((performance.now() - t0) * 1e6) / n);
    }
  } finally {
    off();
  }
  return median(samples);
}

for (const mode of MODES) console.log(`one request event, ${mode.padEnd(10)}: ${micro(mode).toFixed(1)} ns`);
if (MICRO_ONLY) process.exit(0);

const brokers = cluster('a').bootstrap;
const admin = new Client({ brokers, clientId: 'mka-bench-admin' });

try {
  const wTopic = uniqueTopic('bench-tel-w');
  const rTopic = uniqueTopic('bench-tel-r');
  await admin.createTopics([
    { topic: wTopic, numPartitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
    { topic: rTopic, numPartitions: 1, replicationFactor: 3 },
  ]);
  const filler = new Writer({ brokers, topic: rTopic, batchSize: 2000 });
  for (let i = 0; i < READ_COUNT; i += 1000) await filler.writeMessages(...Array.from({ length: 1000 }, () => ({ value })));
  await filler.close();
  const cases: [string, () => Promise<Result>][] = [
    ['writer, batches of 2000', () => writeRun(wTopic, 2000)],
    ['writer, batches of 10', () => writeRun(wTopic, 10)],
    ['reader, 50 MiB fetches', () => readRun(rTopic, undefined)],
    ['reader, 16 KiB fetches', () => readRun(rTopic, 16 * 1024)],
  ];
  const results = new Map<string, Result[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of [...MODES.slice(round % 3), ...MODES.slice(0, round % 3)]) {
      const off = listen(mode);
      try {
        for (const [name, run] of cases) {
          const k = `${name}\u0000${mode}`;
          results.set(k, [...(results.get(k) ?? []), await run()]);
        }
      } finally {
        off();
      }
    }
  }
  console.log(`cluster A; ${ROUNDS} rounds; 100-byte values; writer: 16 × 1000-message calls outstanding for ${SECONDS} s; reader: ${READ_COUNT.toLocaleString('en')} messages of one partition`);
  for (const [name] of cases) {
    const base = results.get(`${name}\u0000none`)!;
    const [bRate, bCpu] = [median(base.map((r) => r.rate)), median(base.map((r) => r.cpu))];
    for (const mode of MODES) {
      const rs = results.get(`${name}\u0000${mode}`)!;
      const rate = median(rs.map((r) => r.rate));
      const cpu = median(rs.map((r) => r.cpu));
      const rel = (x: number, b: number) => `${x >= b ? '+' : ''}${(((x - b) / b) * 100).toFixed(1)} %`;
      const ev = mode === 'subscriber' ? `  ${median(rs.map((r) => r.events)).toFixed(4)} events/msg` : '';
      console.log(
        `${name.padEnd(24)} ${mode.padEnd(10)} ${Math.round(rate).toLocaleString('en').padStart(9)} msg/s (${rel(rate, bRate).padStart(8)})  ` +
          `${cpu.toFixed(2).padStart(6)} µs CPU/msg (${rel(cpu, bCpu).padStart(8)})${ev}`,
      );
    }
  }
  await admin.deleteTopics([wTopic, rTopic]).catch(() => {});
} finally {
  await admin.close();
}
