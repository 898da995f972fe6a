// A slow broker: cluster B behind a proxy that holds every answer 100 ms (test/helpers/slow-proxy.ts).
// A Writer with default settings at ~300 messages/s, open loop (3 messages per call every 10 ms, none
// awaited before the next), for 5 s: batches grow while the partition waits behind its in-flight
// limit, instead of queueing, so p50 call latency stays within 3 round trips. Everything is written.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { Writer } from '../../src/client/writer/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { startSlowProxy, type SlowProxy } from '../helpers/slow-proxy.ts';

const DELAY = 100;
const SECONDS = 5;

describe('Writer against a slow broker (cluster B behind a 100 ms proxy)', () => {
  let client: Client;
  let proxy: SlowProxy;
  const topic = uniqueTopic('writer-slow');

  before(async () => {
    client = new Client({ brokers: cluster('b').bootstrap, clientId: 'mka-writer-slow-admin' });
    await client.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    proxy = await startSlowProxy(cluster('b').bootstrap[0], DELAY);
  });
  after(async () => {
    await proxy?.close();
    await client.deleteTopics([topic], { ifExists: true }).catch(() => {});
    await client.close();
  });

  it('batches grow; p50 latency within 3 round trips; every message written once', { timeout: 60_000 }, async () => {
    const w = new Writer({ brokers: [proxy.address], clientId: 'mka-writer-slow', topic });
    try {
      const t0 = performance.now();
      await w.writeMessages({ value: 'warm-up' });
      const warmup = performance.now() - t0;
      assert.ok(warmup >= DELAY, `warm-up took ${warmup.toFixed(0)} ms: the proxy is in the path`);
      w.stats();
      const latencies: number[] = [];
      const calls: Promise<void>[] = [];
      const start = performance.now();
      for (let i = 0; performance.now() - start < SECONDS * 1000; i++) {
        const c0 = performance.now();
        const msgs = [0, 1, 2].map((j) => ({ value: `m${i}-${j}` }));
        calls.push(w.writeMessages(...msgs).then(() => void latencies.push(performance.now() - c0)));
        // Open loop on a schedule: call i is due at start + 10 i ms, however long the others take.
        const due = start + (i + 1) * 10 - performance.now();
        await new Promise((r) => setTimeout(r, Math.max(0, due)));
      }
      await Promise.all(calls);
      const s = w.stats();
      latencies.sort((a, b) => a - b);
      const p50 = latencies[Math.floor(latencies.length / 2)];
      const p99 = latencies[Math.floor(latencies.length * 0.99)];
      const rtt = s.writeTime.avg;
      const perBatch = s.batchSize.avg;
      console.log(
        `${latencies.length} calls (${s.messages} messages, ${(s.messages / SECONDS).toFixed(0)}/s): ${s.writes} produce requests, ` +
          `${perBatch.toFixed(1)} messages per batch (max ${s.batchSize.max}); produce round trip avg ${rtt.toFixed(0)} ms; ` +
          `call latency p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${latencies[latencies.length - 1].toFixed(0)} ms`,
      );
      assert.equal(s.messages, latencies.length * 3);
      assert.ok(rtt >= DELAY, `round trip ${rtt.toFixed(0)} ms: the proxy holds every answer ${DELAY} ms`);
      assert.ok(perBatch > 4, `${perBatch.toFixed(1)} messages per batch: batches must grow while the partition waits`);
      assert.ok(p50 <= 3 * rtt, `p50 ${p50.toFixed(0)} ms > 3 × round trip (${rtt.toFixed(0)} ms)`);
      const end = await client.listOffsets(topic, 'latest');
      assert.equal(end.get(0)!.offset, BigInt(1 + latencies.length * 3), 'every message written exactly once');
    } finally {
      await w.close();
    }
  });
});
