// Record batches on a real broker, every codec, in all three directions: mka writes and reads back,
// Kafka's Java producer writes and mka reads, mka writes and Kafka's Java consumer reads.
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { KafkaError } from '../../src/protocol/errors.ts';
import { parseCompression } from '../../src/protocol/compression/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { fetchBatches, fetchRaw, produceRaw } from '../helpers/produce.ts';
import { javaConsume, javaProduce, javaSample } from '../helpers/java-tools.ts';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const zstdCompresses = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
const td = new TextDecoder();

/** Deterministic text of n characters drawn from a small alphabet (compresses, but not trivially). */
function text(seed: number, n: number): string {
  let x = seed * 2654435761 + 1;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += 'abcdefghijklmnop'[x % 16];
  }
  return s;
}

describe('record batches against the broker, every codec', () => {
  const A = cluster('a');
  const client = new Client({ brokers: A.bootstrap });
  const topics: string[] = [];
  const topic = async (codec: string) => {
    const t = uniqueTopic(`records-${codec}`);
    topics.push(t);
    await client.createTopics([{ topic: t, numPartitions: 1, replicationFactor: 3 }]);
    return t;
  };
  before(async () => {
    await client.describeCluster();
  });
  after(async () => {
    await client.deleteTopics(topics, { ifExists: true }).catch(() => {});
    await client.close();
  });

  for (const codec of CODECS) {
    const canWrite = codec !== 'zstd' || zstdCompresses;

    it(`${codec}: mka writes, the broker accepts (acks=all, RF 3), mka reads back exactly`, async (t) => {
      const tp = await topic(codec);
      const t0 = Date.now() - 10_000;
      const records = Array.from({ length: 300 }, (_, i) => ({
        key: i % 4 === 0 ? null : `key-${i}`,
        value: i % 9 === 4 ? null : `value-${i}-${'payload '.repeat(i % 30)}`,
        timestamp: t0 + i,
        headers: i % 2 ? [{ key: 'h', value: `${i}` }, { key: 'n', value: null }] : [],
      }));
      if (!canWrite) {
        await assert.rejects(produceRaw(client, tp, 0, records, { compression: codec }), (e: unknown) => e instanceof KafkaError && /not available/.test(e.message));
        t.diagnostic('zstd compression is not available on this runtime; the Bun and Deno smoke tests write zstd');
        return;
      }
      const base1 = await produceRaw(client, tp, 0, records.slice(0, 150), { compression: codec });
      const base2 = await produceRaw(client, tp, 0, records.slice(150), { compression: codec });
      assert.equal(base1, 0n);
      assert.equal(base2, 150n);
      const batches = await fetchBatches(client, tp, 0, 0n, 300);
      assert.ok(batches.every((b) => b.compression === parseCompression(codec)));
      const got = batches.flatMap((b) => b.records);
      assert.equal(got.length, 300);
      got.forEach((r, i) => {
        assert.equal(r.offset, BigInt(i));
        assert.equal(r.key && td.decode(r.key), records[i].key);
        assert.equal(r.value && td.decode(r.value), records[i].value);
        assert.equal(r.timestamp.getTime(), records[i].timestamp);
        assert.deepEqual(r.headers.map((h) => [h.key, h.value && td.decode(h.value)]), records[i].headers.map((h) => [h.key, h.value]));
      });
    });

    it(`${codec}: batches from Kafka's Java producer are read exactly`, async () => {
      const tp = await topic(codec);
      const sample = javaSample(40);
      await javaProduce(A.bootstrap[0], tp, sample, codec);
      const batches = await fetchBatches(client, tp, 0, 0n, 40);
      assert.ok(batches.every((b) => b.compression === parseCompression(codec)), `batches are ${codec}`);
      const got = await fetchRaw(client, tp, 0, 0n, 40);
      got.forEach((r, i) => {
        assert.equal(r.offset, BigInt(i));
        assert.equal(r.key, sample[i].key);
        assert.equal(r.value, sample[i].value);
        assert.deepEqual(r.headers.map((h) => [h.key, h.value]), sample[i].headers);
      });
    });

    it(`${codec}: Kafka's Java consumer reads what mka wrote`, async (t) => {
      if (!canWrite) {
        t.diagnostic('zstd compression is not available on this runtime (covered by the Bun and Deno smoke tests)');
        return;
      }
      const tp = await topic(codec);
      const ts = Date.now() - 5_000;
      // ~200 KiB of half-compressible text: the batch spans several 64 KiB LZ4 blocks / snappy chunks.
      const records = Array.from({ length: 25 }, (_, i) => ({ key: `k${i}`, value: `v${i}-${text(i, 8000)}`, timestamp: ts + i, headers: [{ key: 'hk', value: `hv${i}` }] }));
      await produceRaw(client, tp, 0, records, { compression: codec });
      const got = await javaConsume(A.bootstrap[0], tp, 25);
      assert.equal(got.length, 25);
      got.forEach((r, i) => {
        assert.equal(r.offset, i);
        assert.equal(r.key, records[i].key);
        assert.equal(r.value, records[i].value);
        assert.equal(r.timestamp, records[i].timestamp);
        assert.equal(r.headers, `hk:hv${i}`);
      });
    });
  }
});
