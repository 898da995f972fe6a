// Producer throughput of the Writer on cluster A (3 brokers, topic with RF 3, acks=all, idempotent):
// messages/s and MB/s of values for 100-byte and 1 KiB values, keyed, in two shapes: several sync
// writeMessages calls of 1,000 messages kept outstanding, and async mode (fire and forget with a
// completion callback). Needs the local clusters: `node scripts/kafka.mjs up`.
// Run: node --import tsx bench/writer.ts [seconds per case, default 8]
import { Client } from '../src/client/client.ts';
import { Writer, type WriterMessage } from '../src/client/writer/index.ts';
import { cluster, uniqueTopic } from '../test/helpers/kafka.ts';

const SECONDS = Number(process.argv[2] ?? 8);
const brokers = cluster('a').bootstrap;
const admin = new Client({ brokers, clientId: 'mka-bench-admin' });

interface Case {
  valueBytes: number;
  mode: 'sync' | 'async';
  compression?: 'none' | 'lz4';
}

async function run(c: Case): Promise<void> {
  const topic = uniqueTopic('bench-writer');
  await admin.createTopics([{ topic, numPartitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
  let completed = 0;
  let failed = 0;
  const w = new Writer({
    brokers,
    clientId: 'mka-bench',
    topic,
    requiredAcks: 'all',
    compression: c.compression ?? 'none',
    batchSize: 2000,
    batchBytes: 1024 * 1024,
    batchTimeoutMs: 5,
    async: c.mode === 'async',
    maxBufferedBytes: 32 * 1024 * 1024,
    completion: (msgs, err) => {
      completed += msgs.length;
      if (err) failed++;
    },
  });
  const value = new Uint8Array(c.valueBytes).fill(97);
  const chunk = (n: number, base: number): WriterMessage[] => Array.from({ length: n }, (_, i) => ({ key: `key-${(base + i) % 10_000}`, value }));
  await w.writeMessages(...chunk(100, 0)); // warm-up: metadata, producer id, connections
  w.stats();
  completed = 0;
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  let sent = 0;
  if (c.mode === 'sync') {
    const outstanding = new Set<Promise<unknown>>();
    while (performance.now() < deadline) {
      const p: Promise<unknown> = w.writeMessages(...chunk(1000, sent)).finally(() => outstanding.delete(p));
      outstanding.add(p);
      sent += 1000;
      if (outstanding.size >= 16) await Promise.race(outstanding);
    }
    await Promise.all(outstanding);
  } else {
    while (performance.now() < deadline) {
      await w.writeMessages(...chunk(1000, sent)); // returns once queued; waits only for buffer space
      sent += 1000;
    }
    await w.close();
  }
  const secs = (performance.now() - t0) / 1000;
  const s = w.stats();
  await w.close();
  const mps = s.messages / secs;
  console.log(
    `${String(c.valueBytes).padStart(5)} B values, ${c.mode.padEnd(5)} ${(c.compression ?? 'none').padEnd(4)}: ` +
      `${Math.round(mps).toLocaleString('en').padStart(9)} msg/s, ${((mps * c.valueBytes) / 1e6).toFixed(1).padStart(6)} MB/s of values, ` +
      `${((s.bytes / secs) / 1e6).toFixed(1).padStart(6)} MB/s on the wire; avg batch ${s.batchSize.avg.toFixed(0)} msgs, ` +
      `produce p-avg ${s.writeTime.avg.toFixed(1)} ms, ${s.writes} requests, errors ${s.errors + failed}`,
  );
  await admin.deleteTopics([topic]).catch(() => {});
}

console.log(`Writer throughput, cluster A (${brokers.join(',')}), 6 partitions RF 3, acks=all, idempotent, ${SECONDS} s per case, Node ${process.version}`);
for (const c of [
  { valueBytes: 100, mode: 'sync' },
  { valueBytes: 100, mode: 'async' },
  { valueBytes: 1024, mode: 'sync' },
  { valueBytes: 1024, mode: 'async' },
  { valueBytes: 1024, mode: 'async', compression: 'lz4' },
] as Case[]) {
  await run(c);
}
await admin.close();
