// Seeking and pausing inside a group, and where a Reader starts: setOffset/setOffsetAt on an assigned
// partition (both group protocols), pause/resume that keeps what was fetched ahead, startOffset as an
// offset or a Date, and the error for a partition-less Reader on a multi-partition topic.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { KafkaError, TimeoutError } from '../../src/protocol/errors.ts';
import { Reader, type GroupProtocol, type Message, type ReaderConfig } from '../../src/client/reader/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { produceRetrying, until } from '../helpers/reader-loop.ts';

const P = 3;
const N = 20; // messages per partition
const BASE = Date.UTC(2026, 0, 1); // message i of a partition is stamped BASE + i s

describe('Reader: seeking, pausing, start offsets', () => {
  let client: Client;
  const readers: Reader[] = [];
  const topics: string[] = [];
  const open = (c: Partial<ReaderConfig>) => {
    const r = new Reader({ brokers: cluster('b').bootstrap, maxWaitMs: 100, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 10_000, ...c });
    readers.push(r);
    return r;
  };

  async function filledTopic(partitions = P): Promise<string> {
    const topic = uniqueTopic('seek');
    topics.push(topic);
    await client.createTopics([{ topic, numPartitions: partitions }]);
    for (let p = 0; p < partitions; p++) {
      await produceRetrying(client, topic, p, Array.from({ length: N }, (_, i) => ({ value: `${p}-${i}`, timestamp: BASE + i * 1000 })));
    }
    return topic;
  }

  async function readN(r: Reader, n: number): Promise<Message[]> {
    const out: Message[] = [];
    while (out.length < n) out.push(await r.fetchMessage({ timeoutMs: 15_000 }));
    return out;
  }

  const offsetsOf = (ms: Message[], p: number) => ms.filter((m) => m.partition === p).map((m) => Number(m.offset));
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  before(() => {
    client = new Client({ brokers: cluster('b').bootstrap });
  });
  after(async () => {
    for (const r of readers) await r.close().catch(() => {});
    await client.deleteTopics(topics).catch(() => {});
    await client.close();
  });

  for (const groupProtocol of ['classic', 'consumer'] as GroupProtocol[]) {
    it(`${groupProtocol} group: setOffset and setOffsetAt move one assigned partition; unassigned or unnamed partitions are refused`, async () => {
      const topic = await filledTopic();
      const r = open({ topic, groupId: uniqueTopic('g'), groupProtocol, queueCapacity: 5 });
      const first = await readN(r, 5);
      await until('all partitions assigned', () => r.assignment().length === P, 20_000);
      assert.ok(first.length === 5);

      assert.throws(() => r.setOffset(0n), (e: unknown) => e instanceof KafkaError && /needs the partition/.test(e.message));
      assert.throws(() => r.setOffset(0n, { partition: P + 4 }), (e: unknown) => e instanceof KafkaError && /not assigned/.test(e.message));
      assert.throws(() => r.setOffset(0n, { topic: 'other', partition: 0 }), (e: unknown) => e instanceof KafkaError && /not assigned/.test(e.message));

      // Read everything once, then go back: partition 1 to offset 7, partition 2 to the message at BASE + 12 s.
      const all = [...first, ...(await readN(r, P * N - 5))];
      for (let p = 0; p < P; p++) assert.deepEqual(offsetsOf(all, p), range(0, N));
      r.setOffset(7n, { partition: 1 });
      await r.setOffsetAt(new Date(BASE + 11_500), { topic, partition: 2 });
      const again = await readN(r, N - 7 + N - 12);
      assert.deepEqual(offsetsOf(again, 1), range(7, N));
      assert.deepEqual(offsetsOf(again, 2), range(12, N));
      assert.deepEqual(offsetsOf(again, 0), []);
      await assert.rejects(r.fetchMessage({ timeoutMs: 500 }), TimeoutError);

      // A commit after a seek is the seek's position: the group's committed offset goes back with it.
      r.setOffset(3n, { partition: 0 });
      const m = await r.fetchMessage({ timeoutMs: 15_000 });
      assert.equal(m.partition, 0);
      assert.equal(m.offset, 3n);
      await r.commitMessages(m);
      const lag = (await r.groupLag()).get(topic)!.get(0)!;
      assert.equal(lag.committed, 4n);
      assert.equal(lag.position, 4n);
      assert.equal(lag.lag, BigInt(N - 4));
    });
  }

  it('pause keeps what was fetched ahead: nothing of a paused partition is read, all of it after resume, in order, once', async () => {
    const topic = await filledTopic();
    const r = open({ topic, groupId: uniqueTopic('g'), queueCapacity: 1000 });
    const first = await readN(r, 1);
    await until('all partitions assigned', () => r.assignment().length === P, 20_000);
    // Everything is prefetched (the queue holds all of it) before the pause.
    await until('everything prefetched', () => r.stats().queueLength === P * N - 1, 15_000);
    const p0 = first[0].partition;
    const other = (p0 + 1) % P;
    r.pause([{ partition: p0 }, { topic, partition: other }]);
    assert.deepEqual(r.paused().map((tp) => tp.partition).sort(), [p0, other].sort());
    const rest = N; // the third partition; the first message read was p0's
    const during = await readN(r, rest);
    assert.ok(during.every((m) => m.partition !== p0 && m.partition !== other), 'a paused partition was read');
    await assert.rejects(r.fetchMessage({ timeoutMs: 800 }), TimeoutError);

    // More data while paused is not fetched either.
    await produceRetrying(client, topic, p0, [{ value: 'late', timestamp: BASE + N * 1000 }]);
    await assert.rejects(r.fetchMessage({ timeoutMs: 800 }), TimeoutError);

    r.resume([{ partition: p0 }]);
    assert.deepEqual(r.paused().map((tp) => tp.partition), [other]);
    const after0 = await readN(r, N);
    assert.deepEqual(offsetsOf(after0, p0), range(1, N + 1));
    r.resume([{ partition: other }]);
    const afterOther = await readN(r, N);
    assert.deepEqual(offsetsOf(afterOther, other), range(0, N));
    await assert.rejects(r.fetchMessage({ timeoutMs: 500 }), TimeoutError);
  });

  it('partition reader: pause and resume keep prefetched messages; a seek while paused drops them and stays paused', async () => {
    const topic = await filledTopic(1);
    const r = open({ topic, partition: 0, queueCapacity: 1000 });
    assert.equal((await r.fetchMessage({ timeoutMs: 15_000 })).offset, 0n);
    await until('everything prefetched', () => r.stats().queueLength === N - 1, 15_000);
    r.pause([{ partition: 0 }]);
    await assert.rejects(r.fetchMessage({ timeoutMs: 500 }), TimeoutError);
    r.resume([{ partition: 0 }]);
    assert.deepEqual((await readN(r, 5)).map((m) => Number(m.offset)), range(1, 6));
    r.pause([{ partition: 0 }]);
    r.setOffset(15n);
    await assert.rejects(r.fetchMessage({ timeoutMs: 500 }), TimeoutError);
    r.resume([{ partition: 0 }]);
    assert.deepEqual((await readN(r, 5)).map((m) => Number(m.offset)), range(15, 20));
    assert.throws(() => r.pause([{ partition: 1 }]), KafkaError);
  });

  it('startOffset: an offset, a Date (partition and group mode), a Date past the end', async () => {
    const topic = await filledTopic();
    const at = open({ topic, partition: 1, startOffset: 13n });
    assert.deepEqual((await readN(at, N - 13)).map((m) => Number(m.offset)), range(13, N));

    const byTime = open({ topic, partition: 2, startOffset: new Date(BASE + 16_000) });
    assert.deepEqual((await readN(byTime, 4)).map((m) => Number(m.offset)), range(16, N));
    assert.equal(byTime.offset(), 20n);

    const future = open({ topic, partition: 0, startOffset: new Date(BASE + 3_600_000) });
    await assert.rejects(future.fetchMessage({ timeoutMs: 1_500 }), TimeoutError);
    assert.equal(future.offset(), BigInt(N));

    const group = open({ topic, groupId: uniqueTopic('g'), startOffset: new Date(BASE + 18_000) });
    const ms = await readN(group, P * 2);
    for (let p = 0; p < P; p++) assert.deepEqual(offsetsOf(ms, p), [18, 19]);

    assert.throws(() => open({ topic, partition: 0, startOffset: -5n }), /startOffset/);
  });

  it('a Reader without partition or groupId on a multi-partition topic fails its first read and says why', async () => {
    const topic = await filledTopic();
    const r = open({ topic });
    await assert.rejects(r.fetchMessage({ timeoutMs: 10_000 }), (e: unknown) => e instanceof KafkaError && !e.retriable && /has 3 partitions: set partition/.test(e.message));
    const one = await filledTopic(1);
    const r1 = open({ topic: one });
    assert.equal((await r1.fetchMessage({ timeoutMs: 15_000 })).offset, 0n);
  });
});
