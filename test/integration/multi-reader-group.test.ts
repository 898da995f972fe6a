// MultiReader in group mode: readMessage commits each cluster's messages to that cluster's group (the
// merged messages are copies carrying the cluster index; their commits must not be fenced), a new
// MultiReader with the same groups resumes after what was committed, and groupLag(i) reports each
// cluster's committed offset, position and high watermark.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { MultiReader, type MultiMessage } from '../../src/multi/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { produceRaw, type RawRecord } from '../helpers/produce.ts';

// Produce v13 names topics by id, which the raw helper does not send: v12 names them.
const produce = (c: Client, topic: string, partition: number, records: RawRecord[]) => produceRaw(c, topic, partition, records, { version: 12 });

describe('MultiReader (group mode) over clusters A and B', () => {
  const clients = [new Client({ brokers: cluster('a').bootstrap }), new Client({ brokers: cluster('b').bootstrap })];
  const topic = uniqueTopic('multigroup');
  const groupId = uniqueTopic('mg');
  const configs = () => clients.map((_, i) => ({ brokers: cluster(i ? 'b' : 'a').bootstrap, topic, groupId, maxWaitMs: 200 }));

  before(async () => {
    await clients[0].createTopics([{ topic, numPartitions: 1, replicationFactor: 3 }]);
    await clients[1].createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
  });
  after(async () => {
    for (const c of clients) await c.close();
  });

  async function readN(r: MultiReader, n: number): Promise<MultiMessage[]> {
    const got: MultiMessage[] = [];
    while (got.length < n) got.push(...(await r.readMessage({ timeoutMs: 30_000 })));
    return got;
  }

  it('commits per cluster through the merged messages; a restart resumes after them; groupLag per cluster', { timeout: 120_000 }, async () => {
    for (const [i, c] of clients.entries()) await produce(c, topic, 0, Array.from({ length: 10 }, (_, k) => ({ value: `c${i}-${k}` })));
    const first = new MultiReader(configs());
    const got = await readN(first, 20);
    assert.equal(got.length, 20);
    assert.deepEqual([0, 1].map((c) => got.filter((m) => m.cluster === c).length), [10, 10]);
    await first.close();
    for (const c of clients) {
      const committed = await c.fetchOffsets(groupId, [{ topic }]);
      assert.deepEqual(committed.map((o) => [o.partition, o.offset]), [[0, 10n]]);
    }
    for (const [i, c] of clients.entries()) await produce(c, topic, 0, [{ value: `c${i}-late` }]);
    const second = new MultiReader(configs());
    const more = await readN(second, 2);
    assert.deepEqual(more.map((m) => new TextDecoder().decode(m.value!)).sort(), ['c0-late', 'c1-late']);
    assert.deepEqual(more.map((m) => m.offset), [10n, 10n]);
    // Per-cluster group lag: readMessage committed what it returned.
    for (const c of [0, 1]) {
      const lag = (await second.groupLag(c, { timeoutMs: 10_000 })).get(topic)?.get(0);
      assert.deepEqual(lag && [lag.committed, lag.position, lag.highWatermark, lag.lag], [11n, 11n, 11n, 0n], `cluster ${c}`);
    }
    // fetchMessage does not commit: cluster 0's position runs ahead of its committed offset until commitMessages.
    await produce(clients[0], topic, 0, Array.from({ length: 5 }, (_, k) => ({ value: `c0-more-${k}` })));
    const fetched: MultiMessage[] = [];
    while (fetched.length < 5) fetched.push(...(await second.fetchMessage({ timeoutMs: 30_000 })));
    const before = (await second.groupLag(0)).get(topic)!.get(0)!;
    assert.deepEqual([before.committed, before.position, before.highWatermark, before.lag], [11n, 16n, 16n, 0n]);
    await second.commitMessages(...fetched);
    const afterCommit = (await second.groupLag(0)).get(topic)!.get(0)!;
    assert.deepEqual([afterCommit.committed, afterCommit.position, afterCommit.lag], [16n, 16n, 0n]);
    assert.equal(second.offset(0), -1n, 'offset() is for partition readers');
    await second.close();
  });
});
