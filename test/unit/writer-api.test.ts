// Writer API details a new user meets first, against an in-process fake cluster: a message that names
// its partition, and a compression this runtime cannot do refused when the Writer is made.
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { Client, KafkaError, Writer, WriteErrors } from '../../src/index.ts';
import { fakeClusters } from '../helpers/fake.ts';
import { fetchRaw } from '../helpers/produce.ts';

describe('Writer API', () => {
  const { start, track } = fakeClusters();

  it('a message that names its partition goes there, whatever its key; one naming a partition the topic lacks fails alone', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'parts', partitions: 3 }] });
    const client = new Client({ brokers: c.bootstrap });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'parts' }));
    track(client);
    const res = await w.writeMessages(...['a', 'b', 'c', 'd'].map((key) => ({ key, value: `v-${key}`, partition: 2 })));
    assert.deepEqual(res.map((r) => [r.partition, r.offset]), [[2, 0n], [2, 1n], [2, 2n], [2, 3n]]);
    assert.deepEqual((await fetchRaw(client, 'parts', 2, 0n, 4)).map((r) => r.value), ['v-a', 'v-b', 'v-c', 'v-d']);

    const err = await w.writeMessages({ value: 'ok', partition: 0 }, { value: 'nowhere', partition: 7 }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof WriteErrors, String(err));
    assert.equal(err.errors[0], null);
    assert.match(String(err.errors[1]?.message), /message 1 names partition 7, which parts does not have \(it has 3\)/);
    assert.deepEqual((await fetchRaw(client, 'parts', 0, 0n, 1)).map((r) => r.value), ['ok']);
  });

  it('compression this runtime cannot do is refused by the constructor, with the fix in the message', () => {
    const zstd = typeof (zlib as unknown as { zstdCompress?: unknown }).zstdCompress === 'function';
    const make = () => new Writer({ brokers: ['127.0.0.1:1'], topic: 't', compression: 'zstd' });
    if (zstd) {
      track(make());
    } else {
      assert.throws(make, (e: unknown) => e instanceof KafkaError && !e.retriable && /zstd compression is not available in this runtime.*registerCodec/.test(e.message));
    }
    assert.throws(() => new Writer({ brokers: ['127.0.0.1:1'], topic: 't', compression: 'brotli' as 'gzip' }), /unknown compression "brotli"/);
  });
});
