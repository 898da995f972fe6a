// Writer pieces that need no broker: defaults, WriteErrors, stats summaries, refusals before any I/O.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveWriterConfig } from '../../src/client/writer/config.ts';
import { Summary } from '../../src/client/writer/stats.ts';
import { Writer, WriteErrors, Murmur2Balancer } from '../../src/client/writer/index.ts';
import { AbortedError, ClosedError, KafkaError, KafkaProtocolError, TimeoutError } from '../../src/protocol/errors.ts';

describe('Writer without a broker', () => {
  it('defaults: acks=all, idempotent, a few ms of linger, murmur2 balancer; idempotence needs acks=all', () => {
    const c = resolveWriterConfig({ brokers: ['127.0.0.1:1'] });
    assert.equal(c.requiredAcks, 'all');
    assert.equal(c.idempotent, true);
    assert.ok(c.batchTimeoutMs <= 10);
    assert.ok(c.balancer instanceof Murmur2Balancer);
    assert.equal(c.maxInFlightPerPartition, 5);
    assert.equal(resolveWriterConfig({ brokers: ['x:1'], requiredAcks: 'leader' }).idempotent, false);
    assert.equal(resolveWriterConfig({ brokers: ['x:1'], maxInFlightPerPartition: 50 }).maxInFlightPerPartition, 5);
  });

  it('refuses a requiredAcks that is not a name (kafka-go\'s -1 from JavaScript went out as no acks at all)', () => {
    for (const bad of [-1, 1, 'ALL']) {
      assert.throws(() => resolveWriterConfig({ brokers: ['x:1'], requiredAcks: bad as never }), (e: unknown) => e instanceof KafkaError && !e.retriable && /requiredAcks must be 'none', 'leader' or 'all'/.test(e.message));
    }
  });

  it('WriteErrors is aligned with the input and counts failures', () => {
    const e = new WriteErrors([null, new KafkaProtocolError(10), null, new KafkaError('x', true)]);
    assert.equal(e.count(), 2);
    assert.equal(e.errors.length, 4);
    assert.equal(e.errors[0], null);
    assert.match(e.message, /2 of 4 messages failed/);
    assert.equal(e.retriable, false);
  });

  it('Summary snapshots and resets', () => {
    const s = new Summary();
    s.observe(2);
    s.observe(4);
    assert.deepEqual(s.take(), { avg: 3, min: 2, max: 4, count: 2, sum: 6 });
    assert.deepEqual(s.take(), { avg: 0, min: 0, max: 0, count: 0, sum: 0 });
  });

  it('per-call options: timeoutMs alone is an option; a deadline of 0 ends the call at once, nothing sent; a bad one is refused', async () => {
    const w = new Writer({ brokers: ['127.0.0.1:1'], topic: 't' });
    const t0 = performance.now();
    const e = await w.writeMessages({ value: 'a' }, { value: 'b' }, { timeoutMs: 0 }).then(() => null, (x: unknown) => x);
    assert.ok(performance.now() - t0 < 500);
    assert.ok(e instanceof WriteErrors && e.errors.length === 2, String(e));
    assert.ok(e.errors.every((x) => x instanceof TimeoutError));
    assert.deepEqual(e.sent, [false, false]);
    await assert.rejects(w.writeMessages({ value: 'a' }, { timeoutMs: Number.NaN }), /timeoutMs must be/);
    const ac = new AbortController();
    const p = w.writeMessages({ value: 'c' }, { signal: ac.signal });
    ac.abort();
    const a = await p.then(() => null, (x: unknown) => x);
    assert.ok(a instanceof WriteErrors && a.errors[0] instanceof AbortedError && a.sent[0] === false, String(a));
    await w.close();
  });

  it('refuses a message topic on a writer with a topic, and writes after close, without I/O', async () => {
    const w = new Writer({ brokers: ['127.0.0.1:1'], topic: 't' });
    await assert.rejects(w.writeMessages({ topic: 'u', value: 'v' }), /must not be specified for both/);
    assert.deepEqual(await w.writeMessages(), []);
    await w.close();
    await assert.rejects(w.writeMessages({ value: 'v' }), ClosedError);
    const s = w.stats();
    assert.equal(s.maxAttempts, 10);
    assert.equal(s.requiredAcks, -1);
    assert.equal(s.topic, 't');
  });
});
