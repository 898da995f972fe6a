// MultiWriter against the two local clusters, stopping real brokers: Backup fails over to B when A
// goes down and fails back when A returns; MultiRW spreads writes and survives either cluster down;
// Mirror writes both and names exactly what a down cluster misses.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../../src/client/client.ts';
import { MultiWriter, MultiWriteErrors, RWMode } from '../../../src/multi/index.ts';
import type { WriterConfig } from '../../../src/client/writer/config.ts';
import { cluster, startCluster, stopCluster, uniqueTopic } from '../../helpers/kafka.ts';
import { fetchRaw } from '../../helpers/produce.ts';
import { describeLatency, percentile } from '../../helpers/latency.ts';

const A = cluster('a');
const B = cluster('b');
const PARTITIONS = 3;

/** Writer settings that notice a dead cluster within a couple of seconds. */
const fast = (brokers: string[], topic: string): WriterConfig => ({
  brokers,
  topic,
  batchTimeoutMs: 2,
  maxAttempts: 3,
  writeBackoffMinMs: 50,
  writeBackoffMaxMs: 300,
  writeTimeoutMs: 5000,
  connectTimeoutMs: 1000,
  requestTimeoutMs: 3000,
  reconnectBackoffMaxMs: 500,
  retry: { attempts: 2, backoffMinMs: 50, backoffMaxMs: 200 },
});

/** Every value in a topic (all partitions) of one cluster. */
async function readAll(client: Client, topic: string): Promise<string[]> {
  const out: string[] = [];
  const ends = await client.listOffsets(topic, 'latest');
  for (const [p, o] of ends) {
    if (o.offset === 0n) continue;
    for (const r of await fetchRaw(client, topic, p, 0n, Number(o.offset))) out.push(r.value!);
  }
  return out;
}

describe('MultiWriter over clusters A and B', () => {
  const a = new Client({ brokers: A.bootstrap });
  const b = new Client({ brokers: B.bootstrap });
  const topics: string[] = [];
  const writers: MultiWriter[] = [];
  /** Every writer is closed after the suite, whatever failed, so the process can exit. */
  const track = (w: MultiWriter) => (writers.push(w), w);
  const topic = async () => {
    const t = uniqueTopic('multi');
    topics.push(t);
    await a.createTopics([{ topic: t, numPartitions: PARTITIONS, replicationFactor: 3 }]);
    await b.createTopics([{ topic: t, numPartitions: PARTITIONS, replicationFactor: 1 }]);
    return t;
  };
  before(async () => {
    await Promise.all([a.describeCluster(), b.describeCluster()]);
  });
  after(async () => {
    await Promise.allSettled(writers.map((w) => w.close()));
    await a.close();
    await b.close();
  });

  it('constructor refuses an empty cluster list; stats(i) out of range is a RangeError', async () => {
    assert.throws(() => new MultiWriter(RWMode.Backup, []), /at least one/);
    const w = track(new MultiWriter(RWMode.Backup, [fast(A.bootstrap, 'x')]));
    assert.throws(() => w.stats(1), RangeError);
    await w.close();
    await assert.rejects(w.writeMessages({ value: 'late' }), (e: unknown) => (e as Error).name === 'ClosedError');
  });

  it('MultiRW spreads writes evenly over healthy clusters', async () => {
    const t = await topic();
    const w = track(new MultiWriter(RWMode.MultiRW, [fast(A.bootstrap, t), fast(B.bootstrap, t)]));
    const per = [0, 0];
    for (let i = 0; i < 200; i++) {
      const [r] = await w.writeMessages({ key: `k${i}`, value: `rw-${i}` });
      per[r.cluster]++;
    }
    await w.close();
    assert.deepEqual(per, [100, 100]);
    assert.equal((await readAll(a, t)).length, 100);
    assert.equal((await readAll(b, t)).length, 100);
  });

  it('Backup: 20,000 messages while A stops and restarts; every acknowledged one is in A or B; failover and failback timed', { timeout: 300_000 }, async (ctx) => {
    const t = await topic();
    const w = track(new MultiWriter(RWMode.Backup, [fast(A.bootstrap, t), fast(B.bootstrap, t)], {
      health: { probeIntervalMs: 500, recoveryProbes: 3, probeTimeoutMs: 1500 },
    }));
    const events: { at: number; cluster: number; state: string }[] = [];
    const t0 = performance.now();
    w.onHealthChange((h) => events.push({ at: performance.now() - t0, cluster: h.cluster, state: h.state }));

    const TOTAL = 20_000;
    const PER_CALL = 20;
    // A steady 500 messages/s: 40 s of writes, long enough for A to stop, restart and take writes again.
    const INTERVAL_MS = 40;
    const acked = new Map<string, number>();
    const lat: Record<'before' | 'outage' | 'after', number[]> = { before: [], outage: [], after: [] };
    const now: { phase: 'before' | 'outage' | 'after' } = { phase: 'before' };
    let stopAt = 0;
    let stoppedAt = 0;
    let restartedAt = 0;
    let firstOnB = 0;
    let backOnA = 0;
    const failed: string[] = [];

    const chaos = (async () => {
      while (acked.size < 3000) await new Promise((r) => setTimeout(r, 20));
      stopAt = performance.now() - t0;
      now.phase = 'outage';
      await stopCluster('a');
      stoppedAt = performance.now() - t0;
      while (acked.size < 6000) await new Promise((r) => setTimeout(r, 20));
      await startCluster('a');
      restartedAt = performance.now() - t0;
    })();
    chaos.catch(() => {}); // awaited below; a failed restart must fail the test there, not as unhandled

    const startAt = performance.now();
    for (let sent = 0, k = 0; sent < TOTAL; sent += PER_CALL, k++) {
      const wait = startAt + k * INTERVAL_MS - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const msgs = Array.from({ length: PER_CALL }, (_, j) => ({ key: `key-${(sent + j) % 97}`, value: `m-${sent + j}` }));
      const s = performance.now();
      const p = now.phase;
      try {
        const res = await w.writeMessages(...msgs);
        lat[p].push(performance.now() - s);
        res.forEach((r, j) => acked.set(msgs[j].value, r.cluster));
        if (res[0].cluster === 1 && !firstOnB) firstOnB = performance.now() - t0;
        if (res[0].cluster === 0 && restartedAt && !backOnA) {
          backOnA = performance.now() - t0;
          now.phase = 'after';
        }
      } catch (e) {
        if (!(e instanceof MultiWriteErrors)) throw e;
        e.errors.forEach((x, j) => (x ? failed.push(msgs[j].value) : acked.set(msgs[j].value, -1)));
      }
    }
    await chaos;
    await w.close();

    const onA = [...acked.values()].filter((c) => c === 0).length;
    const onB = [...acked.values()].filter((c) => c === 1).length;
    const unionA = new Set(await readAll(a, t));
    const unionB = new Set(await readAll(b, t));
    const missing = [...acked.keys()].filter((v) => !unionA.has(v) && !unionB.has(v));
    ctx.diagnostic(`acked ${acked.size} (A ${onA}, B ${onB}), failed ${failed.length}, missing ${missing.length}`);
    ctx.diagnostic(`A stop begun at ${stopAt.toFixed(0)} ms (all down at ${stoppedAt.toFixed(0)} ms), first write on B at ${firstOnB.toFixed(0)} ms (failover ${(firstOnB - stopAt).toFixed(0)} ms)`);
    ctx.diagnostic(`A restarted at ${restartedAt.toFixed(0)} ms, back on A at ${backOnA.toFixed(0)} ms (failback ${(backOnA - restartedAt).toFixed(0)} ms)`);
    ctx.diagnostic(`latency before: ${describeLatency(lat.before)}; outage: ${describeLatency(lat.outage)}; after: ${describeLatency(lat.after)}`);
    ctx.diagnostic(`health events: ${JSON.stringify(events.map((e) => ({ ...e, at: Math.round(e.at) })))}`);

    assert.equal(missing.length, 0, `acknowledged but found in neither cluster: ${missing.slice(0, 5).join(', ')}`);
    assert.equal(acked.size + failed.length, TOTAL);
    assert.equal(failed.length, 0, 'with B up, no write fails');
    assert.ok(onB > 0 && onA > 0, 'both clusters took writes');
    assert.ok(backOnA > 0, 'writes went back to A after it returned');
    // After detection, outage writes run at B's latency: the p50 is B's, not A's timeout.
    assert.ok(percentile(lat.outage, 50) < 200, `outage p50 ${percentile(lat.outage, 50)} ms`);
    assert.ok(lat.after.length > 0, 'writes after failback');
  });

  it('Mirror: every message in both clusters; with B down the error names B for each message', { timeout: 180_000 }, async () => {
    const t = await topic();
    const w = track(new MultiWriter(RWMode.Mirror, [fast(A.bootstrap, t), fast(B.bootstrap, t)], { health: { probeIntervalMs: 500, recoveryProbes: 2 } }));
    const res = await w.writeMessages(...Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `mirror-${i}` })));
    assert.ok(res.every((r) => r.clusters.length === 2));
    assert.equal((await readAll(a, t)).length, 50);
    assert.equal((await readAll(b, t)).length, 50);

    await stopCluster('b');
    try {
      const err = await w.writeMessages(...Array.from({ length: 10 }, (_, i) => ({ value: `down-${i}` }))).then(
        () => assert.fail('a mirror write with B down must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof MultiWriteErrors);
      assert.equal(err.count(), 10);
      assert.deepEqual(err.missing, Array.from({ length: 10 }, () => [1]));
      assert.match(err.message, /missing in cluster 1/);
      // A has them all the same: the error says B misses them, not that they are lost.
      const inA = new Set(await readAll(a, t));
      for (let i = 0; i < 10; i++) assert.ok(inA.has(`down-${i}`));
    } finally {
      await startCluster('b');
    }
    await w.close();
  });

  it('MultiRW keeps succeeding while either cluster is down', { timeout: 240_000 }, async () => {
    const t = await topic();
    const w = track(new MultiWriter(RWMode.MultiRW, [fast(A.bootstrap, t), fast(B.bootstrap, t)], { health: { probeIntervalMs: 500, recoveryProbes: 2 } }));
    for (const [down, up] of [['b', 0], ['a', 1]] as const) {
      await stopCluster(down);
      try {
        const per = [0, 0];
        for (let i = 0; i < 100; i++) per[(await w.writeMessages({ value: `rw-${down}-down-${i}` }))[0].cluster]++;
        // Every write succeeded; after the first detection all of them went to the cluster that is up.
        assert.ok(per[up] >= 99, `writes per cluster with ${down} down: ${per}`);
      } finally {
        await startCluster(down);
      }
    }
    await w.close();
  });
});
