// Broker restarts under a stream of admin and metadata calls: calls succeed again without the caller
// doing anything, every promise settles, nothing is rejected unhandled. Runs last: it restarts brokers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../../src/index.ts';
import { cluster, startBroker, stopBroker, uniqueTopic } from '../../helpers/kafka.ts';

describe('Client through broker restarts (cluster A)', () => {
  let client: Client;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  const topic = uniqueTopic('failover');

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    client = new Client({
      brokers: cluster('a').bootstrap,
      clientId: 'mka-failover-test',
      requestTimeoutMs: 5000,
      connectTimeoutMs: 2000,
      retry: { attempts: 8, backoffMinMs: 100, backoffMaxMs: 1000 },
    });
    await client.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]);
  });
  after(async () => {
    await client.close();
    process.off('unhandledRejection', onUnhandled);
  });

  it('restarting each broker of A in turn: calls keep succeeding, none left pending', { timeout: 240_000 }, async () => {
    let stop = false;
    let pending = 0;
    let ok = 0;
    const failures: string[] = [];
    const calls = [
      () => client.describeCluster(),
      () => client.metadata({ topics: [topic] }),
      () => client.listOffsets(topic, 'latest'),
    ];
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        pending++;
        try {
          await calls[i % calls.length]();
          ok++;
        } catch (e) {
          failures.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
        } finally {
          pending--;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const down = new Set<number>();
    try {
      for (const id of [1, 2, 3]) {
        await stopBroker('a', id);
        down.add(id);
        const before = ok;
        await new Promise((r) => setTimeout(r, 1500));
        assert.ok(ok > before, `calls succeed while broker ${id} is down`);
        await startBroker('a', id);
        down.delete(id);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      // Whatever failed, the cluster is whole again and the call loop ends, so later tests and the
      // process itself are not left hanging.
      for (const id of down) await startBroker('a', id);
      if (down.size) {
        stop = true;
        await loop;
      }
    }
    const afterRestarts = ok;
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await loop;
    assert.ok(ok > afterRestarts, 'calls succeed after the restarts');
    assert.equal(pending, 0, 'no call left pending');
    // Retries hide a broker's absence from the caller; the odd failure is tolerated only if retriable.
    assert.ok(failures.length <= 3, `failures: ${failures.join('; ')}`);
    assert.deepEqual(unhandled, []);
  });

  it('a killed broker (no controlled shutdown) is routed around too', { timeout: 120_000 }, async () => {
    await stopBroker('a', 2, { kill: true });
    try {
      const t0 = performance.now();
      const m = await client.metadata({ topics: [topic] });
      assert.ok(m.brokers.length >= 2);
      const offsets = await client.listOffsets(topic, 'latest');
      assert.equal(offsets.size, 3);
      assert.ok(performance.now() - t0 < 60_000);
    } finally {
      await startBroker('a', 2);
    }
    assert.deepEqual(unhandled, []);
  });
});
