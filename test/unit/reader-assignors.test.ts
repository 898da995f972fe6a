// The group assignors: exact plans for known inputs, and the cooperative rule that a partition never
// goes straight from one owner to another.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CooperativeStickyAssignor, RangeAssignor, RoundRobinAssignor, type GroupAssignment, type GroupMember } from '../../src/client/reader/group/assignors.ts';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../../src/client/reader/group/protocol.ts';

const member = (memberId: string, topics: string[], owned: [string, number][] = [], generationId = 1): GroupMember => ({
  memberId,
  groupInstanceId: null,
  topics,
  owned: owned.map(([topic, partition]) => ({ topic, partition })),
  generationId,
});

const plain = (a: GroupAssignment) => Object.fromEntries([...a].map(([m, t]) => [m, Object.fromEntries(t)]));

describe('assignors', () => {
  it('range: contiguous blocks per topic, the first members get the remainder', () => {
    const plan = RangeAssignor.assign([member('b', ['t', 'u']), member('a', ['t', 'u']), member('c', ['t'])], new Map([['t', 7], ['u', 3]]));
    assert.deepEqual(plain(plan), {
      a: { t: [0, 1, 2], u: [0, 1] },
      b: { t: [3, 4], u: [2] },
      c: { t: [5, 6] },
    });
  });

  it('roundrobin: one at a time over sorted members, skipping non-subscribers', () => {
    const plan = RoundRobinAssignor.assign([member('a', ['t', 'u']), member('b', ['t']), member('c', ['t', 'u'])], new Map([['t', 4], ['u', 3]]));
    assert.deepEqual(plain(plan), {
      a: { t: [0, 3], u: [1] },
      b: { t: [1] },
      c: { t: [2], u: [0, 2] },
    });
  });

  it('cooperative-sticky: fresh group is balanced', () => {
    const plan = CooperativeStickyAssignor.assign([member('a', ['t']), member('b', ['t']), member('c', ['t'])], new Map([['t', 6]]));
    const sizes = [...plan.values()].map((m) => m.get('t')?.length ?? 0);
    assert.deepEqual(sizes, [2, 2, 2]);
    assert.deepEqual([...plan.values()].flatMap((m) => m.get('t') ?? []).sort(), [0, 1, 2, 3, 4, 5]);
  });

  it('cooperative-sticky: owners keep theirs; moving partitions are withheld for a round', () => {
    // a owned all six; b and c join.
    const round1 = CooperativeStickyAssignor.assign(
      [member('a', ['t'], [['t', 0], ['t', 1], ['t', 2], ['t', 3], ['t', 4], ['t', 5]]), member('b', ['t']), member('c', ['t'])],
      new Map([['t', 6]]),
    );
    const a1 = round1.get('a')!.get('t')!;
    assert.equal(a1.length, 2); // a keeps two, gives up four
    assert.equal(round1.get('b')!.get('t'), undefined); // nothing moves straight to b or c
    assert.equal(round1.get('c')!.get('t'), undefined);
    // a has revoked the four; next round they go to b and c, a keeps its two.
    const round2 = CooperativeStickyAssignor.assign(
      [member('a', ['t'], a1.map((p) => ['t', p] as [string, number]), 2), member('b', ['t'], [], 2), member('c', ['t'], [], 2)],
      new Map([['t', 6]]),
    );
    assert.deepEqual(round2.get('a')!.get('t'), a1);
    assert.equal(round2.get('b')!.get('t')!.length, 2);
    assert.equal(round2.get('c')!.get('t')!.length, 2);
    assert.deepEqual([...round2.values()].flatMap((m) => m.get('t') ?? []).sort(), [0, 1, 2, 3, 4, 5]);
  });

  it("cooperative-sticky: a departed member's partitions go to the others at once", () => {
    const plan = CooperativeStickyAssignor.assign(
      [member('a', ['t'], [['t', 0], ['t', 1]]), member('b', ['t'], [['t', 2], ['t', 3]])],
      new Map([['t', 6]]),
    );
    assert.deepEqual(plain(plan), { a: { t: [0, 1, 4] }, b: { t: [2, 3, 5] } });
  });

  it('subscription and assignment round-trip through the consumer protocol', () => {
    const s = decodeSubscription(encodeSubscription(['x', 'y'], [{ topic: 'x', partition: 3 }], 7));
    assert.deepEqual(s.topics, ['x', 'y']);
    assert.deepEqual(s.ownedPartitions.map((t) => [t.topic, t.partitions]), [['x', [3]]]);
    assert.equal(s.generationId, 7);
    const a = decodeAssignment(encodeAssignment(new Map([['x', [1, 2]]]), 3));
    assert.deepEqual(a.assignedPartitions.map((t) => [t.topic, t.partitions]), [['x', [1, 2]]]);
    assert.deepEqual(decodeAssignment(new Uint8Array(0)).assignedPartitions, []);
  });
});
