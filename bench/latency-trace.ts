// Where the end-to-end latency tail comes from: the bench's e2e case (10,000 msg/s of 100 B, linger 0,
// acks all, one partition of cluster B, a group Reader in the same process), with every message's life
// cut into stages from the telemetry seam, and GC pauses and event-loop lateness recorded alongside.
//   node --import tsx bench/latency-trace.ts [--seconds 20] [--rate 10000] [--profile FILE.cpuprofile] [--broker-gc FILE]
// (--profile: a CPU profile of the measured seconds only, sampled every 100 µs; --broker-gc: the broker
// JVM's GC log, turned on with `jcmd PID VM.log output=FILE what=gc decorators=time`, so the broker's
// pauses are matched with the slow messages too)
// A message's stages: queued (send call to its Produce request leaving), produce (request to ack),
// fetched (request leaving to the fetch that carried it decoded, measured from the later of the two
// starts), delivered (decoded to fetchMessage returning it). Prints each stage's share of the slow
// messages (≥ p99 and ≥ p99.9) against all, and how many slow ones overlap a GC pause or a loop stall.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client } from '../src/client/client.ts';
import { Reader } from '../src/client/reader/index.ts';
import { Writer } from '../src/client/writer/index.ts';
import { cluster } from '../test/helpers/kafka.ts';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '10000' },
    profile: { type: 'string' },
    'broker-gc': { type: 'string' },
  },
});
const seconds = Number(opt.seconds);
const rate = Number(opt.rate);
const now = () => performance.now();

const brokers = cluster('b').bootstrap;
const topic = `latency-trace-${Date.now()}`;
const admin = new Client({ brokers });
await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
await admin.close();

// Produce requests by the offsets they carried: [sentAt, ackedAt, base, count].
const produces: [number, number, number, number][] = [];
// Fetches in delivery order: [sentAt, decodedAt, records].
const fetches: [number, number, number][] = [];
const gcs: [number, number, number][] = [];
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcs.push([e.startTime, e.startTime + e.duration, (e as { detail?: { kind?: number } }).detail?.kind ?? 0]);
}).observe({ entryTypes: ['gc'] });
// Loop stalls: a 1 ms ticker's lateness beyond 3 ms.
// With the process's CPU time over the stall: near the stall's length means work on this thread (or
// GC), near 0 means the process was not scheduled (the machine's other work, the broker included).
const stalls: [number, number, number][] = [];
let lastTick = now();
let lastCpu = process.cpuUsage();
const ticker = setInterval(() => {
  const t = now();
  const cpu = process.cpuUsage();
  if (t - lastTick > 4) stalls.push([lastTick + 1, t, (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000]);
  lastTick = t;
  lastCpu = cpu;
}, 1);
const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();

const w = new Writer({
  brokers, topic, clientId: 'trace', requiredAcks: 'all', idempotent: false, batchTimeoutMs: 0, batchSize: 1_000_000,
  telemetry: { onProduce: (e) => { const t = now(); produces.push([t - e.ms, t, Number(e.baseOffset), e.records]); } },
});
await w.writeMessages({ value: Buffer.alloc(0) });
const r = new Reader({
  brokers, topic, groupId: `${topic}-g`, clientId: 'trace', minBytes: 1, maxWaitMs: 500, commitIntervalMs: 5000,
  telemetry: { onFetch: (e) => { if (e.records) { const t = now(); fetches.push([t - e.ms, t, e.records]); } } },
});

// Per message: stamp (send call), delivered, offset.
const stamp: number[] = [];
const delivered: number[] = [];
const offsets: number[] = [];
let open = true;
let warm = false;
const loop = (async () => {
  while (open) {
    const m = await r.fetchMessage({ timeoutMs: 1000 }).catch(() => null);
    if (!m) continue;
    if (!m.value?.length) { warm = true; continue; }
    stamp.push(Buffer.from(m.value.buffer, m.value.byteOffset, 8).readDoubleBE(0));
    delivered.push(now());
    offsets.push(Number(m.offset));
  }
})();
while (!warm) await new Promise((res) => setTimeout(res, 10));

const perTick = Math.round(rate / 100);
const start = now();
const warmupEnd = start + 3000;
const end = warmupEnd + seconds * 1000;
let ticks = 0;
let sent = 0;
const inspector = opt.profile ? new Session() : undefined;
let profiling = false;
while (now() < end) {
  if (inspector && !profiling && now() >= warmupEnd) {
    profiling = true;
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await inspector.post('Profiler.start');
  }
  const msgs = [];
  for (let i = 0; i < perTick; i++) {
    const v = Buffer.alloc(100);
    v.writeDoubleBE(now(), 0);
    msgs.push({ value: v });
  }
  void w.writeMessages(...msgs);
  sent += perTick;
  ticks++;
  const wait = start + ticks * 10 - now();
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}
while (delivered.length < sent && now() < end + 10_000) await new Promise((res) => setTimeout(res, 20));
if (inspector && opt.profile) writeFileSync(opt.profile, JSON.stringify((await inspector.post('Profiler.stop')).profile));
open = false;
await loop;
clearInterval(ticker);
eld.disable();
await Promise.all([w.close(), r.close()]);

// The broker's pauses, on this process's clock: a unified-logging line is written as its pause ends,
// e.g. "[2026-11-29T17:50:01.123+0000] GC(12) Pause Young (Normal) (G1 Evacuation Pause) 60M->10M(128M) 8.123ms".
const brokerGcs: [number, number][] = [];
if (opt['broker-gc']) {
  for (const line of readFileSync(opt['broker-gc'], 'utf8').split('\n')) {
    const m = /^\[([^\]]+)\].*Pause.* ([\d.]+)ms$/.exec(line);
    if (!m) continue;
    const endAt = Date.parse(m[1].replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) - performance.timeOrigin;
    brokerGcs.push([endAt - Number(m[2]), endAt]);
  }
  const inRun = brokerGcs.filter(([, b]) => b > warmupEnd && b < end + 1000);
  console.log(`broker GC pauses in the run: ${inRun.length}, ${inRun.map(([a, b]) => (b - a).toFixed(1)).join(', ')} ms`);
}

// The fetch of the k-th delivered message: fetches in order, each carrying `records` of them (the
// warm-up message first).
type Row = { lat: number; queued: number; produce: number; fetched: number; delivered: number; gc: boolean; stall: boolean; brokerGc: boolean };
const rows: Row[] = [];
let fi = 0;
let fEnd = fetches.length ? fetches[0][2] : 0;
let pi = 0;
for (let k = 0; k < stamp.length; k++) {
  const ord = k + 1; // the warm-up message was delivered first
  while (fi < fetches.length - 1 && ord >= fEnd) fEnd += fetches[++fi][2];
  const o = offsets[k];
  while (pi < produces.length - 1 && produces[pi][2] + produces[pi][3] <= o) pi++;
  if (stamp[k] < warmupEnd) continue;
  const [pSent, pAck] = produces[pi];
  const [fSent, fDone] = fetches[fi];
  const from = stamp[k];
  const to = delivered[k];
  const overlaps = (xs: [number, number, ...number[]][]) => xs.some(([a, b]) => b > from && a < to);
  rows.push({
    lat: to - from,
    queued: pSent - from,
    produce: pAck - pSent,
    fetched: fDone - Math.max(fSent, pSent),
    delivered: to - fDone,
    gc: overlaps(gcs),
    stall: overlaps(stalls),
    brokerGc: overlaps(brokerGcs),
  });
}
rows.sort((a, b) => a.lat - b.lat);
const q = (p: number) => rows[Math.min(rows.length - 1, Math.floor(p * rows.length))].lat;
const mean = (xs: Row[], f: (r: Row) => number) => xs.reduce((s, r) => s + f(r), 0) / Math.max(1, xs.length);
const pct = (xs: Row[], f: (r: Row) => boolean) => `${((100 * xs.filter(f).length) / Math.max(1, xs.length)).toFixed(0)}%`;
console.log(`${rows.length} messages measured; p50 ${q(0.5).toFixed(2)} p99 ${q(0.99).toFixed(2)} p99.9 ${q(0.999).toFixed(2)} max ${rows[rows.length - 1].lat.toFixed(2)} ms`);
const kinds = new Map<number, number[]>();
for (const [a, b, k] of gcs) kinds.set(k, [...(kinds.get(k) ?? []), b - a]);
// perf_hooks constants: 1 minor (scavenge), 2 major (mark-compact), 4 incremental marking, 8 weak callbacks.
console.log(`GC by kind: ${[...kinds].map(([k, ds]) => `${k}: ${ds.length}× total ${ds.reduce((s, d) => s + d, 0).toFixed(0)} ms, longest ${Math.max(...ds).toFixed(1)}`).join('; ')}`);
console.log(`GC: ${gcs.length} pauses, longest ${Math.max(0, ...gcs.map(([a, b]) => b - a)).toFixed(1)} ms; loop stalls > 3 ms: ${stalls.length}, longest ${Math.max(0, ...stalls.map(([a, b]) => b - a)).toFixed(1)} ms; loop delay p99 ${(eld.percentile(99) / 1e6).toFixed(1)} ms`);
const busy = stalls.filter(([a, b, cpu]) => cpu >= 0.5 * (b - a));
console.log(`stalls with CPU ≥ half their length (work in this process): ${busy.length} of ${stalls.length}; total stall ${stalls.reduce((s, [a, b]) => s + b - a, 0).toFixed(0)} ms, CPU in them ${stalls.reduce((s, x) => s + x[2], 0).toFixed(0)} ms`);
console.log(`produce requests ${produces.length} (${(sent / produces.length).toFixed(1)} msg each), fetches ${fetches.length} (${(sent / fetches.length).toFixed(1)} msg each)`);
console.log('| messages | n | latency | queued | produce | fetched | delivered | overlap GC | overlap stall | overlap broker GC |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, xs] of [['all', rows], ['≥ p99', rows.filter((r) => r.lat >= q(0.99))], ['≥ p99.9', rows.filter((r) => r.lat >= q(0.999))]] as const) {
  console.log(`| ${name} | ${xs.length} | ${mean(xs, (r) => r.lat).toFixed(2)} | ${mean(xs, (r) => r.queued).toFixed(2)} | ${mean(xs, (r) => r.produce).toFixed(2)} | ${mean(xs, (r) => r.fetched).toFixed(2)} | ${mean(xs, (r) => r.delivered).toFixed(2)} | ${pct(xs, (r) => r.gc)} | ${pct(xs, (r) => r.stall)} | ${opt['broker-gc'] ? pct(xs, (r) => r.brokerGc) : '—'} |`);
}
