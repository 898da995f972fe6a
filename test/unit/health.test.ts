// The health tracker without a broker: a fake clock for the stall and evidence rules (checkStalls is
// called by hand), short real timers where probes run on their own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { HealthTracker, type ClusterHealth, type HealthConfig, type Probe, type TrackerOptions } from '../../src/multi/health.ts';
import { ClusterUnavailableError } from '../../src/multi/errors.ts';

const never: Probe = () => new Promise(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HealthTracker', () => {
  const trackers: HealthTracker[] = [];
  afterEach(() => {
    for (const t of trackers.splice(0)) t.close();
  });

  /** A tracker on a fake clock; background probes are kept out of the way (hour-long interval) unless given. */
  function make(cfg: HealthConfig = {}, opts: TrackerOptions & { probe?: Probe } = {}) {
    const clock = { t: 1000 };
    const events: ClusterHealth[] = [];
    const h = new HealthTracker(2, opts.probe ?? never, { probeIntervalMs: 3_600_000, stallTimeoutMs: 1000, ...cfg }, { now: () => clock.t, ...opts });
    h.onChange((e) => events.push(e));
    trackers.push(h);
    return { h, clock, events };
  }

  it('an operation with no answer from its cluster for the stall timeout marks it unhealthy and stops what is outstanding there', () => {
    const { h, clock, events } = make();
    const stopped: Error[] = [];
    h.begin(0, (r) => stopped.push(r));
    clock.t += 500;
    h.begin(0, (r) => stopped.push(r));
    h.begin(1, (r) => stopped.push(r));
    clock.t += 499;
    h.checkStalls();
    assert.equal(h.healthy(0), true, 'not before the stall timeout');
    clock.t += 1;
    h.checkStalls();
    assert.equal(h.healthy(0), false);
    assert.equal(h.healthy(1), true, 'only cluster 0 waited the whole timeout');
    assert.equal(stopped.length, 2, 'both operations on cluster 0 stopped, none on cluster 1');
    assert.ok(stopped.every((e) => e instanceof ClusterUnavailableError && e.cluster === 0));
    assert.deepEqual(events.map((e) => [e.cluster, e.state]), [[0, 'unhealthy']]);
    h.checkStalls();
    assert.equal(events.length, 1, 'one transition, not one per check');
  });

  it('a slow cluster that keeps answering is not stalled; an answer older than the operation does not count', () => {
    const { h, clock } = make();
    const slow = h.begin(0);
    clock.t += 300;
    h.succeeded(h.begin(0)); // something answered after `slow` began
    clock.t += 5000;
    h.checkStalls();
    assert.equal(h.healthy(0), true);
    h.ended(slow);
    h.begin(0); // begun after the last answer
    clock.t += 1000;
    h.checkStalls();
    assert.equal(h.healthy(0), false);
  });

  it('a failure counts only when nothing answered since the operation began', () => {
    const { h, clock } = make();
    const a = h.begin(0);
    clock.t += 10;
    h.succeeded(h.begin(0));
    h.failed(a, new Error('timeout of a message, not of the cluster'));
    assert.equal(h.healthy(0), true);
    h.failed(h.begin(0), new Error('connection refused'));
    assert.equal(h.healthy(0), false);
    assert.equal(h.snapshot()[0].lastError?.message, 'connection refused');
  });

  it('failureThreshold needs that many failures in a row', () => {
    const { h } = make({ failureThreshold: 3 });
    h.failed(h.begin(0), new Error('x'));
    h.failed(h.begin(0), new Error('x'));
    assert.equal(h.healthy(0), true);
    h.failed(h.begin(0), new Error('x'));
    assert.equal(h.healthy(0), false);
  });

  it('recovers after recoveryProbes good probes; evidence from before the recovery cannot knock it down again', async () => {
    let up = false;
    const { h, events } = make({ probeIntervalMs: 20, recoveryProbes: 2 }, {
      now: () => performance.now(),
      probe: async () => {
        if (!up) throw new Error('refused');
      },
    });
    const old = h.begin(0);
    await sleep(60);
    assert.equal(h.healthy(0), false, 'failed probes with nothing answered mark it unhealthy');
    up = true;
    const deadline = performance.now() + 5000;
    while (!h.healthy(0) && performance.now() < deadline) await sleep(10);
    assert.equal(h.healthy(0), true);
    h.failed(old, new Error('late error of an operation begun during the outage'));
    h.checkStalls();
    assert.equal(h.healthy(0), true);
    assert.deepEqual(events.filter((e) => e.cluster === 0).map((e) => e.state), ['unhealthy', 'healthy'], 'exactly two transitions');
    assert.equal(h.snapshot()[0].failovers, 1);
    assert.equal(h.snapshot()[0].recoveries, 1);
  });

  it('confirmByTraffic: good probes make the cluster ready for trials, one at a time; recoveryProbes of them succeeding make it healthy', () => {
    const { h, clock, events } = make({ recoveryProbes: 2 }, { confirmByTraffic: true });
    h.failed(h.begin(0), new Error('down'));
    assert.equal(h.trialReady(0), false);
    clock.t += 1;
    h.succeeded(h.begin(0, undefined, 'probe'));
    assert.equal(h.trialReady(0), false, 'one probe is not enough');
    h.succeeded(h.begin(0, undefined, 'probe'));
    assert.equal(h.trialReady(0), true);
    assert.equal(h.healthy(0), false, 'probes alone do not fail back');
    const trial = h.beginTrial(0, () => {});
    assert.ok(trial);
    assert.equal(h.beginTrial(0, () => {}), null, 'one trial at a time');
    h.succeeded(trial);
    assert.equal(h.healthy(0), false, 'one trial of two');
    const second = h.beginTrial(0, () => {});
    assert.ok(second, 'ready for the next trial');
    h.succeeded(second);
    assert.equal(h.healthy(0), true);
    assert.deepEqual(events.map((e) => e.state), ['unhealthy', 'healthy']);
  });

  it('confirmByTraffic: a trial that gets no answer in the stall timeout is stopped; the cluster stays out without a transition', () => {
    const { h, clock, events } = make({ recoveryProbes: 2 }, { confirmByTraffic: true });
    h.failed(h.begin(0), new Error('down'));
    clock.t += 1;
    h.succeeded(h.begin(0, undefined, 'probe'));
    h.succeeded(h.begin(0, undefined, 'probe'));
    const stops: Error[] = [];
    const trial = h.beginTrial(0, (r) => stops.push(r))!;
    clock.t += 1000;
    h.checkStalls();
    assert.equal(stops.length, 1);
    assert.ok(stops[0] instanceof ClusterUnavailableError);
    assert.equal(h.trialReady(0), false, 'needs a good probe again');
    h.succeeded(trial); // its late outcome is ignored: it was given up
    assert.equal(h.healthy(0), false);
    assert.deepEqual(events.map((e) => e.state), ['unhealthy']);
    clock.t += 1;
    h.succeeded(h.begin(0, undefined, 'probe'));
    assert.equal(h.trialReady(0), true, 'one good probe is enough after a slow trial');
  });

  it('answers on the cluster connections keep a slow trial and slow calls alive; a trial still fails after 5 stall timeouts', () => {
    const { h, clock, events } = make({ recoveryProbes: 1 }, { confirmByTraffic: true });
    h.failed(h.begin(0), new Error('down'));
    clock.t += 1;
    h.succeeded(h.begin(0, undefined, 'probe'));
    const stops: Error[] = [];
    h.beginTrial(0, (r) => stops.push(r));
    for (let i = 0; i < 4; i++) {
      clock.t += 900;
      h.answered(0); // the restarting cluster answers metadata, the trial write is still out
      h.checkStalls();
    }
    assert.equal(stops.length, 0, 'a trial whose cluster answers is not given up before 5 stall timeouts');
    clock.t += 1500;
    h.answered(0);
    h.checkStalls();
    assert.equal(stops.length, 1, 'given up after 5 stall timeouts');
    assert.deepEqual(events.map((e) => e.state), ['unhealthy']);

    // A healthy cluster whose calls take longer than the stall timeout but that answers something is not stalled.
    const b = make();
    const op = b.h.begin(1);
    for (let i = 0; i < 5; i++) {
      b.clock.t += 600;
      b.h.answered(1);
      b.h.checkStalls();
    }
    assert.equal(b.h.healthy(1), true);
    // Then the cluster falls silent: an operation begun after its last answer that waits 1 s is a stall.
    b.clock.t += 1;
    b.h.begin(1);
    b.clock.t += 1000;
    b.h.checkStalls();
    assert.equal(b.h.healthy(1), false, 'then 1 s of silence is a stall');
    b.h.succeeded(op);
  });

  it('a probe that never answers times out and, with nothing else answering, marks the cluster unhealthy', async () => {
    const { h } = make({ probeIntervalMs: 30, probeTimeoutMs: 50, stallTimeoutMs: 10_000 }, { now: () => performance.now() });
    const t0 = performance.now();
    while (h.healthy(0) && performance.now() - t0 < 3000) await sleep(10);
    assert.equal(h.healthy(0), false);
    assert.match(h.snapshot()[0].lastError?.message ?? '', /probe of cluster 0 got no answer within 50 ms/);
  });

  it('force pins a cluster down (stopping what is outstanding) or up, and null hands it back', () => {
    const { h } = make();
    const stops: Error[] = [];
    h.begin(1, (r) => stops.push(r));
    h.force(1, 'unhealthy');
    assert.equal(h.healthy(1), false);
    assert.equal(stops.length, 1);
    assert.match(stops[0].message, /forced down/);
    h.force(1, null);
    assert.equal(h.healthy(1), true);
  });

  it('a last-resort operation on a cluster that is out is stopped as soon as another cluster is healthy again', () => {
    const { h, clock } = make({ recoveryProbes: 1 });
    h.failed(h.begin(0), new Error('down'));
    h.failed(h.begin(1), new Error('down'));
    clock.t += 1;
    const stops: Error[] = [];
    h.begin(1, (r) => stops.push(r)); // nothing healthy: tried anyway
    h.succeeded(h.begin(0, undefined, 'probe'));
    assert.equal(h.healthy(0), true);
    assert.equal(stops.length, 1);
    assert.ok(stops[0] instanceof ClusterUnavailableError && stops[0].cluster === 1);
  });

  it('a process that was not scheduled reads the answer waiting in its socket before it judges a stall', async () => {
    // An echo server in its own process, so it answers while this one is blocked.
    const server = spawn(process.execPath, ['-e', "const s = require('net').createServer((c) => c.pipe(c)).listen(0, '127.0.0.1', () => console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = Number((await once(server.stdout!, 'data'))[0].toString());
      const socket = net.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const h = new HealthTracker(1, never, { probeIntervalMs: 3_600_000, stallTimeoutMs: 200 });
      trackers.push(h);
      const events: ClusterHealth[] = [];
      h.onChange((e) => events.push(e));
      socket.on('data', () => h.answered(0));
      const op = h.begin(0);
      socket.write('ping');
      // Not scheduled for 2.5 stall timeouts (busy in a check-phase callback) while the echo arrives:
      // the next loop turn runs the overdue stall check before it polls the socket.
      await new Promise<void>((r) =>
        setImmediate(() => {
          const end = performance.now() + 500;
          while (performance.now() < end);
          r();
        }),
      );
      await sleep(100);
      assert.deepEqual(events.map((e) => e.state), [], 'the waiting answer counts: no transition');
      assert.equal(h.healthy(0), true);
      h.succeeded(op);
      socket.destroy();
    } finally {
      server.kill();
    }
  });

  it('refuses non-positive settings', () => {
    assert.throws(() => new HealthTracker(1, never, { stallTimeoutMs: 0 }), RangeError);
    assert.throws(() => new HealthTracker(1, never, { probeIntervalMs: -1 }), RangeError);
  });
});
