// A message's bytes are views into its fetched batch unless the Reader copies them (copyBytes): a
// message kept for long then holds only its own bytes, not the whole decompressed batch.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Reader, Writer, type Message } from '../../src/index.ts';
import { FakeCluster } from '../../src/testing/index.ts';

let cluster: FakeCluster | undefined;
after(() => cluster?.stop());

async function readAll(brokers: string[], copyBytes: boolean | undefined, n: number): Promise<Message[]> {
  const r = new Reader({ brokers, topic: 'kept', partition: 0, maxWaitMs: 100, ...(copyBytes === undefined ? {} : { copyBytes }) });
  try {
    const out: Message[] = [];
    while (out.length < n) out.push(await r.fetchMessage({ timeoutMs: 10_000 }));
    return out;
  } finally {
    await r.close();
  }
}

describe('Reader copyBytes', () => {
  it('by default key, value and headers are views into the batch; with copyBytes each owns exactly its bytes, equal to what was written', async () => {
    cluster = await FakeCluster.start({ brokers: 1, topics: [{ name: 'kept', partitions: 1 }] });
    const w = new Writer({ brokers: cluster.bootstrap, topic: 'kept', compression: 'gzip' });
    const sent = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `value ${i} `.repeat(20), headers: [{ key: 'h', value: `h${i}` }] }));
    await w.writeMessages(...sent);
    await w.close();

    const views = await readAll(cluster.bootstrap, undefined, 50);
    const copies = await readAll(cluster.bootstrap, true, 50);
    const dec = new TextDecoder();
    for (const [i, m] of copies.entries()) {
      assert.equal(dec.decode(m.key!), sent[i].key);
      assert.equal(dec.decode(m.value!), sent[i].value);
      assert.equal(dec.decode(m.headers[0].value!), sent[i].headers[0].value);
      assert.equal(m.key!.buffer.byteLength, m.key!.length);
      assert.equal(m.value!.buffer.byteLength, m.value!.length);
      assert.equal(m.headers[0].value!.buffer.byteLength, m.headers[0].value!.length);
      assert.deepEqual(m.value, views[i].value);
    }
    // Views: every message of the batch shares one buffer, larger than all the values together.
    const total = sent.reduce((n, s) => n + s.value.length, 0);
    assert.equal(new Set(views.map((m) => m.value!.buffer)).size, 1);
    assert.ok(views[0].value!.buffer.byteLength > total, `${views[0].value!.buffer.byteLength} B shared`);
  });
});
