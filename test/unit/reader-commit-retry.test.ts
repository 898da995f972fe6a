// A commit on commitIntervalMs that fails is sent again on a later interval while the partition stays
// assigned: once the partition goes quiet nothing else would commit it, and the group's lag would stay
// above 0 for good (seen in the rebalance storm test, where commits raced a rebalance).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client, Reader, Writer } from '../../src/index.ts';
import { FakeCluster } from '../../src/testing/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let cluster: FakeCluster | undefined;
after(() => cluster?.stop());

describe('Reader commits on an interval', () => {
  for (const groupProtocol of ['classic', 'consumer'] as const) {
    it(`${groupProtocol}: offsets whose commit failed are committed once the coordinator answers again`, async () => {
      cluster ??= await FakeCluster.start({ brokers: 1, topics: [{ name: 'quiet', partitions: 1 }] });
      const topic = 'quiet';
      const groupId = `commit-retry-${groupProtocol}`;
      const w = new Writer({ brokers: cluster.bootstrap, topic });
      const r = new Reader({
        brokers: cluster.bootstrap,
        groupId,
        topic,
        groupProtocol,
        assignors: ['cooperative-sticky'],
        commitIntervalMs: 100,
        retryTimeoutMs: 300, // each failing flush gives up well inside the outage below
        maxWaitMs: 100,
      });
      const admin = new Client({ brokers: cluster.bootstrap });
      try {
        const before = (await w.writeMessages(...Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })))).length;
        assert.equal(before, 5);
        // Every OffsetCommit is refused (connection closed, request not applied) for 4 s: longer than a flush retries (about 1 s with retryTimeoutMs 300).
        const refused = cluster.inject({ api: 'OffsetCommit', drop: true });
        for (let i = 0; i < 5; i++) assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, BigInt(i));
        await sleep(4_000);
        assert.ok(refused.hits > 0, 'no commit was attempted during the outage');
        const committed = async () => (await admin.fetchOffsets(groupId, [{ topic }]))[0]?.offset ?? -1n;
        assert.equal(await committed(), -1n);
        refused.remove();
        // No new message arrives: only a retry of the failed offsets can commit 5.
        const t0 = performance.now();
        while ((await committed()) !== 5n) {
          assert.ok(performance.now() - t0 < 5_000, `offset 5 not committed within 5 s of the coordinator answering (now ${await committed()})`);
          await sleep(50);
        }
      } finally {
        await r.close();
        await w.close();
        await admin.close();
      }
    });
  }
});

describe('Reader commits synchronously (commitIntervalMs 0)', () => {
  it('offsets of a refused commitMessages go out with the next commit, here close()', async () => {
    cluster ??= await FakeCluster.start({ brokers: 1, topics: [{ name: 'quiet', partitions: 1 }] });
    const topic = 'quiet-sync';
    const groupId = 'commit-retry-sync';
    const admin = new Client({ brokers: cluster.bootstrap });
    await admin.createTopics([{ topic, numPartitions: 1 }]);
    const w = new Writer({ brokers: cluster.bootstrap, topic });
    const r = new Reader({ brokers: cluster.bootstrap, groupId, topic, assignors: ['cooperative-sticky'], retryTimeoutMs: 300, maxWaitMs: 100 });
    try {
      await w.writeMessages(...Array.from({ length: 3 }, (_, i) => ({ value: `m${i}` })));
      const first = await r.fetchMessage({ timeoutMs: 10_000 });
      await r.commitMessages(first);
      const committed = async () => (await admin.fetchOffsets(groupId, [{ topic }]))[0]?.offset ?? -1n;
      assert.equal(await committed(), 1n);
      const refused = cluster.inject({ api: 'OffsetCommit', drop: true });
      const rest = [await r.fetchMessage({ timeoutMs: 10_000 }), await r.fetchMessage({ timeoutMs: 10_000 })];
      await assert.rejects(r.commitMessages(...rest));
      assert.ok(refused.hits > 0);
      refused.remove();
      assert.equal(await committed(), 1n);
      await r.close();
      assert.equal(await committed(), 3n, 'the refused offset went out with close()');
    } finally {
      await r.close();
      await w.close();
      await admin.close();
    }
  });
});
