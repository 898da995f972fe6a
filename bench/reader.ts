// Consumer benchmarks of the Reader on cluster B (1 broker). Topics are filled with raw Produce
// requests of 512 KiB batches (not the Writer, so the figures are the Reader's alone).
//   throughput: messages/s and MB/s of values, 100-byte and 1 KiB values; a partition Reader on one
//               partition and a group Reader on six.
//   memory:     a slow reader on a large topic: RSS and heap sampled while it reads at ~2 MB/s, then
//               while it drains the rest at full speed; flat means the bounded queue holds.
// Run: node --import tsx bench/reader.ts throughput [MB per case, default 100]
//      node --import tsx bench/reader.ts memory [MB, default 200] [slow seconds, default 20]
import { Client } from '../src/client/client.ts';
import { Api } from '../src/protocol/messages/index.ts';
import { encodeRecordBatch } from '../src/protocol/records/index.ts';
import { KafkaError, throwIfError } from '../src/protocol/errors.ts';
import { Reader, type ReaderConfig } from '../src/client/reader/index.ts';
import { cluster, uniqueTopic } from '../test/helpers/kafka.ts';

const brokers = cluster('b').bootstrap;
const admin = new Client({ brokers, clientId: 'mka-bench-admin' });
const MB = 1024 * 1024;

/** Writes `totalBytes` of values of `valueBytes` each, round robin over the partitions, in 512 KiB batches. */
async function fill(topic: string, partitions: number, valueBytes: number, totalBytes: number): Promise<number> {
  const perBatch = Math.max(1, Math.floor((MB / 2) / (valueBytes + 10))); // under the broker's 1 MiB max.message.bytes
  const value = new Uint8Array(valueBytes).fill(97);
  const batch = await encodeRecordBatch(Array.from({ length: perBatch }, () => ({ value })));
  const batches = Math.ceil(totalBytes / (perBatch * valueBytes));
  const conn = await admin.cluster.leaderConnection(topic, 0, 'admin');
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < batches; i++) {
    const send = async (attempt: number): Promise<void> => {
      const res = await conn.request(Api.Produce, { acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: i % partitions, records: batch }] }] });
      try {
        throwIfError(res.responses[0].partitionResponses[0].errorCode);
      } catch (e) {
        // A topic just created takes a moment before its leader accepts writes.
        if (!(e instanceof KafkaError && e.retriable) || attempt > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
        return send(attempt + 1);
      }
    };
    const p: Promise<void> = send(1).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 4) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return batches * perBatch;
}

async function topicWith(partitions: number, valueBytes: number, totalBytes: number): Promise<{ topic: string; count: number }> {
  const topic = uniqueTopic('bench-reader');
  await admin.createTopics([{ topic, numPartitions: partitions }]);
  const t0 = performance.now();
  const count = await fill(topic, partitions, valueBytes, totalBytes);
  console.log(`  filled ${topic}: ${count} × ${valueBytes} B in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { topic, count };
}

async function drain(r: Reader, count: number): Promise<{ secs: number; bytes: number }> {
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) bytes += (await r.fetchMessage({ timeoutMs: 30_000 })).value?.length ?? 0;
  return { secs: (performance.now() - t0) / 1000, bytes };
}

async function throughput(mb: number): Promise<void> {
  for (const valueBytes of [100, 1024]) {
    for (const mode of ['partition', 'group'] as const) {
      const partitions = mode === 'partition' ? 1 : 6;
      const { topic, count } = await topicWith(partitions, valueBytes, mb * MB);
      const cfg: ReaderConfig =
        mode === 'partition' ? { brokers, topic, partition: 0 } : { brokers, topic, groupId: uniqueTopic('bench-g'), commitIntervalMs: 1000 };
      const r = new Reader(cfg);
      const { secs, bytes } = await drain(r, count);
      const s = r.stats();
      console.log(
        `value ${String(valueBytes).padStart(4)} B, ${mode.padEnd(9)}: ${Math.round(count / secs).toLocaleString('en')} msg/s, ${(bytes / MB / secs).toFixed(1)} MB/s ` +
          `(${count} messages in ${secs.toFixed(2)} s; ${s.fetches} fetches, avg ${Math.round(s.fetchSize.avg)} msg/fetch)`,
      );
      await r.close();
      await admin.deleteTopics([topic]).catch(() => {});
    }
  }
}

function mem(): { rss: number; heap: number; ext: number } {
  const m = process.memoryUsage();
  return { rss: m.rss / MB, heap: m.heapUsed / MB, ext: (m.external + m.arrayBuffers) / MB };
}

async function memory(mb: number, slowSecs: number): Promise<void> {
  const valueBytes = 1024;
  const { topic, count } = await topicWith(1, valueBytes, mb * MB);
  globalThis.gc?.();
  const base = mem();
  const r = new Reader({ brokers, topic, queueCapacity: 1000, queueBytes: 16 * MB });
  const samples: { t: number; rss: number; heap: number; ext: number; q: number }[] = [];
  const t0 = performance.now();
  const sampler = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, ...mem(), q: r.stats().queueLength }), 250);
  let read = 0;
  // Slow phase: 20 messages every 10 ms, about 2 MB/s.
  while (performance.now() - t0 < slowSecs * 1000 && read < count) {
    for (let i = 0; i < 20 && read < count; i++, read++) await r.fetchMessage({ timeoutMs: 30_000 });
    await new Promise((res) => setTimeout(res, 10));
  }
  const slowEnd = samples.length;
  const slowRead = read;
  const t1 = performance.now();
  while (read < count) {
    await r.fetchMessage({ timeoutMs: 30_000 });
    read++;
  }
  const fastSecs = (performance.now() - t1) / 1000;
  clearInterval(sampler);
  await r.close();
  await admin.deleteTopics([topic]).catch(() => {});
  const slow = samples.slice(4, slowEnd); // after the first second
  const fast = samples.slice(slowEnd);
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} MB`;
  console.log(`topic ${mb} MB (${count} × 1 KiB); baseline RSS ${base.rss.toFixed(0)} MB, heap ${base.heap.toFixed(0)} MB`);
  console.log(`slow phase (${slowSecs} s, ${slowRead} messages): RSS ${range(slow.map((s) => s.rss))}, heap ${range(slow.map((s) => s.heap))}, buffers ${range(slow.map((s) => s.ext))}, queue max ${Math.max(...slow.map((s) => s.q))}`);
  if (fast.length) {
    console.log(`fast phase (${count - slowRead} messages in ${fastSecs.toFixed(1)} s): RSS ${range(fast.map((s) => s.rss))}, heap ${range(fast.map((s) => s.heap))}, buffers ${range(fast.map((s) => s.ext))}`);
  }
}

const [mode = 'throughput', a, b] = process.argv.slice(2);
try {
  if (mode === 'memory') await memory(Number(a ?? 200), Number(b ?? 20));
  else await throughput(Number(a ?? 100));
} finally {
  await admin.close();
}
