// Group Readers with the consumer group protocol (KIP-848) against cluster B: the broker assigns, two
// members share a 4-partition topic, one leaves and the other takes everything; manual commits carry
// over to a member that joins after both are gone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../../src/protocol/errors.ts';
import { groupReaders } from '../helpers/group-readers.ts';
import { uniqueTopic } from '../helpers/kafka.ts';
import { consume, keyOf, until } from '../helpers/reader-loop.ts';

const P = 4;

describe('Reader (consumer group protocol, KIP-848)', () => {
  const g = groupReaders(P, { groupProtocol: 'consumer' });
  const { open, produceAll } = g;

  async function committedOffsets(groupId: string, topic: string): Promise<[number, bigint][]> {
    const c = await g.client.fetchOffsets(groupId, [{ topic }]);
    return c.map((x): [number, bigint] => [x.partition, x.offset]).sort((a, b) => a[0] - b[0]);
  }

  it('two members share the partitions, one leaves, the other takes over; commits carry over', { timeout: 60_000 }, async () => {
    const topic = uniqueTopic('rk848');
    const groupId = uniqueTopic('g848');
    await g.client.createTopics([{ topic, numPartitions: P }]);
    try {
      await produceAll(topic, 10, 'a');
      const cfg = { topic, groupId };
      const [r1, r2] = [open(cfg), open(cfg)];
      const processed = new Set<string>();
      const refused = { n: 0 };
      const loops = [r1, r2].map((r) => consume(r, processed, refused));

      await until('an assignment that gives every partition to exactly one member', () => {
        const all = [r1, r2].flatMap((r) => r.assignment().map(keyOf));
        return all.length === P && new Set(all).size === P && r1.assignment().length > 0 && r2.assignment().length > 0;
      }, 20_000);
      await until('the first 40 messages', () => processed.size >= P * 10, 20_000);
      // The broker keeps the group as a KIP-848 group, not a classic one that merely looks alike.
      const listed = (await g.client.listGroups()).find((g) => g.groupId === groupId);
      assert.equal(listed?.type, 'consumer');

      await r1.close(); // leaves with epoch -1: the coordinator hands its partitions over
      await produceAll(topic, 5, 'b');
      await until('the survivor holding every partition', () => r2.assignment().length === P, 20_000);
      assert.deepEqual(r2.assignment().map((tp) => tp.partition).sort(), [0, 1, 2, 3]);
      await until('every message processed', () => processed.size >= P * 15, 20_000);
      for (let p = 0; p < P; p++) for (let o = 0; o < 15; o++) assert.ok(processed.has(`${p}:${o}`), `missing ${p}:${o}`);
      assert.ok(r2.stats().rebalances >= 1);

      await until('commits of everything processed', async () => (await committedOffsets(groupId, topic)).every(([, o]) => o === 15n), 10_000);
      await r2.close();
      await Promise.all(loops);
      assert.deepEqual(await committedOffsets(groupId, topic), Array.from({ length: P }, (_, p) => [p, 15n]));

      // A member that joins later starts at the committed offsets: it sees only what is new.
      await produceAll(topic, 1, 'c');
      const r3 = open(cfg);
      const seen: string[] = [];
      for (let i = 0; i < P; i++) {
        const m = await r3.readMessage({ timeoutMs: 20_000 });
        seen.push(`${m.partition}:${m.offset}`);
      }
      assert.deepEqual(seen.sort(), Array.from({ length: P }, (_, p) => `${p}:15`));
      await assert.rejects(r3.readMessage({ timeoutMs: 700 }), TimeoutError);
      await r3.close();
    } finally {
      await g.client.deleteTopics([topic]).catch(() => {});
    }
  });
});
