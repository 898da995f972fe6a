// Batching as documented, measured on the wire: batchSize and batchBytes seal batches (seen as record
// counts of the batches the broker stored), batchTimeoutMs is the linger; async mode reports every
// outcome to the completion callback; memory stays bounded under backpressure.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { KafkaProtocolError } from '../../src/protocol/errors.ts';
import { Writer, WriteErrors, type WriteResult, type WriterConfig, type WriterMessage } from '../../src/client/writer/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { fetchBatches } from '../helpers/produce.ts';

describe('Writer batching (cluster A)', () => {
  let client: Client;
  const topics: string[] = [];
  const writers: Writer[] = [];
  const newTopic = async (partitions = 1) => {
    const t = uniqueTopic('batching');
    await client.createTopics([{ topic: t, numPartitions: partitions, replicationFactor: 3 }]);
    topics.push(t);
    return t;
  };
  const writer = (cfg: Partial<WriterConfig>) => {
    const w = new Writer({ brokers: cluster('a').bootstrap, clientId: 'mka-writer-batching', ...cfg });
    writers.push(w);
    return w;
  };
  const batchCounts = async (t: string, n: number) =>
    (await fetchBatches(client, t, 0, 0n, n)).filter((b) => !b.isControl).map((b) => b.records.length);

  before(() => {
    client = new Client({ brokers: cluster('a').bootstrap, clientId: 'mka-writer-batching-admin' });
  });
  after(async () => {
    for (const w of writers) await w.close();
    await client.deleteTopics(topics, { ifExists: true }).catch(() => {});
    await client.close();
  });

  it('batchSize: a full batch goes at once, without waiting for the linger', async () => {
    const topic = await newTopic();
    const w = writer({ topic, batchSize: 10, batchTimeoutMs: 10_000 });
    const t0 = performance.now();
    await w.writeMessages(...Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })));
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `10 messages with batchSize 10 took ${ms.toFixed(0)} ms`);
    const w2 = writer({ topic, batchSize: 10, batchTimeoutMs: 500 });
    await w2.writeMessages(...Array.from({ length: 25 }, (_, i) => ({ value: `n${i}` })));
    assert.deepEqual(await batchCounts(topic, 10 + 25), [10, 10, 10, 5]);
  });

  it('batchTimeoutMs: a lone message waits for the linger, then goes', async () => {
    const topic = await newTopic();
    const w = writer({ topic, batchTimeoutMs: 200 });
    await w.writeMessages({ value: 'warm-up' });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await w.writeMessages({ value: `lone ${i}` });
      times.push(performance.now() - t0);
    }
    for (const ms of times) assert.ok(ms >= 195 && ms < 1000, `resolved after ${ms.toFixed(0)} ms`);
    const s = w.stats();
    assert.ok(s.batchTime.min >= 195, `batchTime ${JSON.stringify(s.batchTime)}`);
    // The default linger is a few milliseconds.
    const quick = writer({ topic });
    await quick.writeMessages({ value: 'warm-up' });
    const t0 = performance.now();
    await quick.writeMessages({ value: 'quick' });
    assert.ok(performance.now() - t0 < 150);
  });

  it('batchTimeoutMs 0: one call (or a burst of calls in one turn) is one batch, sent without a timer', async () => {
    const topic = await newTopic();
    const w = writer({ topic, batchTimeoutMs: 0 });
    await w.writeMessages({ value: 'warm-up' });
    await w.writeMessages(...Array.from({ length: 50 }, (_, i) => ({ value: `a${i}` })));
    await Promise.all([w.writeMessages({ value: 'b0' }, { value: 'b1' }), w.writeMessages({ value: 'b2' })]);
    assert.deepEqual(await batchCounts(topic, 1 + 50 + 3), [1, 50, 3]);
    assert.ok(w.stats().batchTime.max < 50);
  });

  it('batchBytes: a batch is sealed before it would pass the byte limit', async () => {
    const topic = await newTopic();
    const value = 'v'.repeat(1000);
    // One record of a 1000-byte value is ~1025 bytes in a batch with a 61-byte header: 9 fit in 10 000.
    const w = writer({ topic, batchBytes: 10_000, batchSize: 1000, batchTimeoutMs: 500 });
    await w.writeMessages(...Array.from({ length: 30 }, () => ({ value })));
    const batches = (await fetchBatches(client, topic, 0, 0n, 30)).filter((b) => !b.isControl);
    assert.deepEqual(batches.map((b) => b.records.length), [9, 9, 9, 3]);
    for (const b of batches) assert.ok(b.sizeInBytes <= 10_000, `batch of ${b.sizeInBytes} bytes`);
    const s = w.stats();
    assert.equal(s.batchSize.max, 9);
    assert.ok(s.batchBytes.max <= 10_000);
  });

  it('async: writeMessages returns at once; completion gets every result and every error', async () => {
    const topic = await newTopic(3);
    const outcomes: { messages: readonly WriterMessage[]; error: Error | null; results: readonly (WriteResult | null)[] }[] = [];
    let all!: () => void;
    const allDone = new Promise<void>((r) => (all = r));
    const w = writer({
      topic,
      async: true,
      batchTimeoutMs: 300,
      batchBytes: 64 * 1024,
      completion: (messages, error, results) => {
        outcomes.push({ messages, error, results });
        if (outcomes.length === 21) all();
      },
    });
    await w.writeMessages({ value: 'warm-up' }); // metadata: the later calls need no round trip
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      const r = await w.writeMessages({ key: `k${i}`, value: `a${i}` }, { key: `k${i}`, value: i === 7 ? 'x'.repeat(100_000) : `b${i}` });
      assert.deepEqual(r, []);
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 250, `20 async calls took ${ms.toFixed(0)} ms (the linger is 300 ms)`);
    await allDone;
    const calls = outcomes.filter((o) => o.messages.length === 2);
    assert.equal(calls.length, 20);
    for (const o of calls) {
      const i = Number((o.messages[0].value as string).slice(1));
      assert.equal(o.results.length, 2);
      assert.ok(o.results[0] && o.results[0].offset >= 0n && o.results[0].topic === topic);
      if (i === 7) {
        assert.ok(o.error instanceof WriteErrors);
        assert.equal(o.error.count(), 1);
        assert.equal(o.error.errors[0], null);
        assert.ok(o.error.errors[1] instanceof KafkaProtocolError && o.error.errors[1].type === 'MESSAGE_TOO_LARGE');
        assert.equal(o.results[1], null);
      } else {
        assert.equal(o.error, null);
        assert.ok(o.results[1] && o.results[1].offset === o.results[0]!.offset + 1n, 'same key, same partition, in order');
      }
    }
    // close waits for async messages too.
    const w2 = writer({ topic, async: true, batchTimeoutMs: 100 });
    await w2.writeMessages({ value: 'async before close' });
    await w2.close();
  });

  it('backpressure: buffered bytes stay bounded by maxBufferedBytes', async () => {
    const topic = await newTopic(3);
    const max = 64 * 1024;
    const w = writer({ topic, async: true, maxBufferedBytes: max, batchTimeoutMs: 5, batchBytes: 16 * 1024 });
    let peak = 0;
    const value = 'z'.repeat(1024);
    const n = 2000;
    const t = setInterval(() => (peak = Math.max(peak, w.bufferedBytes)), 1);
    for (let i = 0; i < n; i++) {
      await w.writeMessages({ value });
      peak = Math.max(peak, w.bufferedBytes);
    }
    await w.close();
    clearInterval(t);
    assert.ok(peak <= max + 1100, `peak ${peak} bytes buffered, limit ${max}`);
    assert.equal(w.bufferedBytes, 0);
    const s = w.stats();
    assert.equal(s.messages, n);
    assert.ok(s.waitTime.count > 0, 'writers waited for space');
  });
});
