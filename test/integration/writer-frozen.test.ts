// A Writer connected to cluster B when B freezes (SIGSTOP: sockets stay open, nothing answers):
// open-loop calls (issued every 10 ms, none awaited before the next) each reject by their own deadline,
// writeTimeoutMs + 0.5 s at most, with WriteErrors naming every message; after the thaw, writes succeed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { Writer, WriteErrors } from '../../src/client/writer/index.ts';
import { TimeoutError } from '../../src/protocol/errors.ts';
import { cluster, freezeCluster, thawCluster, uniqueTopic } from '../helpers/kafka.ts';

const WRITE_TIMEOUT = 2000;
/** Slack over the deadline for a loaded machine (2 cores shared by several broker sets). */
const SLACK = 500;

describe('Writer against a frozen cluster (cluster B)', () => {
  let client: Client;
  const topic = uniqueTopic('writer-frozen');

  before(async () => {
    client = new Client({ brokers: cluster('b').bootstrap, clientId: 'mka-writer-frozen-admin' });
    await client.createTopics([{ topic, numPartitions: 3, replicationFactor: 1 }]);
  });
  after(async () => {
    await client.deleteTopics([topic], { ifExists: true }).catch(() => {});
    await client.close();
  });

  it('every open-loop call rejects within writeTimeoutMs + 0.5 s, naming each message; writes succeed after the thaw', { timeout: 60_000 }, async () => {
    const w = new Writer({ brokers: cluster('b').bootstrap, clientId: 'mka-writer-frozen', topic, writeTimeoutMs: WRITE_TIMEOUT });
    try {
      await w.writeMessages({ key: 'warm', value: 'up' }, { key: 'warm2', value: 'up' }, { key: 'warm3', value: 'up' });
      const outcomes: { ms: number; err: unknown }[] = [];
      const calls: Promise<void>[] = [];
      await freezeCluster('b');
      try {
        const until = performance.now() + 3000;
        for (let i = 0; performance.now() < until; i++) {
          const t0 = performance.now();
          const msgs = [0, 1, 2].map((j) => ({ key: `k${i}-${j}`, value: `v${i}-${j}` }));
          calls.push(w.writeMessages(...msgs).then(
            () => void outcomes.push({ ms: performance.now() - t0, err: null }),
            (err: unknown) => void outcomes.push({ ms: performance.now() - t0, err }),
          ));
          await new Promise((r) => setTimeout(r, 10));
        }
        await Promise.all(calls);
      } finally {
        await thawCluster('b');
      }
      const worst = Math.max(...outcomes.map((o) => o.ms));
      const sent = outcomes.reduce((n, o) => n + (o.err instanceof WriteErrors ? o.err.sent.filter(Boolean).length : 0), 0);
      console.log(`${outcomes.length} calls during the freeze; longest ${worst.toFixed(0)} ms (deadline ${WRITE_TIMEOUT} ms); ${sent} of ${outcomes.length * 3} messages were on the wire (outcome unknown), the rest removed unsent`);
      assert.ok(outcomes.length >= 100, `${outcomes.length} calls issued`);
      for (const o of outcomes) {
        assert.ok(o.err instanceof WriteErrors, `a call during the freeze ended with ${String(o.err)}`);
        assert.equal(o.err.errors.length, 3);
        assert.equal(o.err.count(), 3);
        assert.ok(o.err.errors.every((e) => e instanceof TimeoutError), String(o.err));
      }
      assert.ok(worst <= WRITE_TIMEOUT + SLACK, `longest call ${worst.toFixed(0)} ms > ${WRITE_TIMEOUT} + ${SLACK} ms`);
      assert.ok(Math.min(...outcomes.map((o) => o.ms)) >= WRITE_TIMEOUT - 5, 'no call gave up before its deadline');
      assert.ok(sent < outcomes.length * 3, 'queued messages were removed, not reported as sent');

      // Thawed: the broker answers again (the connection may first have to be replaced).
      const [r] = await w.writeMessages({ key: 'after', value: 'thaw' }, { timeoutMs: 20_000 });
      assert.ok(r.offset >= 0n);
    } finally {
      await w.close({ signal: AbortSignal.timeout(10_000) }).catch(() => {});
    }
  });
});
