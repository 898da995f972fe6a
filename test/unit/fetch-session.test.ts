// FetchSession's bookkeeping (KIP-227) without a broker, then a Reader on an in-process fake cluster
// whose broker keeps sessions: incremental fetches name only moved partitions, every error or
// break in the sequence starts over with a full fetch, and close() ends the broker's session.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, ErrorCode, Reader } from '../../src/index.ts';
import type { FetchResponse } from '../../src/protocol/messages/index.ts';
import { FetchSession, type WantedPartition } from '../../src/client/reader/fetch-session.ts';
import { FakeCluster } from '../../src/testing/index.ts';
import { produceRaw } from '../helpers/produce.ts';

const want = (partition: number, fetchOffset: bigint, topic = 't', topicId = 'id-t'): WantedPartition => ({
  topic,
  topicId,
  partition,
  fields: { partition, fetchOffset, currentLeaderEpoch: 0, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 },
});
const answer = (sessionId: number, errorCode: number = ErrorCode.NONE): FetchResponse => ({ throttleTimeMs: 0, errorCode, sessionId, responses: [], nodeEndpoints: [] });
const named = (f: { topics: { partitions?: { partition?: number }[] }[] }) => f.topics.flatMap((t) => (t.partitions ?? []).map((p) => p.partition));

describe('FetchSession', () => {
  it('a full fetch opens the session; later fetches name only moved, new and forgotten partitions', () => {
    const s = new FetchSession(true);
    const f1 = s.next([want(0, 5n), want(1, 7n), want(2, 0n)], 17);
    assert.deepEqual([f1.sessionId, f1.sessionEpoch, f1.full], [0, 0, true]);
    assert.deepEqual(named(f1), [0, 1, 2]);
    s.answered(f1.ticket, answer(42));
    assert.equal(s.sessionId, 42);

    const f2 = s.next([want(0, 5n), want(1, 7n), want(2, 0n)], 17);
    assert.deepEqual([f2.sessionId, f2.sessionEpoch, f2.full], [42, 1, false]);
    assert.deepEqual(f2.topics, []);
    assert.deepEqual(f2.forgottenTopicsData, []);
    s.answered(f2.ticket, answer(42));

    // Partition 1 moved, 2 left, 3 joined.
    const f3 = s.next([want(0, 5n), want(1, 9n), want(3, 0n)], 17);
    assert.equal(f3.sessionEpoch, 2);
    assert.deepEqual(named(f3), [1, 3]);
    assert.deepEqual(f3.forgottenTopicsData, [{ topic: 't', topicId: 'id-t', partitions: [2] }]);
    s.answered(f3.ticket, answer(42));
    assert.equal(s.incremental, 2);
    assert.equal(s.next([want(0, 5n), want(1, 9n), want(3, 0n)], 17).sessionEpoch, 3);
  });

  it('session errors and lost answers start over with a full fetch', () => {
    const s = new FetchSession(true);
    const all = [want(0, 1n), want(1, 1n)];
    let f = s.next(all, 17);
    s.answered(f.ticket, answer(9));
    f = s.next(all, 17);
    s.answered(f.ticket, answer(0, ErrorCode.INVALID_FETCH_SESSION_EPOCH));
    f = s.next(all, 17);
    // Closes session 9 and opens another, naming every partition.
    assert.deepEqual([f.sessionId, f.sessionEpoch, named(f)], [9, 0, [0, 1]]);
    s.answered(f.ticket, answer(10));
    f = s.next(all, 17);
    s.answered(f.ticket, answer(0, ErrorCode.FETCH_SESSION_ID_NOT_FOUND));
    f = s.next(all, 17);
    assert.deepEqual([f.sessionId, f.sessionEpoch, f.full], [0, 0, true]);
    s.answered(f.ticket, answer(11));
    f = s.next(all, 17);
    s.failed(f.ticket);
    assert.deepEqual([s.next(all, 17).sessionEpoch], [0]);
  });

  it('a second fetch while one is out starts over, and the late answer changes nothing', () => {
    const s = new FetchSession(true);
    const all = [want(0, 1n)];
    let f = s.next(all, 17);
    s.answered(f.ticket, answer(5));
    const out = s.next(all, 17);
    f = s.next(all, 17);
    assert.deepEqual([f.sessionId, f.sessionEpoch, f.full], [5, 0, true]);
    s.answered(out.ticket, answer(5));
    s.answered(f.ticket, answer(6));
    assert.deepEqual([s.sessionId, s.next(all, 17).sessionEpoch], [6, 1]);
  });

  it('a topic recreated under its name (new id) starts over', () => {
    const s = new FetchSession(true);
    let f = s.next([want(0, 1n)], 17);
    s.answered(f.ticket, answer(5));
    f = s.next([want(0, 0n, 't', 'id-t2')], 17);
    assert.deepEqual([f.sessionEpoch, f.full], [0, true]);
  });

  it('off, or below Fetch v7: sessionless full fetches', () => {
    for (const [s, v] of [[new FetchSession(false), 17], [new FetchSession(true), 6]] as const) {
      const f = s.next([want(0, 1n)], v);
      assert.deepEqual([f.sessionId, f.sessionEpoch, f.full], [0, -1, true]);
      s.answered(f.ticket, answer(0));
      assert.equal(s.closing(), null);
    }
  });

  it('closing ends the session with epoch -1', () => {
    const s = new FetchSession(true);
    const f = s.next([want(0, 1n)], 17);
    s.answered(f.ticket, answer(8));
    assert.deepEqual(s.closing(), { sessionId: 8, sessionEpoch: -1 });
    assert.equal(s.closing(), null);
  });
});

describe('Reader with fetch sessions on a fake cluster', () => {
  it('reads every partition through incremental fetches, and close() ends the session', async () => {
    const fake = await FakeCluster.start({ brokers: 1 });
    const client = new Client({ brokers: fake.bootstrap });
    const reader = new Reader({ brokers: fake.bootstrap, topic: 'fs', groupId: 'g', maxWaitMs: 20 });
    try {
      await client.createTopics([{ topic: 'fs', numPartitions: 8 }]);
      const broker = fake.brokers[0]!.id;
      const read = new Set<string>();
      const ac = new AbortController();
      const loop = (async () => {
        for (;;) {
          const m = await reader.readMessage({ signal: ac.signal }).catch(() => null);
          if (!m) return;
          read.add(`${m.partition}:${m.offset}`);
        }
      })();
      for (let round = 0; round < 3; round++) {
        for (let p = 0; p < 8; p++) await produceRaw(client, 'fs', p, [{ value: `${round}` }]);
        const want = 8 * (round + 1);
        for (let i = 0; read.size < want && i < 200; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(read.size, want);
      }
      assert.equal(fake.fetchSessions(broker), 1);
      ac.abort();
      await loop;
      await reader.close();
      assert.equal(fake.fetchSessions(broker), 0);
    } finally {
      await reader.close();
      await client.close();
      await fake.stop();
    }
  });
  it('a session the broker lost (FETCH_SESSION_ID_NOT_FOUND) starts over with a full fetch at once; reading goes on', async () => {
    const fake = await FakeCluster.start({ brokers: 1 });
    const client = new Client({ brokers: fake.bootstrap });
    const reader = new Reader({ brokers: fake.bootstrap, topic: 'lost', partition: 0, maxWaitMs: 20 });
    try {
      await client.createTopics([{ topic: 'lost', numPartitions: 1 }]);
      await produceRaw(client, 'lost', 0, [{ value: 'a' }]);
      assert.equal((await reader.readMessage({ timeoutMs: 5_000 })).offset, 0n);
      const fault = fake.inject({ api: 'Fetch', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, times: 1 });
      for (let i = 0; fault.hits < 1 && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
      await produceRaw(client, 'lost', 0, [{ value: 'b' }]);
      const m = await reader.readMessage({ timeoutMs: 5_000 });
      assert.deepEqual([m.offset, new TextDecoder().decode(m.value!)], [1n, 'b']);
      assert.equal(fault.hits, 1);
      // Restarted in place: no error counted, no backoff, no metadata round.
      assert.equal(reader.stats().errors, 0);
    } finally {
      await reader.close();
      await client.close();
      await fake.stop();
    }
  });
});
