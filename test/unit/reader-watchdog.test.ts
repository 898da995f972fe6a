// The Reader's liveness watchdog against in-process fake clusters, one injected cause per test: a
// fetch that is never answered, a partition stuck while the broker has data for it, a fetch loop that
// ended, heartbeats failing past the session timeout (both group protocols). Each is healed by the
// reader itself within a stated bound, reported through onStall, stats() and health(); a slow caller
// and an idle topic are not stalls.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader, Writer, type Message, type ReaderConfig, type StallEvent } from '../../src/index.ts';
import type { FakeCluster } from '../../src/testing/index.ts';
import { fakeClusters } from '../helpers/fake.ts';

const { start, track } = fakeClusters();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const WINDOW = 1_000;
// The watchdog looks every WINDOW/4: a stall is seen within WINDOW * 1.25 of starting; plus slack for a loaded machine.
const SLACK = 2_000;

async function readN(r: Reader, n: number, timeoutMs: number): Promise<Message[]> {
  const out: Message[] = [];
  const until = performance.now() + timeoutMs;
  while (out.length < n) out.push(await r.fetchMessage({ timeoutMs: Math.max(1, until - performance.now()) }));
  return out;
}

function reader(c: FakeCluster, cfg: Partial<ReaderConfig>): { r: Reader; stalls: StallEvent[] } {
  // requestTimeoutMs stays at its 30 s default: what heals within seconds is the watchdog, not a timeout.
  const r = track(new Reader({ brokers: c.bootstrap, maxWaitMs: 100, stallWindowMs: WINDOW, ...cfg }));
  const stalls: StallEvent[] = [];
  r.onStall((e) => stalls.push(e));
  return { r, stalls };
}

/** n messages to one partition, in batches of `batch` (each writeMessages call is one batch). */
async function write(c: FakeCluster, topic: string, n: number, partition = 0, batch = n): Promise<void> {
  const w = new Writer({ brokers: c.bootstrap, topic, balancer: { balance: () => partition } });
  try {
    for (let i = 0; i < n; i += batch) await w.writeMessages(...Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({ value: `m${i + j}` })));
  } finally {
    await w.close();
  }
}

describe('Reader liveness watchdog', () => {
  it('fetch-unanswered: a fetch the broker never answers is replaced on a new connection within maxWaitMs + 1.25 windows', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'unanswered' }] });
    const { r, stalls } = reader(c, { topic: 'unanswered', partition: 0 });
    await write(c, 'unanswered', 5);
    assert.equal((await readN(r, 5, 10_000)).length, 5);
    // Idle: fetches are answered empty every maxWaitMs, which is no stall.
    await sleep(3 * WINDOW);
    assert.equal(stalls.length, 0);
    assert.equal(r.health().healthy, true);

    const silent = c.inject({ api: 'Fetch', noAnswer: true, times: 1 });
    await sleep(300); // the long poll in flight ends; the next fetch is the silent one
    const t0 = performance.now();
    await write(c, 'unanswered', 5);
    const got = await readN(r, 5, 100 + WINDOW * 1.25 + SLACK);
    const healedMs = performance.now() - t0;
    assert.deepEqual(got.map((m) => Number(m.offset)), [5, 6, 7, 8, 9]);
    assert.equal(silent.hits, 1);
    assert.equal(stalls.length, 1);
    assert.equal(stalls[0].cause, 'fetch-unanswered');
    assert.equal(stalls[0].action, 'refetch');
    assert.deepEqual(stalls[0].partitions, [{ topic: 'unanswered', partition: 0 }]);
    assert.ok(healedMs < 100 + WINDOW * 1.25 + SLACK, `healed after ${healedMs} ms`);
    assert.equal(r.stats().stalls, 1);
    const h = r.health();
    assert.equal(h.stalls, 1);
    assert.equal(h.lastStall?.cause, 'fetch-unanswered');
    assert.equal(h.partitions[0].position, 10n);
    assert.equal(h.sinceHeartbeatMs, null);
  });

  it('partition-stuck: the broker has data past the position and it does not move: fetched afresh within 1.25 windows; a slow caller is no stall', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'stuck' }] });
    // Small fetches (one 4-message batch each) into a small queue: reading the 40 takes many fetches.
    const { r, stalls } = reader(c, { topic: 'stuck', partition: 0, queueCapacity: 4, partitionMaxBytes: 1, maxBytes: 1 });
    await write(c, 'stuck', 40, 0, 4);
    assert.equal((await readN(r, 1, 10_000))[0].offset, 0n);
    // The caller does not read for three windows: the fetcher waits for it, which is no stall.
    await sleep(3 * WINDOW);
    assert.equal(stalls.length, 0);
    assert.ok(r.health().partitions[0].highWatermark === 40n);

    // Every fetch from now on goes unanswered, on whatever connection: only a fresh start gets through once the rule is spent.
    const silent = c.inject({ api: 'Fetch', noAnswer: true, times: 2 });
    const t0 = performance.now();
    const got = await readN(r, 39, 2 * (WINDOW * 1.25) + WINDOW * 2.5 + 2 * SLACK);
    assert.deepEqual(got.map((m) => Number(m.offset)), Array.from({ length: 39 }, (_, i) => i + 1));
    assert.equal(silent.hits, 2);
    assert.ok(stalls.length >= 1 && stalls.every((s) => s.cause === 'partition-stuck'), JSON.stringify(stalls.map((s) => s.cause)));
    assert.ok(stalls[0].stalledMs >= WINDOW);
    // The second heal of the same partition waits two windows (backoff for a broker that is only slow).
    if (stalls.length >= 2) assert.ok(stalls[1].stalledMs >= 2 * WINDOW);
    assert.ok(performance.now() - t0 < 2 * (WINDOW * 1.25) + WINDOW * 2.5 + 2 * SLACK);
  });

  it('fetch-loop-stopped: a partition whose fetch loop ended is fetched again within a second or so', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'loop' }] });
    const { r, stalls } = reader(c, { topic: 'loop', partition: 0 });
    await write(c, 'loop', 3);
    assert.equal((await readN(r, 3, 10_000)).length, 3);
    // Injected: the loop's registration vanishes, so it ends after its current long poll.
    (r as unknown as { fetcher: { loops: Map<number, object> } }).fetcher.loops.clear();
    await sleep(300);
    const t0 = performance.now();
    await write(c, 'loop', 3);
    const got = await readN(r, 3, 1_000 + WINDOW / 4 + SLACK);
    assert.deepEqual(got.map((m) => Number(m.offset)), [3, 4, 5]);
    assert.equal(stalls[0]?.cause, 'fetch-loop-stopped');
    assert.ok(performance.now() - t0 < 1_000 + WINDOW / 4 + SLACK);
  });

  for (const protocol of ['classic', 'consumer'] as const) {
    it(`heartbeat-failing (${protocol}): no heartbeat acknowledged for the session timeout: the member gives its partitions up and rejoins`, async () => {
      const SESSION = 6_000;
      const c = await start({ brokers: 1, topics: [{ name: `hb-${protocol}`, partitions: 2 }], consumerSessionTimeoutMs: SESSION, consumerHeartbeatIntervalMs: 500 });
      const topic = `hb-${protocol}`;
      const { r, stalls } = reader(c, { topic, groupId: `g-${protocol}`, groupProtocol: protocol, sessionTimeoutMs: SESSION, heartbeatIntervalMs: 500 });
      await write(c, topic, 4, 0);
      await write(c, topic, 4, 1);
      // readMessage commits: after the rejoin the member continues from there.
      for (let i = 0; i < 8; i++) await r.readMessage({ timeoutMs: 15_000 });
      assert.ok((r.health().sinceHeartbeatMs ?? -1) >= 0);

      const silent = c.inject({ api: protocol === 'classic' ? 'Heartbeat' : 'ConsumerGroupHeartbeat', noAnswer: true });
      const t0 = performance.now();
      // Bound: the session timeout from the last acknowledged beat, plus a heartbeat interval and a watchdog tick.
      const bound = SESSION + 500 + WINDOW / 4 + SLACK;
      while (!stalls.length && performance.now() - t0 < bound) await sleep(50);
      const seenMs = performance.now() - t0;
      assert.equal(stalls[0]?.cause, 'heartbeat-failing', `no heartbeat stall within ${bound} ms`);
      assert.equal(stalls[0].action, 'rejoin');
      assert.deepEqual(stalls[0].partitions.map((tp) => tp.partition).sort(), [0, 1]);
      assert.ok(seenMs >= SESSION - 1_000, `reported after ${seenMs} ms, before the session could have expired`);
      silent.remove();

      // Healed: the member is back in the group and reads what is written now.
      await write(c, topic, 2, 0);
      await write(c, topic, 2, 1);
      // Generous: the rejoin itself is not what is bounded here (a loaded machine once took over 15 s).
      const got = await readN(r, 4, 40_000);
      assert.deepEqual(got.map((m) => `${m.partition}:${m.offset}`).sort(), ['0:4', '0:5', '1:4', '1:5']);
      assert.equal(r.health().healthy, true);
      assert.ok(r.stats().rebalances >= 2);
    });
  }
});
