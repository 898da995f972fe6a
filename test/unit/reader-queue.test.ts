// The bounded prefetch queue, the read_committed filter and the config checks of the Reader.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageQueue } from '../../src/client/reader/queue.ts';
import { AbortFilter, batchSlices, nextOffsetAfter } from '../../src/client/reader/message.ts';
import { resolveConfig } from '../../src/client/reader/config.ts';
import type { Message } from '../../src/client/reader/index.ts';
import { AbortedError, ClosedError, CorruptRecordError, KafkaError, TimeoutError } from '../../src/protocol/errors.ts';
import type { RecordBatch } from '../../src/protocol/records/index.ts';
import { encodeRecordBatch } from '../../src/protocol/records/index.ts';

const msg = (partition: number, offset: number, size = 10): Message => ({
  topic: 't',
  partition,
  offset: BigInt(offset),
  highWaterMark: 100n,
  key: null,
  value: new Uint8Array(size),
  headers: [],
  time: new Date(0),
});

describe('MessageQueue', () => {
  it('hold takes a paused partition out of the line without counting it; release puts it back in order; drop reaches held items', async () => {
    const q = new MessageQueue(4, 1000);
    for (const [p, o] of [[0, 0], [1, 0], [0, 1], [1, 1]]) q.push(msg(p, o));
    assert.ok(!q.hasSpace);
    q.hold('t', 0);
    assert.equal(q.length, 2);
    assert.equal(q.heldLength, 2);
    assert.ok(q.hasSpace, 'held messages must not fill the queue for other partitions');
    q.push(msg(1, 2));
    assert.deepEqual([(await q.take()).offset, (await q.take()).offset, (await q.take()).offset], [0n, 1n, 2n]);
    await assert.rejects(q.take({ timeoutMs: 20 }), TimeoutError);
    q.release('t', 0);
    assert.equal(q.heldLength, 0);
    assert.deepEqual([await q.take(), await q.take()].map((m) => `${m.partition}:${m.offset}`), ['0:0', '0:1']);
    q.push(msg(2, 0));
    q.hold('t', 2);
    assert.equal(q.drop((_t, p) => p === 2), 1);
    q.release('t', 2);
    assert.equal(q.length, 0);
  });

  it('limits messages and bytes, and wakes a producer when there is room', async () => {
    const q = new MessageQueue(2, 1000);
    q.push(msg(0, 0));
    assert.ok(q.hasSpace);
    q.push(msg(0, 1));
    assert.ok(!q.hasSpace);
    let woke = false;
    const space = q.waitForSpace().then(() => (woke = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(woke, false);
    assert.equal((await q.take()).offset, 0n);
    await space;
    assert.equal(woke, true);
    const qb = new MessageQueue(100, 25);
    qb.push(msg(0, 0, 20));
    assert.ok(qb.hasSpace);
    qb.push(msg(0, 1, 20));
    assert.ok(!qb.hasSpace);
    assert.equal(qb.bytes, 40);
    const empty = new MessageQueue(1, 1);
    assert.ok(empty.hasSpace); // one message always fits, however big
  });

  it('a partition error waits behind that partition\'s messages; other partitions keep theirs', async () => {
    const q = new MessageQueue(10, 1000);
    q.push(msg(0, 0));
    q.push(msg(1, 0));
    q.pushError(new CorruptRecordError('bad', 't', 0, 1n), 't', 0);
    q.push(msg(1, 1));
    assert.equal((await q.take()).partition, 0);
    assert.equal((await q.take()).partition, 1);
    await assert.rejects(q.take(), CorruptRecordError);
    assert.equal((await q.take()).offset, 1n);
  });

  it('drop removes a partition\'s messages and errors', async () => {
    const q = new MessageQueue(3, 1000);
    q.push(msg(0, 0));
    q.push(msg(1, 0));
    q.pushError(new KafkaError('x', false), 't', 0);
    q.push(msg(0, 1));
    assert.equal(q.drop((_t, p) => p === 0), 2);
    assert.equal(q.length, 1);
    assert.equal((await q.take()).partition, 1);
    await assert.rejects(q.take({ timeoutMs: 20 }), TimeoutError);
  });

  it('take: timeout, abort, close', async () => {
    const q = new MessageQueue(3, 1000);
    await assert.rejects(q.take({ timeoutMs: 10 }), TimeoutError);
    const ac = new AbortController();
    const p = q.take({ signal: ac.signal });
    ac.abort();
    await assert.rejects(p, AbortedError);
    const p2 = q.take();
    const space = (q.push(msg(0, 0)), q.push(msg(0, 1)), q.push(msg(0, 2)), q.waitForSpace());
    await p2;
    q.push(msg(0, 3));
    const full = q.waitForSpace();
    q.close();
    await assert.rejects(full, ClosedError);
    await assert.rejects(space, ClosedError); // never drained to half
    const q2 = new MessageQueue(4, 1000);
    for (let i = 0; i < 4; i++) q2.push(msg(0, i));
    let woke = 0;
    const w = q2.waitForSpace().then(() => woke++);
    await q2.take();
    await new Promise((r) => setImmediate(r));
    assert.equal(woke, 0); // 3 of 4: not yet
    await q2.take();
    await w;
    assert.equal(woke, 1); // half: the producer goes on
    await assert.rejects(q.take(), ClosedError);
  });
});

describe('AbortFilter and batch slices', () => {
  const batch = (o: Partial<RecordBatch>): RecordBatch => ({
    baseOffset: 0n, lastOffset: 0n, partitionLeaderEpoch: 0, magic: 2, compression: 0 as RecordBatch['compression'], timestampType: 'create-time',
    isTransactional: false, isControl: false, hasDeleteHorizon: false, baseTimestamp: 0n, maxTimestamp: 0n, producerId: -1n, producerEpoch: 0,
    baseSequence: 0, records: [], control: null, sizeInBytes: 0, ...o,
  });

  it('drops a producer\'s transactional batches from its aborted first offset to its abort marker', () => {
    const f = new AbortFilter([{ producerId: 7n, firstOffset: 10n }]);
    assert.equal(f.keep(batch({ baseOffset: 0n, lastOffset: 4n, isTransactional: true, producerId: 7n })), true); // committed earlier
    assert.equal(f.keep(batch({ baseOffset: 10n, lastOffset: 12n, isTransactional: true, producerId: 7n })), false);
    assert.equal(f.keep(batch({ baseOffset: 13n, lastOffset: 13n, isTransactional: true, producerId: 8n })), true);
    assert.equal(f.keep(batch({ baseOffset: 14n, lastOffset: 14n })), true);
    assert.equal(f.keep(batch({ baseOffset: 15n, lastOffset: 15n, isControl: true, isTransactional: true, producerId: 7n, control: { type: 'abort', typeCode: 0, coordinatorEpoch: 0 } })), false);
    assert.equal(f.keep(batch({ baseOffset: 16n, lastOffset: 16n, isTransactional: true, producerId: 7n })), true);
  });

  it('batchSlices yields whole batches and leaves a cut-off one out', async () => {
    const a = await encodeRecordBatch([{ value: new Uint8Array(5) }], { baseOffset: 0n });
    const b = await encodeRecordBatch([{ value: new Uint8Array(9) }, { value: null }], { baseOffset: 1n });
    const set = new Uint8Array(a.length + b.length);
    set.set(a);
    set.set(b, a.length);
    assert.deepEqual([...batchSlices(set)].map((s) => s.length), [a.length, b.length]);
    assert.deepEqual([...batchSlices(set.subarray(0, set.length - 3))].map((s) => s.length), [a.length]);
  });

  it('nextOffsetAfter reads the offset after the last whole batch from headers; legacy sets give null', async () => {
    const a = await encodeRecordBatch([{ value: new Uint8Array(5) }], { baseOffset: 40n });
    const b = await encodeRecordBatch([{ value: new Uint8Array(9) }, { value: null }, { value: null }], { baseOffset: 41n });
    const set = new Uint8Array(a.length + b.length);
    set.set(a);
    set.set(b, a.length);
    assert.equal(nextOffsetAfter(set, 40n), 44n);
    assert.equal(nextOffsetAfter(set.subarray(0, set.length - 3), 40n), 41n); // the cut-off batch is fetched again
    assert.equal(nextOffsetAfter(set.subarray(0, 20), 40n), 40n); // nothing whole: stay
    const legacy = set.slice(0, a.length);
    legacy[16] = 1;
    assert.equal(nextOffsetAfter(legacy, 40n), null);
  });
});

describe('resolveConfig', () => {
  const brokers = ['127.0.0.1:1'];
  it('applies kafka-go defaults', () => {
    const c = resolveConfig({ brokers, topic: 't' });
    assert.equal(c.startOffset, -2n);
    assert.equal(c.minBytes, 1);
    assert.equal(c.maxBytes, 10 * 1024 * 1024);
    assert.equal(c.maxWaitMs, 500);
    assert.equal(c.queueCapacity, 1000);
    assert.deepEqual(c.assignors, ['range', 'roundrobin']);
    assert.equal(c.partition, 0);
    assert.equal(c.commitIntervalMs, 0);
  });
  it('refuses contradictions', () => {
    assert.throws(() => resolveConfig({ brokers }), /topic is required/);
    assert.throws(() => resolveConfig({ brokers, topic: 't', groupId: 'g', partition: 1 }), /partition/);
    assert.throws(() => resolveConfig({ brokers, topic: 't', startOffset: -5n }), /startOffset/);
    assert.throws(() => resolveConfig({ brokers, topic: 't', startOffset: new Date(NaN) }), /startOffset/);
    assert.equal(resolveConfig({ brokers, topic: 't', startOffset: 5n }).startOffset, 5n);
    const at = new Date(1_700_000_000_000);
    assert.deepEqual([resolveConfig({ brokers, topic: 't', startOffset: at }).startTime, resolveConfig({ brokers, topic: 't' }).startTime], [at, null]);
    assert.equal(resolveConfig({ brokers, topic: 't', groupId: 'g', groupProtocol: 'consumer' }).groupProtocol, 'consumer');
    assert.throws(() => resolveConfig({ brokers, topic: 't', groupId: 'g', groupProtocol: 'eager' as 'classic' }), /groupProtocol/);
    assert.throws(() => resolveConfig({ brokers, topic: 't', groupId: 'g', heartbeatIntervalMs: 10_000, sessionTimeoutMs: 6_000 }), /heartbeat/);
  });
});
