// The telemetry seam on in-process fake clusters: with nobody listening no event object is built (the
// emit that would take it is never called, and no request goes through TracingChannel); hooks and
// diagnostics_channel subscribers see the events the client's work implies, with their fields filled.
import assert from 'node:assert/strict';
import * as dc from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { Client, MultiWriter, Reader, RWMode, Writer, subscribeTelemetry, TELEMETRY_CHANNELS, type RequestEvent, type TelemetryHooks } from '../../src/index.ts';
import { TelemetryTopic } from '../../src/client/telemetry/index.ts';
import { FakeCluster } from '../../src/testing/index.ts';

const clusters: FakeCluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
});
async function fake(topic: string, partitions = 2): Promise<FakeCluster> {
  const c = await FakeCluster.start({ brokers: 1, topics: [{ name: topic, partitions, replicationFactor: 1 }] });
  clusters.push(c);
  return c;
}

/** Produces, reads by partition and in a group, with admin calls: every kind of client work. */
async function work(c: FakeCluster, topic: string, hooks?: TelemetryHooks): Promise<void> {
  const client = new Client({ brokers: c.bootstrap, telemetry: hooks });
  const w = new Writer({ brokers: c.bootstrap, topic, telemetry: hooks });
  const r = new Reader({ brokers: c.bootstrap, topic, partition: 0, maxWaitMs: 50, telemetry: hooks });
  const g = new Reader({ brokers: c.bootstrap, topic, groupId: `g-${topic}`, maxWaitMs: 50, heartbeatIntervalMs: 200, telemetry: hooks });
  try {
    await client.metadata({ topics: [topic] });
    await w.writeMessages(...Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, })));
    await r.readMessage({ timeoutMs: 10_000 });
    await g.readMessage({ timeoutMs: 10_000 });
  } finally {
    await Promise.all([w.close(), r.close(), g.close(), client.close()]);
  }
}

describe('telemetry seam', () => {
  it('with nobody listening, no event is built and no request is traced', async () => {
    const topic = 'quiet';
    const c = await fake(topic);
    const emit = TelemetryTopic.prototype.emit;
    let emitted = 0;
    TelemetryTopic.prototype.emit = function (this: TelemetryTopic<never>, e: never) {
      emitted++;
      return emit.call(this, e);
    };
    const tracingProto = Object.getPrototypeOf(dc.tracingChannel('mka:request')) as { tracePromise: (...a: unknown[]) => unknown };
    const tracePromise = tracingProto.tracePromise;
    let traced = 0;
    tracingProto.tracePromise = function (this: unknown, ...a: unknown[]) {
      traced++;
      return tracePromise.apply(this, a);
    };
    try {
      await work(c, topic);
      assert.equal(emitted, 0, 'emit is only reached when `on` said someone listens');
      assert.equal(traced, 0, 'requests go through TracingChannel only while it has subscribers');
      // Now one subscriber on one channel: only its kind is built.
      const seen: RequestEvent[] = [];
      const off = subscribeTelemetry({ onRequest: (e) => seen.push(e) });
      try {
        await work(c, topic);
      } finally {
        off();
      }
      assert.ok(seen.length > 10, `requests seen: ${seen.length}`);
      assert.equal(emitted, seen.length, 'no other kind was built');
    } finally {
      TelemetryTopic.prototype.emit = emit;
      tracingProto.tracePromise = tracePromise;
    }
  });

  it('a TracingChannel subscriber sees start and asyncEnd (with the response) for each request', async () => {
    const topic = 'traced';
    const c = await fake(topic, 1);
    const starts: { api: string }[] = [];
    const ends: { api: string; result?: unknown }[] = [];
    const tc = dc.tracingChannel('mka:request');
    const subs = {
      start: (m: unknown) => void starts.push(m as { api: string }),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: (m: unknown) => void ends.push(m as { api: string; result?: unknown }),
      error: () => {},
    };
    tc.subscribe(subs);
    try {
      const client = new Client({ brokers: c.bootstrap });
      await client.metadata({ topics: [topic] });
      await client.close();
    } finally {
      tc.unsubscribe(subs);
    }
    assert.ok(starts.some((s) => s.api === 'Metadata'));
    const md = ends.find((e) => e.api === 'Metadata');
    assert.ok(md && typeof md.result === 'object', 'asyncEnd carries the decoded response');
    assert.equal(starts.length, ends.length);
  });

  it('hooks in the config see connections, requests, produce batches, fetches and rebalances with their fields', async () => {
    const topic = 'hooked';
    const c = await fake(topic);
    const ev: Record<string, unknown[]> = {};
    const push = (k: string) => (e: unknown) => void (ev[k] ??= []).push(e);
    const hooks: TelemetryHooks = {
      onConnection: push('connection'),
      onRequest: push('request'),
      onProduce: push('produce'),
      onFetch: push('fetch'),
      onRebalance: push('rebalance'),
    };
    await work(c, topic, hooks);
    const produced = ev.produce as { topic: string; records: number; bytes: number; baseOffset: bigint; error?: Error }[];
    assert.equal(produced.reduce((n, e) => n + e.records, 0), 20, 'every record is in some batch event');
    assert.ok(produced.every((e) => e.topic === topic && e.bytes > 0 && e.baseOffset >= 0n && !e.error));
    const fetches = ev.fetch as { partitions: { topic: string }[]; records: number; bytes: number; ms: number }[];
    assert.ok(fetches.some((f) => f.records > 0 && f.bytes > 0 && f.partitions[0].topic === topic));
    const reb = ev.rebalance as { group: string; generation: number; assigned: unknown[]; protocol: string; memberId: string }[];
    assert.equal(reb[0].group, `g-${topic}`);
    assert.equal(reb[0].assigned.length, 2);
    assert.ok(reb[0].generation >= 0 && reb[0].memberId && reb[0].protocol);
    const reqs = ev.request as RequestEvent[];
    const produce = reqs.find((r) => r.api === 'Produce')!;
    assert.ok(produce.requestBytes > 100 && produce.responseBytes > 0 && produce.ms >= 0 && produce.broker.includes(':'));
    assert.equal(produce.client, 'mka');
    const conns = ev.connection as { type: string }[];
    assert.ok(conns.some((x) => x.type === 'open') && conns.some((x) => x.type === 'close'), 'close() reports each connection closed');
  });

  it('a dial that fails is a dial-failure event; a request that gets no answer is a request event with its TimeoutError', async () => {
    const ev: { type: string; error?: Error }[] = [];
    const client = new Client({ brokers: ['127.0.0.1:1'], connectTimeoutMs: 500, retry: { attempts: 1 }, retryTimeoutMs: 0, callTimeoutMs: 1000, telemetry: { onConnection: (e) => ev.push(e) } });
    await assert.rejects(client.metadata());
    await client.close();
    assert.ok(ev.some((e) => e.type === 'dial-failure' && e.error instanceof Error));

    const c = await fake('cut', 1);
    c.faults.add({ api: 'Metadata', noAnswer: true });
    const reqs: RequestEvent[] = [];
    const stuck = new Client({ brokers: c.bootstrap, requestTimeoutMs: 300, retry: { attempts: 1 }, retryTimeoutMs: 0, telemetry: { onRequest: (e) => reqs.push(e) } });
    await assert.rejects(stuck.metadata({ topics: ['cut'] }), (e: Error) => e.name === 'TimeoutError');
    await stuck.close();
    const md = reqs.find((r) => r.api === 'Metadata')!;
    assert.equal(md.error?.name, 'TimeoutError');
    assert.equal(md.responseBytes, 0);
    assert.ok(md.ms >= 250, `ms ${md.ms}`);
  });

  it('MultiWriter reports health changes, failover and fail-back under its name', async () => {
    const topic = 'multi';
    const a = await fake(topic, 1);
    const b = await fake(topic, 1);
    const ev: { kind?: string; state?: string; cluster?: number; from?: number; to?: number; client: string }[] = [];
    const clients = new Set<string>();
    const mw = new MultiWriter(RWMode.Backup, [{ brokers: a.bootstrap, topic }, { brokers: b.bootstrap, topic }], {
      name: 'orders',
      health: { probeIntervalMs: 50, recoveryProbes: 1 },
      telemetry: { onHealthChange: (e) => ev.push(e), onFailover: (e) => ev.push(e), onRequest: (e) => clients.add(e.client) },
    });
    try {
      await mw.writeMessages({ value: 'on-a' });
      mw.forceHealth(0, 'unhealthy');
      const [r] = await mw.writeMessages({ value: 'on-b' });
      assert.equal(r.cluster, 1);
      mw.forceHealth(0, null);
      // Automatic again: cluster 0 was never really down, so good probes and a trial bring it back.
      for (let i = 0; i < 100 && mw.healthStatus()[0].state !== 'healthy'; i++) await new Promise((res) => setTimeout(res, 20));
      const [back] = await mw.writeMessages({ value: 'back-on-a' });
      assert.equal(back.cluster, 0);
    } finally {
      await mw.close();
    }
    assert.deepEqual(
      ev.filter((e) => e.kind).map((e) => [e.kind, e.from, e.to]),
      [['failover', 0, 1], ['fail-back', 1, 0]],
    );
    assert.ok(ev.some((e) => e.state === 'unhealthy' && e.cluster === 0 && e.client === 'orders'));
    assert.ok(clients.has('orders[0]') && clients.has('orders[1]') && clients.has('orders[0] probe'), [...clients].join());
  });

  it('channel names are stable', () => {
    assert.deepEqual(Object.values(TELEMETRY_CHANNELS), ['mka:connection', 'mka:request', 'mka:produce', 'mka:fetch', 'mka:rebalance', 'mka:health', 'mka:failover']);
  });
});
