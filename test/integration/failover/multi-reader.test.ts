// MultiReader over both local clusters: a merged read gets everything written to both, while each
// cluster in turn stops and restarts; messages say where they came from; per-cluster calls check their
// index.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../../src/client/client.ts';
import { KafkaError } from '../../../src/protocol/errors.ts';
import { FirstOffset } from '../../../src/client/reader/index.ts';
import { MultiReader, type MultiMessage } from '../../../src/multi/index.ts';
import { cluster, startCluster, stopCluster, uniqueTopic } from '../../helpers/kafka.ts';
import { produceRaw } from '../../helpers/produce.ts';

const A = cluster('a');
const B = cluster('b');
const td = new TextDecoder();

describe('MultiReader over clusters A and B', () => {
  const a = new Client({ brokers: A.bootstrap, retry: { attempts: 20, backoffMinMs: 200, backoffMaxMs: 1000 } });
  const b = new Client({ brokers: B.bootstrap, retry: { attempts: 20, backoffMinMs: 200, backoffMaxMs: 1000 } });
  const topic = uniqueTopic('multiread');

  before(async () => {
    await a.createTopics([{ topic, numPartitions: 1, replicationFactor: 3 }]);
    await b.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  /** Writes n records; right after a restart the leader may still move: retry retriable refusals. */
  async function write(c: Client, prefix: string, n: number): Promise<void> {
    const records = Array.from({ length: n }, (_, i) => ({ key: prefix, value: `${prefix}-${i}` }));
    for (let attempt = 1; ; attempt++) {
      try {
        await produceRaw(c, topic, 0, records);
        return;
      } catch (e) {
        if (!(e instanceof KafkaError && e.retriable) || attempt >= 40) throw e;
        c.cluster.invalidate();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async function readN(r: MultiReader, n: number, got: MultiMessage[], timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (got.length < n) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`read ${got.length} of ${n} messages`);
      got.push(...(await r.readMessage({ timeoutMs: left })));
    }
  }

  it('reads everything from both clusters while each in turn restarts', { timeout: 300_000 }, async () => {
    const cfg = (brokers: string[]) => ({
      brokers, topic, partition: 0, startOffset: FirstOffset, maxWaitMs: 200,
      connectTimeoutMs: 1000, requestTimeoutMs: 3000, readBackoffMaxMs: 500,
    });
    const r = new MultiReader([cfg(A.bootstrap), cfg(B.bootstrap)], { maxPerCluster: 10 });
    assert.throws(() => r.lag(2), RangeError);
    assert.throws(() => r.offset(-1), RangeError);
    const got: MultiMessage[] = [];
    try {
      await write(a, 'a1', 200);
      await write(b, 'b1', 200);
      // Fair merge: once both clusters have data buffered, every result carries both, 10 each at most.
      await new Promise((res) => setTimeout(res, 1500));
      const first = await r.readMessage({ timeoutMs: 5000 });
      assert.deepEqual([0, 1].map((c) => first.filter((m) => m.cluster === c).length), [10, 10]);
      got.push(...first);
      const per = [0, 0];
      while (got.length < 200) {
        const batch = await r.readMessage({ timeoutMs: 5000 });
        for (const c of [0, 1]) assert.ok(batch.filter((m) => m.cluster === c).length <= 10, 'at most maxPerCluster per cluster');
        for (const m of batch) per[m.cluster]++;
        got.push(...batch);
      }
      // Both clusters have 200 waiting: neither gets much more than half of the first 200.
      assert.ok(Math.abs(per[0] - per[1]) <= 40, `merge share ${per}`);
      await readN(r, 400, got);

      await stopCluster('b');
      await write(a, 'a2', 100);
      await readN(r, 500, got); // B down: A's messages keep coming
      await startCluster('b');
      await write(b, 'b2', 100);
      await readN(r, 600, got); // B back: reading from it resumes

      await stopCluster('a');
      await write(b, 'b3', 100);
      await readN(r, 700, got);
      await startCluster('a');
      await write(a, 'a3', 100);
      await readN(r, 800, got);

      const values = got.map((m) => `${m.cluster}:${td.decode(m.value!)}`);
      assert.equal(new Set(values).size, 800, 'no message twice');
      for (const [prefix, c, n] of [['a1', 0, 200], ['b1', 1, 200], ['a2', 0, 100], ['b2', 1, 100], ['b3', 1, 100], ['a3', 0, 100]] as const) {
        for (let i = 0; i < n; i++) assert.ok(values.includes(`${c}:${prefix}-${i}`), `${prefix}-${i} from cluster ${c}`);
      }
      // Per cluster, offsets arrive in order.
      for (const c of [0, 1]) {
        const offs = got.filter((m) => m.cluster === c).map((m) => m.offset);
        assert.deepEqual(offs, [...offs].sort((x, y) => (x < y ? -1 : 1)));
      }
      assert.equal(r.offset(0), 400n);
      assert.equal(r.offset(1), 400n);
      assert.equal(r.lag(0), 0n);
      assert.equal(await r.readLag(1), 0n);
      const total = r.aggregateStats();
      assert.ok(total.messages >= 800);
    } finally {
      await r.close();
    }
    await assert.rejects(r.readMessage(), (e: unknown) => (e as Error).name === 'ClosedError');
  });
});
