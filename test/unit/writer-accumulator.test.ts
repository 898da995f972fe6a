// The Writer's accumulator and idempotent state without a broker: a ready batch keeps growing while
// nobody takes it; messages of an ended call are removed and never encoded into what is sent; sequence
// numbers stay consecutive across removals; a new epoch renumbers what is queued.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Accumulator, Entry, type AccumulatorHooks, type PartitionQueue } from '../../src/client/writer/accumulator.ts';
import { WriteCall } from '../../src/client/writer/call.ts';
import { ProducerState } from '../../src/client/writer/producer-state.ts';
import { AbortedError } from '../../src/protocol/errors.ts';
import { decodeRecordSet, estimateRecordSize } from '../../src/protocol/records/index.ts';

const utf8 = new TextEncoder();
const td = new TextDecoder();
const NO_DEADLINE = 2 ** 31;

function setup(cfg: { batchSize?: number; batchBytes?: number; batchTimeoutMs?: number } = {}) {
  const wakes: (number | 'turn')[] = [];
  const failed: unknown[] = [];
  const hooks: AccumulatorHooks = { wake: (d) => void wakes.push(d), sealFailed: (_b, e) => void failed.push(e) };
  const acc = new Accumulator(
    { batchSize: cfg.batchSize ?? 100, batchBytes: cfg.batchBytes ?? 1 << 20, batchTimeoutMs: cfg.batchTimeoutMs ?? 5, maxBufferedBytes: 1 << 30, compression: 0 },
    hooks,
  );
  return { acc, wakes, failed, p: acc.partition('t', 0) };
}

/** A call of `values`, its messages appended to p (as admission does). */
function call(acc: Accumulator, p: PartitionQueue, values: string[]): WriteCall {
  const c = new WriteCall(values.map((value) => ({ value })), NO_DEADLINE, undefined, (x, r) => x.endEarly(r), () => {});
  values.forEach((v, i) => {
    const value = utf8.encode(v);
    const e = new Entry(c, i, 1_700_000_000_000, null, value, [], estimateRecordSize(null, value, []));
    acc.append(p, e);
    c.slots[i] = e;
  });
  return c;
}

const turn = () => new Promise((r) => setImmediate(r));

async function sealAndDecode(acc: Accumulator, p: PartitionQueue, i = 0) {
  const b = p.batches[i];
  acc.seal(b);
  await turn();
  assert.equal(b.state, 'sealed');
  const [batch] = await decodeRecordSet(b.sealed!.bytes);
  return { b, batch, values: batch.records.map((r) => td.decode(r.value!)) };
}

describe('Writer accumulator', () => {
  it('a ready batch that nobody takes keeps growing up to batchSize, then a new one starts behind it', async () => {
    const { acc, p, wakes } = setup({ batchSize: 100, batchTimeoutMs: 5 });
    call(acc, p, Array.from({ length: 10 }, (_, i) => `a${i}`));
    assert.deepEqual(wakes, [5], 'the first message arms the linger');
    const b = p.batches[0];
    await new Promise((r) => setTimeout(r, 15));
    assert.ok(acc.readyAt(b) <= performance.now(), 'ready after the linger');
    // The partition is blocked (in-flight limit): the ready batch is not taken, and grows.
    call(acc, p, Array.from({ length: 80 }, (_, i) => `b${i}`));
    assert.equal(p.batches.length, 1);
    assert.equal(b.live, 90);
    call(acc, p, Array.from({ length: 30 }, (_, i) => `c${i}`));
    assert.deepEqual(p.batches.map((x) => x.live), [100, 20], 'full at batchSize, the rest behind');
    assert.equal(acc.readyAt(p.batches[0]), 0);
    const { values } = await sealAndDecode(acc, p);
    assert.equal(values.length, 100);
    assert.equal(values[99], 'c9');
  });

  it('batchBytes closes a batch before it would pass the limit; flush makes every open batch ready', () => {
    const value = 'v'.repeat(1000);
    const { acc, p } = setup({ batchBytes: 10_000, batchTimeoutMs: 60_000 });
    call(acc, p, Array.from({ length: 12 }, () => value));
    assert.deepEqual(p.batches.map((x) => x.live), [9, 3]);
    assert.ok(p.batches[0].bytes <= 10_000);
    assert.ok(acc.readyAt(p.batches[1]) > performance.now());
    acc.flush();
    assert.equal(acc.readyAt(p.batches[1]), 0);
  });

  it("an ended call's queued messages leave the batch and the buffer; the batch is encoded without them", async () => {
    const { acc, p } = setup();
    const keep1 = call(acc, p, ['k0', 'k1']);
    const gone = call(acc, p, ['g0', 'g1', 'g2']);
    const keep2 = call(acc, p, ['k2']);
    const before = acc.buffered;
    gone.endEarly('abort');
    assert.deepEqual(gone.sent, [false, false, false]);
    assert.ok(gone.errors.every((e) => e instanceof AbortedError && /not sent/.test(e.message)));
    const b = p.batches[0];
    assert.equal(b.live, 3);
    assert.ok(acc.buffered < before && acc.buffered === b.bytes - 61, `buffered ${acc.buffered}, batch ${b.bytes}`);
    const { values } = await sealAndDecode(acc, p);
    assert.deepEqual(values, ['k0', 'k1', 'k2']);
    assert.deepEqual(b.entries.map((e) => e.call), [keep1, keep1, keep2], 'offsets map to the entries left');
  });

  it('a batch whose every message was removed is dropped; a sent batch keeps its messages (outcome unknown)', async () => {
    const { acc, p } = setup();
    const c = call(acc, p, ['x', 'y']);
    c.endEarly('timeout');
    assert.equal(p.batches.length, 0);
    assert.equal(acc.buffered, 0);
    const s = call(acc, p, ['s0', 's1']);
    const b = p.batches[0];
    acc.seal(b);
    await turn();
    b.sentOnce = true; // what the send loop does as it hands the batch to a connection
    s.endEarly('timeout');
    assert.deepEqual(s.sent, [true, true]);
    assert.ok(s.errors.every((e) => e && /outcome is unknown/.test(e.message)));
    assert.equal(b.live, 2);
    assert.equal(b.waiting, 0, 'nobody waits for it: the send loop may drop it');
  });

  it('removal while a batch is being encoded: it is encoded again before it may be sent', async () => {
    const { acc, p } = setup();
    call(acc, p, ['a']);
    const c = call(acc, p, ['b']);
    const b = p.batches[0];
    acc.seal(b);
    c.endEarly('abort'); // during the (asynchronous) encode
    await turn();
    assert.equal(acc.sendable(b), false);
    const { values } = await sealAndDecode(acc, p);
    assert.deepEqual(values, ['a']);
    assert.equal(acc.sendable(b), true);
  });

  it('sequences are taken at send time: consecutive across removals; a new epoch renumbers what is queued', async () => {
    const { acc, p } = setup({ batchSize: 3 });
    const epochs: (number | null)[] = [];
    const producer = new ProducerState(async (current) => {
      epochs.push(current?.producerEpoch ?? null);
      return { producerId: 7n, producerEpoch: current ? current.producerEpoch + 1 : 0 };
    });
    const r = producer.prepare(() => acc.all(), 0, () => true);
    assert.equal(r.state, 'pending');
    await (r as { work: Promise<void> }).work;
    call(acc, p, ['a0', 'a1']);
    const gone = call(acc, p, ['g0']);
    call(acc, p, ['b0', 'b1']);
    gone.endEarly('abort');
    // Batches: [a0 a1 (g0 removed)] [b0 b1].
    const first = await sealAndDecode(acc, p, 0);
    producer.stamp(p, first.b);
    const second = await sealAndDecode(acc, p, 1);
    producer.stamp(p, second.b);
    const [x] = await decodeRecordSet(first.b.sealed!.bytes);
    const [y] = await decodeRecordSet(second.b.sealed!.bytes);
    assert.deepEqual([x.baseSequence, x.records.length, y.baseSequence, y.records.length], [0, 2, 2, 2], 'no gap where g0 was');
    assert.equal(x.producerId, 7n);
    assert.equal(p.nextSequence, 4);
    // A gap that cannot be filled: a new epoch, once nothing is in flight.
    producer.needsReset = true;
    assert.equal(producer.prepare(() => acc.all(), 1, () => true).state, 'drain-first');
    const reset = producer.prepare(() => acc.all(), 0, () => true);
    await (reset as { work: Promise<void> }).work;
    assert.deepEqual(epochs, [null, 0]);
    assert.deepEqual(p.batches.map((b) => b.baseSequence), [-1, -1], 'queued batches are numbered afresh');
    assert.equal(p.nextSequence, 0);
    producer.stamp(p, p.batches[1]);
    const [z] = await decodeRecordSet(p.batches[1].sealed!.bytes);
    assert.deepEqual([z.producerEpoch, z.baseSequence], [1, 0]);
  });
});
