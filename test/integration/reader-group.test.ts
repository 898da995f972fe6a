// Group Readers against cluster B: three members share a 6-partition topic, one leaves, one dies
// (no LeaveGroup) and the survivor takes over after the session timeout; manual commits after
// processing give at-least-once; committed offsets carry over to a new member.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../../src/protocol/errors.ts';
import type { AssignorName } from '../../src/client/reader/index.ts';
import { groupReaders } from '../helpers/group-readers.ts';
import { uniqueTopic } from '../helpers/kafka.ts';
import { consume, keyOf, produceRetrying as produceRaw, until } from '../helpers/reader-loop.ts';

const P = 6;

describe('Reader (group)', () => {
  const g = groupReaders(P, { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 10_000 });
  const { open, produceAll } = g;

  for (const assignor of ['range', 'roundrobin', 'cooperative-sticky'] as AssignorName[]) {
    it(`${assignor}: three members, one leaves, one dies, the last takes over; at-least-once; commits survive`, async () => {
      const topic = uniqueTopic(`rg-${assignor}`);
      const groupId = uniqueTopic('g');
      await g.client.createTopics([{ topic, numPartitions: P }]);
      try {
        await produceAll(topic, 20, 'a');
        const cfg = { topic, groupId, assignors: [assignor] };
        const [r1, r2, r3] = [open(cfg), open(cfg), open(cfg)];
        const processed = new Set<string>();
        const fenced = { n: 0 };
        const loops = [r1, r2, r3].map((r) => consume(r, processed, fenced));

        // Every partition assigned exactly once, two each.
        await until('a balanced assignment', () => {
          const all = [r1, r2, r3].flatMap((r) => r.assignment().map(keyOf));
          return all.length === P && new Set(all).size === P && [r1, r2, r3].every((r) => r.assignment().length === 2);
        }, 30_000);
        await until('the first 120 messages', () => processed.size >= 120, 30_000);

        await r1.close(); // leaves: the other two share the six at once
        await produceAll(topic, 10, 'b');
        await until('two members sharing six partitions', () => {
          const all = [r2, r3].flatMap((r) => r.assignment().map(keyOf));
          return all.length === P && new Set(all).size === P;
        }, 15_000);

        const killedAt = Date.now();
        r2.abandon(); // dies: no LeaveGroup; the group notices after the session timeout
        await produceAll(topic, 10, 'c');
        await until('the survivor holding every partition', () => r3.assignment().length === P, 30_000);
        const tookOver = Date.now() - killedAt;
        await until('every message processed', () => processed.size >= P * 40, 20_000);
        assert.equal(processed.size, P * 40);
        for (let p = 0; p < P; p++) for (let o = 0; o < 40; o++) assert.ok(processed.has(`${p}:${o}`), `missing ${p}:${o}`);
        assert.ok(tookOver < 20_000, `took over after ${tookOver} ms`);

        // Everything processed was read: the position is the log end. The commits are checked after
        // close, which sends any commit a rebalance refused.
        const lag = await r3.groupLag();
        for (let p = 0; p < P; p++) {
          const l = lag.get(topic)!.get(p)!;
          assert.equal(l.highWatermark, 40n);
          assert.equal(l.position, 40n);
          assert.equal(l.lag, 0n);
        }
        await r3.close();
        await Promise.all(loops);

        const committed = await g.client.fetchOffsets(groupId, [{ topic }]);
        assert.deepEqual(committed.map((c) => [c.partition, c.offset]).sort((a, b) => Number(a[0]) - Number(b[0])), Array.from({ length: P }, (_, p) => [p, 40n]));

        // A new member continues from the committed offsets: it sees only what is new.
        await produceAll(topic, 1, 'd');
        const r4 = open(cfg);
        const seen: string[] = [];
        for (let i = 0; i < P; i++) {
          const m = await r4.readMessage({ timeoutMs: 20_000 });
          seen.push(`${m.partition}:${m.offset}`);
        }
        assert.deepEqual(seen.sort(), Array.from({ length: P }, (_, p) => `${p}:40`));
        await assert.rejects(r4.readMessage({ timeoutMs: 700 }), TimeoutError);
        assert.equal(r4.offset(), -1n);
        assert.equal(r4.lag(), -1n);
        assert.ok(r4.stats().rebalances >= 1);
        await r4.close();
      } finally {
        await g.client.deleteTopics([topic]).catch(() => {});
      }
    });
  }

  it('a group formed before its topic exists reads it once created, and partitions added later once metadata shows them', async () => {
    const topic = uniqueTopic('rg-late');
    const groupId = uniqueTopic('g');
    // metadataMaxAgeMs bounds how soon the leader notices added partitions (a missing topic is looked for every second).
    const r = open({ topic, groupId, metadataMaxAgeMs: 1_000 });
    const processed = new Set<string>();
    const fenced = { n: 0 };
    const loop = consume(r, processed, fenced);
    await until('the group formed with nothing to read', () => r.stats().rebalances >= 1, 30_000);
    assert.deepEqual(r.assignment(), []);
    await g.client.createTopics([{ topic, numPartitions: 2 }]);
    await produceRaw(g.client, topic, 0, [{ value: 'p0-a' }, { value: 'p0-b' }]);
    await produceRaw(g.client, topic, 1, [{ value: 'p1-a' }]);
    await until('the three messages of the new topic', () => processed.size === 3, 30_000);
    assert.deepEqual(r.assignment().map(keyOf).sort(), [`${topic}/0`, `${topic}/1`]);
    await g.client.createPartitions(topic, 3);
    await g.client.waitForLeaders([topic], { minPartitions: 3 });
    await produceRaw(g.client, topic, 2, [{ value: 'p2-a' }]);
    await until('the message of the added partition', () => processed.has('2:0'), 30_000);
    assert.equal(processed.size, 4);
    assert.deepEqual(r.assignment().map(keyOf).sort(), [`${topic}/0`, `${topic}/1`, `${topic}/2`]);
    await r.close();
    await loop;
    await g.client.deleteTopics([topic]);
  });

  it('static membership: close does not leave; a restart with the same instance id gets the same partitions back', async () => {
    const topic = uniqueTopic('rg-static');
    const groupId = uniqueTopic('g');
    await g.client.createTopics([{ topic, numPartitions: P }]);
    try {
      const a = open({ topic, groupId, groupInstanceId: 'a' });
      const b = open({ topic, groupId, groupInstanceId: 'b' });
      await until('two static members sharing the topic', () => a.assignment().length === 3 && b.assignment().length === 3, 30_000);
      const before = a.assignment().map(keyOf).sort();
      b.stats();
      await a.close(); // static: no LeaveGroup, the group keeps a's partitions for the session timeout
      const described = await g.client.describeGroups([groupId]);
      assert.deepEqual(described[0].members.map((m) => m.groupInstanceId).sort(), ['a', 'b']);
      const a2 = open({ topic, groupId, groupInstanceId: 'a' });
      await until('the restarted member assigned', () => a2.assignment().length === 3, 30_000);
      assert.deepEqual(a2.assignment().map(keyOf).sort(), before);
      assert.equal(b.assignment().length, 3);
      await Promise.all([a2.close(), b.close()]);
    } finally {
      await g.client.deleteTopics([topic]).catch(() => {});
    }
  });
});
