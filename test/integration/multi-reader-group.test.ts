// MultiReader in group mode: readMessage commits each cluster's messages to that cluster's group (the
// merged messages are copies carrying the cluster index; their commits must not be fenced), and a
// new MultiReader with the same groups resumes after what was committed.
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

  it('commits per cluster through the merged messages; a restart resumes after them', { timeout: 120_000 }, async () => {
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
    await second.close();
  });
});
