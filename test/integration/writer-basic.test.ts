// Writer against cluster A: what is written reads back byte for byte, in order; every codec; every acks
// level; per-message errors aligned with the input; unknown topics; close; abort.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { Client } from '../../src/client/client.ts';
import { AbortedError, ClosedError, KafkaError, KafkaProtocolError } from '../../src/protocol/errors.ts';
import { Writer, WriteErrors, type WriterMessage } from '../../src/client/writer/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { fetchRaw } from '../helpers/produce.ts';

const brokers = () => cluster('a').bootstrap;

describe('Writer basics (cluster A)', () => {
  let client: Client;
  let topic: string;
  const writers: Writer[] = [];
  const writer = (cfg: Partial<ConstructorParameters<typeof Writer>[0]> = {}) => {
    const w = new Writer({ brokers: brokers(), clientId: 'mka-writer-test', topic, ...cfg });
    writers.push(w);
    return w;
  };

  before(async () => {
    client = new Client({ brokers: brokers(), clientId: 'mka-writer-test-admin' });
    topic = uniqueTopic('writer');
    await client.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]);
  });
  after(async () => {
    for (const w of writers) await w.close();
    await client.deleteTopics([topic], { ifExists: true }).catch(() => {});
    await client.close();
  });

  it('writes keys, values, headers and timestamps that read back exactly, in order per partition', async () => {
    const t = uniqueTopic('exact');
    await client.createTopics([{ topic: t, numPartitions: 4, replicationFactor: 3 }]);
    const w = writer({ topic: t });
    const t0 = Date.UTC(2024, 0, 1);
    const msgs: WriterMessage[] = Array.from({ length: 200 }, (_, i) => ({
      key: i % 10 === 9 ? null : `k${i % 7}`,
      value: i === 5 ? null : `value-${i}-${'é'.repeat(i % 4)}`,
      headers: i % 3 === 0 ? [{ key: 'h1', value: `hv${i}` }, { key: 'empty', value: null }] : [],
      time: new Date(t0 + i),
    }));
    const results = await w.writeMessages(...msgs);
    assert.equal(results.length, msgs.length);
    // Per partition: offsets grow in the order the messages were given.
    const byPartition = new Map<number, number[]>();
    results.forEach((r, i) => {
      assert.equal(r.topic, t);
      assert.ok(r.offset >= 0n);
      const l = byPartition.get(r.partition) ?? [];
      l.push(i);
      byPartition.set(r.partition, l);
    });
    let total = 0;
    for (const [partition, idx] of byPartition) {
      const offsets = idx.map((i) => results[i].offset);
      assert.deepEqual(offsets, [...offsets].sort((a, b) => (a < b ? -1 : 1)), 'offsets in input order');
      const read = await fetchRaw(client, t, partition, 0n, idx.length);
      assert.equal(read.length, idx.length);
      read.forEach((r, j) => {
        const m = msgs[idx[j]];
        assert.equal(r.offset, results[idx[j]].offset);
        assert.equal(r.key, m.key ?? null);
        assert.equal(r.value, m.value);
        assert.equal(r.timestamp.getTime(), m.time!.getTime());
        assert.deepEqual(r.headers, (m.headers ?? []).map((h) => ({ key: h.key, value: h.value })));
      });
      total += read.length;
    }
    assert.equal(total, msgs.length);
    // Keyed messages land where the Java client would put them: same key, same partition.
    const where = new Map<string, number>();
    results.forEach((r, i) => {
      const k = msgs[i].key as string | null;
      if (k === null) return;
      if (where.has(k)) assert.equal(where.get(k), r.partition, `key ${k}`);
      where.set(k, r.partition);
    });
    const s = w.stats();
    assert.equal(s.messages, msgs.length);
    assert.ok(s.writes >= 1 && s.dials >= 1 && s.bytes > 0);
    assert.equal(s.errors, 0);
    assert.equal(s.topic, t);
    assert.equal(w.stats().messages, 0, 'stats reset after a snapshot');
    await client.deleteTopics([t]);
  });

  it('every compression codec round-trips; zstd where the runtime can compress it', async () => {
    const hasZstd = typeof (zlib as unknown as { zstdCompress?: unknown }).zstdCompress === 'function';
    for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const t = uniqueTopic(`codec-${compression}`);
      await client.createTopics([{ topic: t, numPartitions: 1, replicationFactor: 3 }]);
      if (compression === 'zstd' && !hasZstd) {
        // Refused when the writer is made, not on every write.
        assert.throws(() => writer({ topic: t, compression }), (e: unknown) => e instanceof KafkaError && !e.retriable && /zstd compression is not available in this runtime/.test(e.message));
        await client.deleteTopics([t]);
        continue;
      }
      const w = writer({ topic: t, compression });
      const msgs = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `${compression} ${i} `.repeat(20) }));
      await w.writeMessages(...msgs);
      const read = await fetchRaw(client, t, 0, 0n, msgs.length);
      assert.deepEqual(read.map((r) => [r.key, r.value]), msgs.map((m) => [m.key, m.value]), compression);
      await w.close();
      await client.deleteTopics([t]);
    }
  });

  it('requiredAcks none, leader and all deliver', async () => {
    const t = uniqueTopic('acks');
    await client.createTopics([{ topic: t, numPartitions: 1, replicationFactor: 3 }]);
    let n = 0;
    for (const requiredAcks of ['none', 'leader', 'all'] as const) {
      const w = writer({ topic: t, requiredAcks });
      assert.equal(w.config.idempotent, requiredAcks === 'all', 'idempotence only with acks=all');
      const res = await w.writeMessages(...Array.from({ length: 10 }, (_, i) => ({ value: `${requiredAcks}-${i}` })));
      if (requiredAcks === 'none') assert.ok(res.every((r) => r.offset === -1n));
      else assert.deepEqual(res.map((r) => r.offset), Array.from({ length: 10 }, (_, i) => BigInt(n + i)));
      n += 10;
      await w.close();
    }
    const read = await fetchRaw(client, t, 0, 0n, 30);
    assert.deepEqual(
      read.map((r) => r.value),
      ['none', 'leader', 'all'].flatMap((a) => Array.from({ length: 10 }, (_, i) => `${a}-${i}`)),
    );
    await client.deleteTopics([t]);
  });

  it('a message too large fails alone (named in WriteErrors); the others are delivered', async () => {
    const t = uniqueTopic('large');
    await client.createTopics([{ topic: t, numPartitions: 1, replicationFactor: 3 }]);
    // Refused by the writer (larger than batchBytes).
    const w = writer({ topic: t });
    const big = 'x'.repeat(2 * 1024 * 1024);
    const err = await w.writeMessages({ value: 'a' }, { value: big }, { value: 'c' }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof WriteErrors);
    assert.equal(err.count(), 1);
    assert.equal(err.errors[0], null);
    assert.equal(err.errors[2], null);
    assert.ok(err.errors[1] instanceof KafkaProtocolError && err.errors[1].type === 'MESSAGE_TOO_LARGE');
    // Refused by the broker (batchBytes above its max.message.bytes): the batch is split, the good
    // messages of the same batch still land, in order, and the writer keeps working after the gap.
    const w2 = writer({ topic: t, batchBytes: 8 * 1024 * 1024, batchTimeoutMs: 50 });
    const msgs = [{ value: 'b1' }, { value: 'b2' }, { value: 'y'.repeat(1_200_000) }, { value: 'b4' }, { value: 'b5' }];
    const err2 = await w2.writeMessages(...msgs).then(() => null, (e: unknown) => e);
    assert.ok(err2 instanceof WriteErrors, String(err2));
    assert.equal(err2.count(), 1);
    assert.ok(err2.errors[2] instanceof KafkaProtocolError, String(err2.errors[2]));
    assert.match(err2.errors[2]!.message, /TOO_LARGE/);
    await w2.writeMessages({ value: 'after' });
    const read = await fetchRaw(client, t, 0, 0n, 7);
    assert.deepEqual(read.map((r) => r.value), ['a', 'c', 'b1', 'b2', 'b4', 'b5', 'after']);
    await client.deleteTopics([t]);
  });

  it('an unknown topic (auto-create off) fails at once; per-message topics', async () => {
    const missing = uniqueTopic('missing');
    const w = writer({ topic: missing });
    const t0 = performance.now();
    const err = await w.writeMessages({ value: 'x' }).then(() => null, (e: unknown) => e);
    assert.ok(performance.now() - t0 < 3000, 'reported at once');
    assert.ok(err instanceof WriteErrors);
    assert.ok(err.errors[0] instanceof KafkaProtocolError && err.errors[0].type === 'UNKNOWN_TOPIC_OR_PARTITION', String(err.errors[0]));

    // A writer without a topic: each message names its own; a message naming a topic on a writer
    // that has one is refused (kafka-go), as is one with none on a writer without.
    const multi = writer({ topic: undefined });
    const res = await multi.writeMessages({ topic, value: 'm1' }, { topic: missing, value: 'm2' }).then(() => null, (e: unknown) => e);
    assert.ok(res instanceof WriteErrors);
    assert.equal(res.errors[0], null);
    assert.ok(res.errors[1] instanceof KafkaProtocolError);
    await assert.rejects(multi.writeMessages({ value: 'no topic' }), (e: unknown) => e instanceof KafkaError && /topic must be specified/.test(e.message));
    await assert.rejects(writer().writeMessages({ topic, value: 'both' }), (e: unknown) => e instanceof KafkaError && /must not be specified for both/.test(e.message));
  });

  it('auto-creates a topic when allowed', async () => {
    const t = uniqueTopic('auto');
    const w = writer({ topic: t, allowAutoTopicCreation: true });
    const [r] = await w.writeMessages({ value: 'created' });
    assert.ok(r.offset >= 0n);
    await client.deleteTopics([t]);
  });

  it('close flushes, then writes fail with ClosedError; nothing is left running', async () => {
    const w = writer({ batchTimeoutMs: 10_000, batchSize: 10_000 });
    const pending = w.writeMessages({ value: 'flushed by close' });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await w.close();
    assert.ok(performance.now() - t0 < 5000, 'close does not wait out the linger');
    const [r] = await pending;
    assert.ok(r.offset >= 0n);
    await assert.rejects(w.writeMessages({ value: 'late' }), ClosedError);
    await w.close(); // twice is fine
  });

  it('abort: the call rejects at once with WriteErrors (AbortedError per message); a queued message is removed, never sent; the writer goes on', async () => {
    const t = uniqueTopic('abort');
    await client.createTopics([{ topic: t, numPartitions: 1, replicationFactor: 3 }]);
    const w = writer({ topic: t, batchTimeoutMs: 2000 });
    const ac = new AbortController();
    const p = w.writeMessages({ value: 'maybe' }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const t0 = performance.now();
    const e = await p.then(() => null, (x: unknown) => x);
    assert.ok(performance.now() - t0 < 1000);
    assert.ok(e instanceof WriteErrors && e.errors[0] instanceof AbortedError, String(e));
    assert.deepEqual(e.sent, [false], 'still lingering: not sent');
    const pre = await w.writeMessages({ value: 'never' }, { signal: AbortSignal.abort() }).then(() => null, (x: unknown) => x);
    assert.ok(pre instanceof WriteErrors && pre.errors[0] instanceof AbortedError && pre.sent[0] === false, String(pre));
    const [r] = await w.writeMessages({ value: 'fine' }, { signal: new AbortController().signal });
    assert.equal(r.offset, 0n, 'the aborted messages were never written');
    assert.deepEqual((await fetchRaw(client, t, 0, 0n, 1)).map((x) => x.value), ['fine']);
    await client.deleteTopics([t]);
    // close with a signal that fires: pending messages fail at once.
    const w2 = writer({ batchTimeoutMs: 60_000, batchSize: 10_000 });
    const stuck = w2.writeMessages({ value: 'x' });
    await new Promise((r) => setTimeout(r, 20));
    const ac2 = new AbortController();
    ac2.abort();
    // Sealing on close sends it; an already-aborted close fails what has no answer yet.
    await assert.rejects(w2.close({ signal: ac2.signal }), AbortedError);
    const out = await stuck.then(() => 'ok', (e: unknown) => e);
    assert.ok(out === 'ok' || (out instanceof WriteErrors && out.errors[0] instanceof AbortedError), String(out));
  });
});
