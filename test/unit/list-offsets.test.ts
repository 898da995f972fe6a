// Client.listOffsets over many partitions: every partition answered, and no "possible memory leak"
// warning from one deadline signal with a listener per partition request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, Writer } from '../../src/index.ts';
import { fakeClusters } from '../helpers/fake.ts';

describe('Client.listOffsets', () => {
  const { start, track } = fakeClusters();

  it('60 partitions: the log end of each, and no MaxListenersExceededWarning', async () => {
    const c = await start({ brokers: 3, topics: [{ name: 'many', partitions: 60, replicationFactor: 3 }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'many' }));
    const client = track(new Client({ brokers: c.bootstrap }));
    await w.writeMessages(...Array.from({ length: 60 }, (_, p) => Array.from({ length: p % 3 }, () => ({ value: 'x', partition: p }))).flat());
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const ends = await client.listOffsets('many', 'latest', { timeoutMs: 10_000 });
      assert.equal(ends.size, 60);
      for (let p = 0; p < 60; p++) assert.equal(ends.get(p)?.offset, BigInt(p % 3), `partition ${p}`);
      await new Promise((r) => setTimeout(r, 50)); // warnings are emitted on a later tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), []);
  });
});
