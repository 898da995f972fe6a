// Client.listOffsets over many partitions: every partition answered with one request per leader,
// leaders that moved since the metadata was read handled per partition, and no "possible memory
// leak" warning from one deadline signal with a listener per partition request.
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

  it('one ListOffsets per leader; partitions whose leader moved are asked again at the new leader', async () => {
    const c = await start({ brokers: 3, topics: [{ name: 'spread', partitions: 30, replicationFactor: 3 }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'spread' }));
    await w.writeMessages(...Array.from({ length: 30 }, (_, p) => Array.from({ length: (p % 4) + 1 }, () => ({ value: 'x', partition: p }))).flat());
    const asked: string[] = [];
    const client = track(new Client({ brokers: c.bootstrap, telemetry: { onRequest: (e) => e.api === 'ListOffsets' && asked.push(e.broker) } }));
    const leaders = new Set((await client.metadata({ topics: ['spread'] })).topics[0].partitions.map((p) => p.leader));

    const ends = await client.listOffsets('spread', 'latest', { timeoutMs: 10_000 });
    for (let p = 0; p < 30; p++) assert.equal(ends.get(p)?.offset, BigInt((p % 4) + 1), `partition ${p}`);
    assert.equal(asked.length, leaders.size, `requests: ${asked.join(', ')}`);
    assert.equal(new Set(asked).size, leaders.size);

    // The client's metadata now names old leaders for three partitions.
    const meta = (await client.metadata({ topics: ['spread'] })).topics[0].partitions;
    const moved = [0, 1, 2].map((p) => ({ p, to: (meta[p].leader % 3) + 1 }));
    for (const { p, to } of moved) c.moveLeader('spread', p, to);
    asked.length = 0;
    const again = await client.listOffsets('spread', 'earliest', { timeoutMs: 10_000 });
    assert.equal(again.size, 30);
    for (let p = 0; p < 30; p++) assert.equal(again.get(p)?.offset, 0n, `partition ${p}`);
    // One per leader, then each moved partition on its own (a NOT_LEADER answer and a retry at most).
    assert.ok(asked.length >= leaders.size + 3 && asked.length <= leaders.size + 6, `requests: ${asked.length}`);
  });
});
