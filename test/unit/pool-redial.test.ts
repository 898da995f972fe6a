// A pool's reconnect backoff protects brokers that are down; once someone has seen them answer again
// (MultiWriter's probes), redialNow() ends the wait so the next request dials at once.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConnectionPool } from '../../src/client/pool.ts';
import { ClosedError } from '../../src/protocol/errors.ts';
import { FakeCluster } from '../../src/testing/index.ts';

describe('ConnectionPool.redialNow', () => {
  const pools: ConnectionPool[] = [];
  const clusters: FakeCluster[] = [];
  after(async () => {
    for (const p of pools) p.close();
    for (const c of clusters) await c.stop();
  });

  it('a dial waiting out a long backoff goes ahead at once, and succeeds against the restarted broker', async () => {
    const c = await FakeCluster.start({ brokers: 1 });
    clusters.push(c);
    const [host, port] = c.bootstrap[0].split(':');
    await c.stopBroker(1, { kill: true });
    // Backoff of 20 s from the first failure: without redialNow the second get() would wait it out.
    const pool = new ConnectionPool({ clientId: 't', connectTimeoutMs: 1000 }, { backoffMinMs: 20_000, backoffMaxMs: 20_000 });
    pools.push(pool);
    await assert.rejects(pool.get(host, Number(port), 'control'));
    await c.startBroker(1);
    const t0 = performance.now();
    const waiting = pool.get(host, Number(port), 'control');
    await new Promise((r) => setTimeout(r, 100));
    pool.redialNow();
    const conn = await waiting;
    const ms = performance.now() - t0;
    assert.equal(conn.closed, false);
    // A dial to loopback, with slack for a loaded machine; the backoff alone would be ≥ 10 s.
    assert.ok(ms < 5000, `connected after ${Math.round(ms)} ms`);
  });

  it('close() still ends a dial waiting out its backoff, with ClosedError', async () => {
    const c = await FakeCluster.start({ brokers: 1 });
    clusters.push(c);
    const [host, port] = c.bootstrap[0].split(':');
    await c.stopBroker(1, { kill: true });
    const pool = new ConnectionPool({ clientId: 't', connectTimeoutMs: 1000 }, { backoffMinMs: 20_000, backoffMaxMs: 20_000 });
    await assert.rejects(pool.get(host, Number(port), 'control'));
    const waiting = pool.get(host, Number(port), 'control');
    pool.close();
    await assert.rejects(waiting, ClosedError);
  });
});
