// The telemetry seam against the real clusters: one subscriber on the diagnostics channels sees every
// event kind that the work implies: connections (open, close, a dial that fails), requests, produce
// batches, fetches, a group rebalance when a second member joins, and a MultiWriter's health change,
// failover and fail-back when cluster B is stopped and started. Runs with the failover tests: it
// stops cluster B.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Client,
  MultiWriter,
  Reader,
  RWMode,
  Writer,
  subscribeTelemetry,
  type ConnectionEvent,
  type FailoverEvent,
  type FetchEvent,
  type HealthChangeEvent,
  type ProduceBatchEvent,
  type RebalanceEvent,
  type RequestEvent,
} from '../../../src/index.ts';
import { fastFailingWriter } from '../../helpers/failover.ts';
import { cluster, startCluster, stopCluster, uniqueTopic } from '../../helpers/kafka.ts';
import { until } from '../../helpers/reader-loop.ts';

const A = cluster('a');
const B = cluster('b');

const seen = {
  connection: [] as ConnectionEvent[],
  request: [] as RequestEvent[],
  produce: [] as ProduceBatchEvent[],
  fetch: [] as FetchEvent[],
  rebalance: [] as RebalanceEvent[],
  health: [] as HealthChangeEvent[],
  failover: [] as FailoverEvent[],
};

describe('telemetry against the real clusters', () => {
  let off: () => void;
  const a = new Client({ brokers: A.bootstrap, name: 'admin-a' });
  const b = new Client({ brokers: B.bootstrap, name: 'admin-b' });
  const topic = uniqueTopic('tel');

  before(async () => {
    off = subscribeTelemetry({
      onConnection: (e) => seen.connection.push(e),
      onRequest: (e) => seen.request.push(e),
      onProduce: (e) => seen.produce.push(e),
      onFetch: (e) => seen.fetch.push(e),
      onRebalance: (e) => seen.rebalance.push(e),
      onHealthChange: (e) => seen.health.push(e),
      onFailover: (e) => seen.failover.push(e),
    });
    await a.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]);
    await b.createTopics([{ topic, numPartitions: 3, replicationFactor: 1 }]);
  });
  after(async () => {
    off();
    await a.close();
    await b.close();
  });

  it('connections, requests, produce batches, fetches and a rebalance on cluster A', { timeout: 120_000 }, async () => {
    const w = new Writer({ brokers: A.bootstrap, topic, name: 'w' });
    const results = await w.writeMessages(...Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    await w.close();
    const mine = seen.produce.filter((e) => e.client === 'w');
    assert.equal(mine.reduce((n, e) => n + e.records, 0), 60, 'every record in a batch event');
    for (const e of mine) {
      assert.equal(e.topic, topic);
      assert.ok(e.bytes > 0 && e.ms >= 0 && e.baseOffset >= 0n && e.error === undefined);
      const firstOfBatch = results.find((r) => r.partition === e.partition && r.offset === e.baseOffset);
      assert.ok(firstOfBatch, `batch base offset ${e.partition}/${e.baseOffset} is a written message's offset`);
    }
    const produces = seen.request.filter((e) => e.client === 'w' && e.api === 'Produce');
    assert.ok(produces.length >= 1 && produces.every((e) => e.apiKey === 0 && e.version >= 3 && e.requestBytes > 0 && e.responseBytes > 0 && e.errorCode === 0));
    assert.ok(seen.request.some((e) => e.client === 'w' && e.api === 'InitProducerId'));
    assert.ok(seen.connection.some((e) => e.client === 'w' && e.type === 'open' && A.bootstrap.some((x) => x.split(':')[1] === e.broker.split(':')[1])));
    assert.ok(seen.connection.some((e) => e.client === 'w' && e.type === 'close'), 'close() reports the writer connections closed');

    // Two members of one group: the second one's join is a rebalance for both.
    const groupId = uniqueTopic('g');
    const cfg = { brokers: A.bootstrap, topic, groupId, maxWaitMs: 100, heartbeatIntervalMs: 300, sessionTimeoutMs: 6000, rebalanceTimeoutMs: 10_000 };
    const r1 = new Reader({ ...cfg, name: 'r1' });
    let r2: Reader | undefined;
    try {
      await r1.readMessage({ timeoutMs: 30_000 });
      r2 = new Reader({ ...cfg, name: 'r2' });
      await until('r2 joins', () => seen.rebalance.some((e) => e.client === 'r2'), 60_000);
      // Settled: both members in the same generation, the partitions split between them.
      const latest = (c: string) => seen.rebalance.filter((e) => e.client === c).at(-1);
      await until('one generation for both', () => {
        const [x, y] = [latest('r1'), latest('r2')];
        return !!x && !!y && x.generation === y.generation && x.assigned.length + y.assigned.length === 3 && seen.rebalance.filter((e) => e.client === 'r1').length >= 2;
      }, 60_000);
    } finally {
      await Promise.all([r1.close(), r2?.close()]);
    }
    const r1Events = seen.rebalance.filter((e) => e.client === 'r1');
    assert.equal(r1Events[0].assigned.length, 3, 'alone, r1 has every partition');
    assert.ok(r1Events.at(-1)!.generation > r1Events[0].generation);
    const last = [r1Events.at(-1)!, seen.rebalance.filter((e) => e.client === 'r2').at(-1)!];
    assert.equal(last[0].generation, last[1].generation);
    assert.equal(last[0].assigned.length + last[1].assigned.length, 3, 'the partitions are split between the two');
    assert.ok(last.every((e) => e.group === groupId && e.memberId && e.protocol));
    const fetched = seen.fetch.filter((e) => e.client === 'r1');
    assert.ok(fetched.some((e) => e.records > 0 && e.bytes > 0 && e.partitions.every((p) => p.topic === topic)));
    assert.ok(fetched.every((e) => e.node >= 0 && e.ms >= 0));

    // A bootstrap address where nothing listens.
    const dead = new Client({ brokers: ['127.0.0.1:1'], name: 'dead', connectTimeoutMs: 1000, retry: { attempts: 1 }, retryTimeoutMs: 0, callTimeoutMs: 2000 });
    await assert.rejects(dead.metadata());
    await dead.close();
    assert.ok(seen.connection.some((e) => e.client === 'dead' && e.type === 'dial-failure' && e.error));
  });

  it('MultiWriter: B stopped is a health change and a failover to A; B back is a fail-back', { timeout: 180_000 }, async () => {
    const mw = new MultiWriter(RWMode.Backup, [fastFailingWriter(B.bootstrap, topic), fastFailingWriter(A.bootstrap, topic)], {
      name: 'mw',
      health: { probeIntervalMs: 200, stallTimeoutMs: 1000, probeTimeoutMs: 1000, recoveryProbes: 2 },
    });
    try {
      assert.equal((await mw.writeMessages({ value: 'before' }))[0].cluster, 0);
      await stopCluster('b');
      // Writes go on: to A once B is found out.
      for (let i = 0; !seen.failover.some((e) => e.client === 'mw' && e.kind === 'failover'); i++) {
        await mw.writeMessages({ value: `during-${i}` }).catch(() => {});
        assert.ok(i < 200, 'failover within 200 writes');
      }
      const [r] = await mw.writeMessages({ value: 'on-a' });
      assert.equal(r.cluster, 1);
      await startCluster('b');
      // Back on B once probes and a trial write succeed.
      await until('fail-back', () => {
        void mw.writeMessages({ value: 'probe-write' }).catch(() => {});
        return seen.failover.some((e) => e.client === 'mw' && e.kind === 'fail-back') && mw.healthStatus()[0].state === 'healthy';
      }, 120_000);
    } finally {
      await startCluster('b').catch(() => {});
      await mw.close();
    }
    const fo = seen.failover.filter((e) => e.client === 'mw');
    assert.deepEqual(fo[0], { kind: 'failover', from: 0, to: 1, messages: fo[0].messages, client: 'mw' });
    assert.ok(fo[0].messages >= 1);
    assert.ok(fo.some((e) => e.kind === 'fail-back' && e.from === 1 && e.to === 0));
    const health = seen.health.filter((e) => e.client === 'mw' && e.cluster === 0);
    assert.equal(health[0].state, 'unhealthy');
    assert.ok(health[0].error instanceof Error);
    assert.ok(health.some((e) => e.state === 'healthy'), 'B healthy again');
    assert.ok(seen.request.some((e) => e.client === 'mw[0]' && e.api === 'Produce'));
    assert.ok(seen.request.some((e) => e.client === 'mw[1] probe' && e.api === 'Metadata'));
  });
});
