// MultiWriter call deadlines and aborts without a broker: "clusters" that accept connections and never
// answer (what a frozen broker looks like from the client), so every outcome comes from the
// MultiWriter's own deadline, the caller's signal, or health detection.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MultiWriter, MultiWriteErrors, RWMode } from '../../src/multi/index.ts';
import { ClusterUnavailableError } from '../../src/multi/errors.ts';
import { AbortedError, TimeoutError } from '../../src/protocol/errors.ts';
import { ErrorCode } from '../../src/protocol/messages/error-codes.ts';
import { fakeClusters } from '../helpers/fake.ts';
import { fastFailingWriter } from '../helpers/failover.ts';

/** A listener that takes connections and bytes and answers nothing. */
async function silentBroker(): Promise<{ server: Server; addr: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, addr: `127.0.0.1:${port}`, sockets };
}

describe('MultiWriter deadlines and aborts (silent clusters)', () => {
  const brokers: Awaited<ReturnType<typeof silentBroker>>[] = [];
  before(async () => {
    brokers.push(await silentBroker(), await silentBroker());
  });
  after(async () => {
    for (const b of brokers) {
      for (const s of b.sockets) s.destroy();
      await new Promise((r) => b.server.close(r));
    }
  });
  const configs = () => brokers.map((b) => ({ brokers: [b.addr], topic: 't', writeTimeoutMs: 30_000 }));

  it('one deadline spans every cluster tried: both silent, the call rejects with TimeoutError at timeoutMs', { timeout: 20_000 }, async () => {
    const w = new MultiWriter(RWMode.Backup, configs());
    // The standby is pinned down from the start, so the primary's detection (~1 s) is the only transition
    // and the standby is then tried as the last resort, until the deadline.
    w.forceHealth(1, 'unhealthy');
    try {
      const t0 = performance.now();
      const err = await w.writeMessages({ value: 'a' }, { value: 'b' }, { timeoutMs: 2500 }).then(
        () => assert.fail('nothing can be written'),
        (e: unknown) => e,
      );
      const took = performance.now() - t0;
      assert.ok(err instanceof MultiWriteErrors, String(err));
      assert.ok(err.errors.every((e) => e instanceof TimeoutError), err.message);
      assert.deepEqual(err.missing, [[0, 1], [0, 1]]);
      // Slack for a loaded machine: the deadline timer may fire late, never early.
      assert.ok(took >= 2490 && took < 3000, `rejected after ${took.toFixed(0)} ms`);
      const st = w.aggregateStats();
      assert.equal(st.timedOut, 2);
      // The primary went unhealthy within ~1 s; the call moved on to the standby (the last resort: both are out).
      assert.deepEqual(st.attempts, [1, 1]);
      assert.equal(st.handedOver, 2);
      const h = w.healthStatus();
      assert.equal(h[0].state, 'unhealthy');
      assert.ok(h[0].lastError instanceof TimeoutError, String(h[0].lastError));
    } finally {
      await w.close({ signal: AbortSignal.timeout(2000) });
    }
  });

  it("the caller's abort rejects at once with AbortedError and moves nothing to another cluster", { timeout: 20_000 }, async () => {
    const w = new MultiWriter(RWMode.Backup, configs());
    try {
      const ac = new AbortController();
      const other = w.writeMessages({ value: 'neighbour' }, { timeoutMs: 1500 });
      const p = w.writeMessages({ value: 'x' }, { value: 'y' }, { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('user cancelled')), 200);
      const t0 = performance.now();
      const err = await p.then(() => assert.fail('aborted'), (e: unknown) => e);
      assert.ok(performance.now() - t0 < 500, 'rejected when the signal fired');
      assert.ok(err instanceof MultiWriteErrors);
      assert.ok(err.errors.every((e) => e instanceof AbortedError), err.message);
      // One caller's abort is not another's: the neighbour keeps its own deadline.
      const n = await other.then(() => assert.fail('nothing can be written'), (e: unknown) => e);
      assert.ok(n instanceof MultiWriteErrors);
      assert.ok(n.errors.every((e) => !(e instanceof AbortedError)), n.message);
      const st = w.aggregateStats();
      assert.equal(st.attempts[1], 1, "only the neighbour's call went on to the standby");
    } finally {
      await w.close({ signal: AbortSignal.timeout(2000) });
    }
  });

  it('forceHealth down hands the outstanding calls over at once; Mirror names the cluster that is out', { timeout: 20_000 }, async () => {
    const w = new MultiWriter(RWMode.Mirror, configs(), { health: { stallTimeoutMs: 60_000, probeTimeoutMs: 60_000, probeIntervalMs: 60_000 } });
    try {
      const p = w.writeMessages({ value: 'm' }, { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      w.forceHealth(1, 'unhealthy');
      w.forceHealth(0, 'unhealthy');
      const err = await p.then(() => assert.fail('nothing can be written'), (e: unknown) => e);
      assert.ok(performance.now() - t0 < 500, 'handed over at once, not at the deadline');
      assert.ok(err instanceof MultiWriteErrors);
      assert.deepEqual(err.missing, [[0, 1]]);
      assert.ok(err.errors[0] instanceof ClusterUnavailableError);
      assert.match(err.message, /forced down/);
    } finally {
      await w.close({ signal: AbortSignal.timeout(2000) });
    }
  });
});

describe('MultiWriter results (fake clusters)', () => {
  const { start, track } = fakeClusters();

  it('a call that partly fails on the primary: what was written there and what was handed over both have topic, partition and offset', async () => {
    const topics = [{ name: 'pf', partitions: 2 }];
    const a = await start({ brokers: 2, topics });
    const b = await start({ brokers: 1, topics });
    a.moveLeader('pf', 0, 1);
    a.moveLeader('pf', 1, 2);
    // Partition 1's leader on the primary refuses every write (retriable): those messages go to the standby.
    a.inject({ broker: 2, api: 'Produce', errorCode: ErrorCode.NOT_ENOUGH_REPLICAS });
    const w = track(new MultiWriter(RWMode.Backup, [fastFailingWriter(a.bootstrap, 'pf'), fastFailingWriter(b.bootstrap, 'pf')]));
    const msgs = Array.from({ length: 6 }, (_, i) => ({ value: `m${i}`, partition: i % 2 }));
    const results = await w.writeMessages(...msgs, { timeoutMs: 10_000 });
    assert.equal(results.length, 6);
    for (const [i, r] of results.entries()) {
      const want = i % 2 === 0 ? { cluster: 0, clusters: [0] } : { cluster: 1, clusters: [1] };
      assert.deepEqual({ cluster: r.cluster, clusters: r.clusters, topic: r.topic, partition: r.partition }, { ...want, topic: 'pf', partition: i % 2 }, `message ${i}`);
      assert.equal(typeof r.offset, 'bigint');
      assert.ok(r.offset >= 0n, `message ${i} offset ${r.offset}`);
    }
  });
});
