// Reader.fetchReady: the messages fetched already, taken at once without waiting, each handed over as
// fetchMessage would (position, lag, group commit), and a queued error left for fetchMessage.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader, Writer, type Message } from '../../src/index.ts';
import { fakeClusters } from '../helpers/fake.ts';

const dec = new TextDecoder();

describe('Reader.fetchReady', () => {
  const { start, track } = fakeClusters();

  it('partition reader: nothing before it starts, then what is queued, in order, up to max; fetchMessage goes on after it', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'ready', partitions: 1 }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'ready' }));
    await w.writeMessages(...Array.from({ length: 30 }, (_, i) => ({ value: `m${i}` })));
    const r = track(new Reader({ brokers: c.bootstrap, topic: 'ready', partition: 0, maxWaitMs: 100 }));
    assert.deepEqual(r.fetchReady(10), []); // not started: fetchMessage starts it
    const got: Message[] = [await r.fetchMessage({ timeoutMs: 10_000 })];
    const deadline = performance.now() + 10_000;
    while (got.length < 30 && performance.now() < deadline) {
      const batch = r.fetchReady(7);
      assert.ok(batch.length <= 7, `${batch.length} > max`);
      got.push(...batch);
      if (!batch.length) got.push(await r.fetchMessage({ timeoutMs: 10_000 }));
    }
    assert.deepEqual(got.map((m) => m.offset), Array.from({ length: 30 }, (_, i) => BigInt(i)));
    assert.deepEqual(got.map((m) => dec.decode(m.value!)), Array.from({ length: 30 }, (_, i) => `m${i}`));
    assert.equal(r.offset(), 30n);
    assert.equal(r.lag(), 0n);
    assert.equal(r.stats().messages, 30);
    assert.deepEqual(r.fetchReady(5), []);
  });

  it('group reader: messages taken with fetchReady commit like fetched ones', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'ready-g', partitions: 2 }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'ready-g' }));
    await w.writeMessages(...Array.from({ length: 20 }, (_, i) => ({ value: `m${i}`, partition: i % 2 })));
    const r = track(new Reader({ brokers: c.bootstrap, topic: 'ready-g', groupId: 'g-ready', maxWaitMs: 100 }));
    const got: Message[] = [await r.fetchMessage({ timeoutMs: 10_000 })];
    const deadline = performance.now() + 10_000;
    while (got.length < 20 && performance.now() < deadline) {
      const batch = r.fetchReady(100);
      got.push(...batch);
      if (!batch.length) got.push(await r.fetchMessage({ timeoutMs: 10_000 }));
    }
    assert.equal(got.length, 20);
    await r.commitMessages(...got);
    const lag = await r.groupLag({ timeoutMs: 10_000 });
    for (const p of [0, 1]) assert.deepEqual([lag.get('ready-g')?.get(p)?.position, lag.get('ready-g')?.get(p)?.lag], [10n, 0n], `partition ${p}`);
  });
});
