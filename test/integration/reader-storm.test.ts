// Rebalance storm: a 12-partition topic written continuously while five group members (three Readers in
// this process, two in child processes) leave, crash (no LeaveGroup), stop processing for longer than
// the rebalance timeout (a child is frozen with SIGSTOP: no heartbeats either) and restart, every
// couple of seconds; for the classic protocol with each assignor and for KIP-848.
// Checks: every message processed at least once; after the storm the group's lag is 0 within a bound
// (for KIP-848 derived from the broker's session timeout, which the client does not set);
// no in-process member stays unhealthy (assigned partitions it does not fetch) beyond the watchdog's
// window; memory stays flat. Figures are printed: rebalances, messages, duplicates, the longest time a
// partition had unread data and no reader, peak RSS.
//   CI: MKA_STORM_MS per variant (default 10 s). Soak: `npm run soak` (10 minutes per variant).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { ClosedError, TimeoutError } from '../../src/protocol/errors.ts';
import { Reader, Writer, type ReaderConfig } from '../../src/index.ts';
import type { AssignorName } from '../../src/client/reader/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { until } from '../helpers/reader-loop.ts';

const STORM_MS = Number(process.env.MKA_STORM_MS ?? 10_000);
const VARIANTS = (process.env.MKA_STORM_VARIANTS ?? 'range,roundrobin,cooperative-sticky,consumer').split(',');
const P = 12;
const SESSION_MS = 6_000;
const REBALANCE_MS = 5_000;
const STALL_WINDOW_MS = 3_000;
// After the storm: a crashed member is noticed after the session timeout, then one more rebalance.
// Classic: the members' own 6 s session timeout.
const LAG_BOUND_MS = 45_000;
// KIP-848: the session timeout and heartbeat interval are the broker's (group.consumer.session.timeout.ms,
// 45 s by default, and group.consumer.heartbeat.interval.ms, 5 s), not the client's: a member crashed
// near the end of the storm holds its partitions that long, and they move on the beats that follow.
const KIP848_SLACK_MS = 25_000;
const KIP848_MAX_BOUND_MS = 120_000;
async function kip848LagBoundMs(client: Client): Promise<number> {
  const { brokers } = await client.describeCluster();
  const cfg = await client.describeConfigs({ type: 'broker', name: String(brokers[0].nodeId) }, { keys: ['group.consumer.session.timeout.ms', 'group.consumer.heartbeat.interval.ms'] });
  const session = Number(cfg['group.consumer.session.timeout.ms']?.value ?? 45_000);
  const beat = Number(cfg['group.consumer.heartbeat.interval.ms']?.value ?? 5_000);
  return Math.min(KIP848_MAX_BOUND_MS, session + 2 * beat + KIP848_SLACK_MS);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tally {
  processed: Map<number, Set<bigint>>;
  deliveries: number;
  lastAt: Map<number, number>;
  maxOffset: Map<number, bigint>;
}

function record(t: Tally, partition: number, offset: bigint): void {
  t.deliveries++;
  t.processed.get(partition)!.add(offset);
  t.lastAt.set(partition, performance.now());
  if (offset > (t.maxOffset.get(partition) ?? -1n)) t.maxOffset.set(partition, offset);
}

interface Member {
  name: string;
  alive(): boolean;
  start(): void;
  leave(): Promise<void>;
  crash(): void;
  /** Stops processing (a child: the whole process) for ms. */
  stall(ms: number): void;
  rebalances(): number;
  rss(): number;
  /** State printed when the test fails. */
  describe(): unknown;
}

class LocalMember implements Member {
  private r: Reader | null = null;
  private stalledUntil = 0;
  private rebalanceCount = 0;
  unhealthySince = -1;
  longestUnhealthyMs = 0;
  constructor(readonly name: string, private readonly cfg: ReaderConfig, private readonly tally: Tally) {}
  alive() {
    return this.r !== null;
  }
  start() {
    const r = new Reader(this.cfg);
    this.r = r;
    void (async () => {
      for (;;) {
        try {
          while (performance.now() < this.stalledUntil && this.r === r) await sleep(100);
          const m = await r.readMessage({ timeoutMs: 500 });
          record(this.tally, m.partition, m.offset);
        } catch (e) {
          if (e instanceof ClosedError || this.r !== r) return;
          if (e instanceof TimeoutError) continue;
          // A commit refused by a rebalance: the message goes to the partition's next owner.
        }
      }
    })();
  }
  async leave() {
    const r = this.take();
    await r?.close();
  }
  crash() {
    this.take()?.abandon();
  }
  stall(ms: number) {
    this.stalledUntil = performance.now() + ms;
  }
  private take(): Reader | null {
    const r = this.r;
    this.r = null;
    this.unhealthySince = -1;
    if (r) this.rebalanceCount += r.stats().rebalances;
    return r;
  }
  /** Samples health: a member that processes (not stalled) and stays unhealthy is what the storm must not show. */
  sample(now: number) {
    const r = this.r;
    if (!r || now < this.stalledUntil + STALL_WINDOW_MS) {
      this.unhealthySince = -1;
      return;
    }
    if (r.health().healthy) this.unhealthySince = -1;
    else if (this.unhealthySince < 0) this.unhealthySince = now;
    else this.longestUnhealthyMs = Math.max(this.longestUnhealthyMs, now - this.unhealthySince);
  }
  rebalances() {
    return this.rebalanceCount + (this.r?.stats().rebalances ?? 0);
  }
  rss() {
    return 0;
  }
  describe() {
    const r = this.r;
    return r ? { assignment: r.assignment().map((tp) => tp.partition), health: r.health() } : 'not running';
  }
}

class ChildMember implements Member {
  private child: ChildProcess | null = null;
  private rebalanceCount = 0;
  private lastRebalances = 0;
  private lastRss = 0;
  private lastDescribe: unknown = 'no report yet';
  peakRss = 0;
  constructor(readonly name: string, private readonly cfg: ReaderConfig, private readonly tally: Tally) {}
  alive() {
    return this.child !== null;
  }
  start() {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/storm-member.ts', JSON.stringify(this.cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child = child;
    this.lastRebalances = 0;
    // A child frozen by stall() must not outlive a test process that ends before it thaws it.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.removeListener('exit', reap));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const o = JSON.parse(line) as { m?: string; rebalances?: number; rss?: number; describe?: unknown };
      if (o.describe !== undefined) this.lastDescribe = o.describe;
      if (o.m) {
        const [p, off] = o.m.split(':');
        record(this.tally, Number(p), BigInt(off));
      }
      if (o.rebalances !== undefined) this.lastRebalances = o.rebalances;
      if (o.rss !== undefined) {
        this.lastRss = o.rss;
        this.peakRss = Math.max(this.peakRss, o.rss);
      }
    });
    child.on('exit', () => {
      if (this.child === child) this.child = null;
      this.rebalanceCount += this.lastRebalances;
      this.lastRebalances = 0;
    });
  }
  async leave() {
    const c = this.child;
    if (!c) return;
    c.kill('SIGCONT');
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    this.child = null;
  }
  crash() {
    this.child?.kill('SIGKILL');
    this.child = null;
  }
  stall(ms: number) {
    const c = this.child;
    if (!c) return;
    c.kill('SIGSTOP');
    setTimeout(() => c.kill('SIGCONT'), ms).unref();
  }
  rebalances() {
    return this.rebalanceCount + this.lastRebalances;
  }
  rss() {
    return this.lastRss;
  }
  describe() {
    return this.child ? this.lastDescribe : 'not running';
  }
}

describe('Reader rebalance storm', () => {
  let client: Client;
  const topics: string[] = [];
  before(() => {
    client = new Client({ brokers: cluster('b').bootstrap });
  });
  after(async () => {
    await client.deleteTopics(topics).catch(() => {});
    await client.close();
  });

  for (const variant of VARIANTS) {
    const groupProtocol = variant === 'consumer' ? 'consumer' : 'classic';
    it(`${variant}: five members join, leave, crash, stall and restart for ${STORM_MS / 1000} s; every message read, lag back to 0`, { timeout: STORM_MS + (groupProtocol === 'consumer' ? KIP848_MAX_BOUND_MS : LAG_BOUND_MS) + 60_000 }, async () => {
      const lagBoundMs = groupProtocol === 'consumer' ? await kip848LagBoundMs(client) : LAG_BOUND_MS;
      const topic = uniqueTopic(`storm-${variant}`);
      topics.push(topic);
      const groupId = uniqueTopic('storm');
      await client.createTopics([{ topic, numPartitions: P }]);
      const tally: Tally = { processed: new Map(Array.from({ length: P }, (_, p) => [p, new Set<bigint>()])), deliveries: 0, lastAt: new Map(), maxOffset: new Map() };
      const cfg: ReaderConfig = {
        brokers: cluster('b').bootstrap,
        topic,
        groupId,
        groupProtocol,
        ...(groupProtocol === 'classic' ? { assignors: [variant as AssignorName] } : {}),
        maxWaitMs: 200,
        sessionTimeoutMs: SESSION_MS,
        heartbeatIntervalMs: 500,
        rebalanceTimeoutMs: REBALANCE_MS,
        commitIntervalMs: 200,
        queueCapacity: 200,
        stallWindowMs: STALL_WINDOW_MS,
      };
      const locals = [0, 1, 2].map((i) => new LocalMember(`local-${i}`, cfg, tally));
      const children = [0, 1].map((i) => new ChildMember(`child-${i}`, cfg, tally));
      const members: Member[] = [...locals, ...children];

      // The writer: ten messages every 25 ms, spread over the partitions.
      const w = new Writer({ brokers: cluster('b').bootstrap, topic });
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await w.writeMessages(...Array.from({ length: 10 }, (_, i) => ({ value: `v${written + i}` })));
          written += 10;
          await sleep(25);
        }
      })();

      // Samplers: health of in-process members, RSS, the longest time a partition had unread data.
      const hw = new Map<number, bigint>();
      let longestUnreadMs = 0;
      const unreadSince = new Map<number, number>();
      let peakRss = 0;
      let sampling = true;
      const rss0 = process.memoryUsage().rss;
      const sampler = (async () => {
        while (sampling) {
          const now = performance.now();
          for (const l of locals) l.sample(now);
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
          try {
            for (const [p, o] of await client.listOffsets(topic, 'latest')) hw.set(p, o.offset);
          } catch {
            // a sample missed
          }
          for (let p = 0; p < P; p++) {
            const end = hw.get(p) ?? 0n;
            if (end > (tally.maxOffset.get(p) ?? -1n) + 1n) {
              const since = Math.max(unreadSince.get(p) ?? now, tally.lastAt.get(p) ?? 0);
              if (!unreadSince.has(p)) unreadSince.set(p, now);
              longestUnreadMs = Math.max(longestUnreadMs, now - since);
            } else unreadSince.delete(p);
          }
          await sleep(500);
        }
      })();

      try {
        for (const m of members) m.start();
        // A seeded sequence, so a failing run can be replayed.
        let seed = Number(process.env.MKA_STORM_SEED ?? 7);
        const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        const events: string[] = [];
        const t0 = performance.now();
        while (performance.now() - t0 < STORM_MS) {
          await sleep(1_500 + rand() * 1_500);
          const m = members[Math.floor(rand() * members.length)];
          if (!m.alive()) {
            m.start();
            events.push(`${m.name}:start`);
            continue;
          }
          const action = ['leave', 'crash', 'stall', 'stall'][Math.floor(rand() * 4)];
          events.push(`${m.name}:${action}`);
          if (action === 'leave') void m.leave();
          else if (action === 'crash') m.crash();
          else m.stall(REBALANCE_MS + 1_000);
        }
        // The storm ends: every member runs again, the writer stops.
        for (const m of members) if (!m.alive()) m.start();
        writing = false;
        await writer;
        const stormEnd = performance.now();

        const end = await client.listOffsets(topic, 'latest');
        const committedAll = async () => {
          const c = await client.fetchOffsets(groupId, [{ topic }]);
          // An empty partition has nothing to commit.
          return c.length === P && c.every((x) => x.offset === end.get(x.partition)!.offset || (end.get(x.partition)!.offset === 0n && x.offset < 0n));
        };
        try {
          await until('the group lag back to 0', committedAll, lagBoundMs);
        } catch (e) {
          const c = await client.fetchOffsets(groupId, [{ topic }]);
          const rows = c.map((x) => `${x.partition}: committed ${x.offset} end ${end.get(x.partition)!.offset} read up to ${tally.maxOffset.get(x.partition)}`);
          console.log(`[storm] ${variant} lag not 0:\n${rows.join('\n')}\nevents ${events.join(' ')}`);
          for (const l of members) console.log(`[storm] ${l.name}: ${JSON.stringify(l.describe(), (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
          throw e;
        }
        const lagZeroMs = performance.now() - stormEnd;

        let total = 0n;
        for (let p = 0; p < P; p++) {
          const e = end.get(p)!.offset;
          total += e;
          const seen = tally.processed.get(p)!;
          for (let o = 0n; o < e; o++) assert.ok(seen.has(o), `${topic}/${p}@${o} never processed`);
        }
        const unique = [...tally.processed.values()].reduce((n, s) => n + s.size, 0);
        const figures = {
          variant,
          stormS: STORM_MS / 1000,
          events: events.length,
          rebalances: members.reduce((n, m) => n + m.rebalances(), 0),
          messages: Number(total),
          deliveries: tally.deliveries,
          duplicates: tally.deliveries - unique,
          longestUnreadMs: Math.round(longestUnreadMs),
          lagZeroAfterMs: Math.round(lagZeroMs),
          lagBoundMs,
          longestUnhealthyMs: Math.round(Math.max(...locals.map((l) => l.longestUnhealthyMs))),
          peakRssMB: Math.round(peakRss / 2 ** 20),
          rssGrowthMB: Math.round((process.memoryUsage().rss - rss0) / 2 ** 20),
          childPeakRssMB: Math.round(Math.max(...children.map((c) => c.peakRss)) / 2 ** 20),
        };
        console.log(`[storm] ${JSON.stringify(figures)}`);
        assert.equal(unique, Number(total));
        assert.ok(lagZeroMs < lagBoundMs);
        // A processing member is unhealthy at most about two windows (a stall seen, healed, caught up).
        assert.ok(figures.longestUnhealthyMs <= 3 * STALL_WINDOW_MS, `a member stayed unhealthy ${figures.longestUnhealthyMs} ms`);
        // Bounded queues: the in-process members and the test's own bookkeeping stay well under this.
        assert.ok(figures.rssGrowthMB < 300, `RSS grew ${figures.rssGrowthMB} MB`);
      } finally {
        writing = false;
        sampling = false;
        await sampler;
        await writer.catch(() => {});
        await w.close();
        await Promise.all(members.map((m) => m.leave()));
      }
    });
  }
});
