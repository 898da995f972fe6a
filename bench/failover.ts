// MultiWriter failover under open-loop traffic (issue 13): calls are issued on a timer and never awaited
// one by one, as a service does. One cluster is killed (SIGKILL) or frozen (SIGSTOP) for a while, then
// restarted or thawed; the run prints what a user would see: detection time, the longest call, p99
// after detection next to the standby's own p99 (a plain Writer on the standby in the same run),
// fail-back time, health transitions, messages lost and duplicates (read back from both clusters and
// deduplicated by the message-id header). The failover integration test runs the same scenarios with
// shorter windows.
// Run (clusters up, own MKA_KAFKA_STATE/MKA_KAFKA_PORT_OFFSET as for the tests):
//   node --import tsx bench/failover.ts [backup-kill backup-freeze multirw-freeze mirror-kill mirror-freeze] [--outage 30]
import { pathToFileURL } from 'node:url';
import { Client } from '../src/client/client.ts';
import { Writer } from '../src/client/writer/writer.ts';
import type { WriterMessage } from '../src/client/writer/config.ts';
import { MultiWriter, MultiWriteErrors, RWMode, type HealthConfig, type MultiWriteResult } from '../src/multi/index.ts';
import { cluster, freezeCluster, startCluster, stopCluster, thawCluster, uniqueTopic, type ClusterName } from '../test/helpers/kafka.ts';
import { fetchRaw } from '../test/helpers/produce.ts';
import { percentile } from '../test/helpers/latency.ts';

export type Failure = 'kill' | 'freeze';

export interface Scenario {
  mode: RWMode;
  failure: Failure;
  /** The cluster that fails: 'a' is index 0 (Backup's primary), 'b' index 1. */
  target: ClusterName;
  warmupMs: number;
  outageMs: number;
  /** Traffic after the failed cluster is back. */
  recoveryMs: number;
  /** Messages per second, and per call (a call every perCall / rate seconds). Default 300 and 3. */
  rate?: number;
  perCall?: number;
  /** Default: the README example's `{ probeIntervalMs: 1000, recoveryProbes: 2 }`. */
  health?: HealthConfig;
  log?: (line: string) => void;
}

export interface Transition {
  at: number;
  cluster: number;
  state: string;
}

export interface ScenarioReport {
  name: string;
  calls: number;
  messages: number;
  acked: number;
  failed: number;
  /** Acknowledged, yet in neither cluster. */
  lost: number;
  /** Copies found beyond the first of each message id (Mirror: within each cluster). */
  duplicatesFound: number;
  possibleDuplicates: number;
  handedOver: number;
  timedOut: number;
  /** ms from the start of the run. */
  failedAt: number;
  failCommandMs: number;
  restoredAt: number;
  restoreCommandMs: number;
  /** Failure (start of the kill/freeze command) to the unhealthy transition. */
  detectionMs: number | null;
  /** The longest call of the run, and the longest of those in flight when the failure began. */
  maxCallMs: number;
  /** The longest call outstanding at any moment of the outage (from the failure to the restore command). */
  maxCallOutageMs: number;
  /** The longest call issued after fail-back, and during the warm-up before the failure. */
  maxCallAfterFailBackMs: number;
  maxCallWarmupMs: number;
  maxCallInFlightAtFailureMs: number;
  /** The longest any call waited after the failure began (from the failure, or from its issue if later). */
  maxWaitSinceFailureMs: number;
  /** Calls issued between detection and restore. */
  p50AfterDetectionMs: number;
  p99AfterDetectionMs: number;
  standbyP99Ms: number;
  /** End of the restart/thaw command to the healthy transition. */
  /** From the restore command's return until the cluster's topic had every partition led again. */
  answersAgainMs: number;
  /** From then (or the restore command's return, whichever is later) until the writer is back on it. */
  failBackMs: number | null;
  /** The reference writer's slowest call on the standby while the failed cluster was out. */
  standbyMaxOutageMs: number;
  transitions: Transition[];
  /** Writer calls tried on the failed cluster between detection and restore. */
  attemptsOnFailedAfterDetection: number;
  /** Mirror: calls issued after detection that did not report exactly the failed cluster missing for every message. */
  mirrorWrongReports: number;
  /** Mirror: messages reported written to (not missing in) a cluster that does not have them. */
  mirrorFalseSuccess: number;
  errorSamples: string[];
  /** The three longest calls: when issued (ms from the start), how long, where they landed. */
  slowest: { issuedAt: number; ms: number; clusters: number[] | string }[];
  /** The three longest calls in flight at the failure: issued how long before it, how long they took. */
  slowestAtFailure: { before: number; ms: number }[];
}

const ID = 'mka-id';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Call {
  issuedAt: number;
  settledAt: number;
  values: string[];
  results: MultiWriteResult[] | null;
  error: MultiWriteErrors | null;
}

/** Every record of a topic on one cluster: value and message id. */
async function readAll(client: Client, topic: string): Promise<{ value: string; id: string | null }[]> {
  const out: { value: string; id: string | null }[] = [];
  const ends = await client.listOffsets(topic, 'latest');
  for (const [p, o] of ends) {
    if (o.offset === 0n) continue;
    for (const r of await fetchRaw(client, topic, p, 0n, Number(o.offset))) {
      out.push({ value: r.value ?? '', id: r.headers.find((h) => h.key === ID)?.value ?? null });
    }
  }
  return out;
}

/**
 * When did the cluster last answer? A Metadata request every 20 ms on a Client of its own (one at a time,
 * so a frozen cluster leaves one hanging). The last answer before a failure bounds the failure from
 * below: detection is measured from it, never from the harness command, whose process start and exit
 * can take seconds on a loaded machine.
 */
class Heartbeat {
  lastAnswerAt = -Infinity;
  private stopped = false;
  private readonly client: Client;
  private readonly loop: Promise<void>;

  constructor(brokers: string[], now: () => number) {
    const client = new Client({ brokers, retry: { attempts: 1 }, retryTimeoutMs: 0, requestTimeoutMs: 120_000, reconnectBackoffMaxMs: 200 });
    this.client = client;
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await client.metadata({ topics: [], timeoutMs: 120_000 });
          this.lastAnswerAt = now();
        } catch {
          // Dead: the last answer stays where it was.
        }
        await sleep(20);
      }
    })();
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.client.close();
    await this.loop;
  }
}

/**
 * When the restored cluster answers again for the topic: metadata every 20 ms until every partition has
 * a leader (a restarted cluster answers before it has elected them). Fail-back is measured from here.
 */
async function answersAgain(brokers: string[], topic: string, now: () => number, limitMs: number): Promise<number | null> {
  const client = new Client({ brokers, retry: { attempts: 1 }, retryTimeoutMs: 0, reconnectBackoffMaxMs: 200 });
  const until = now() + limitMs;
  try {
    while (now() < until) {
      try {
        const m = await client.metadata({ topics: [topic], timeoutMs: 1000 });
        const t = m.topics.find((x) => x.name === topic);
        if (t && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)) return now();
      } catch {
        // not yet
      }
      await sleep(20);
    }
    return null;
  } finally {
    await client.close();
  }
}

async function createTopic(client: Client, topic: string, replicationFactor: number): Promise<void> {
  await client.createTopics([{ topic, numPartitions: 3, replicationFactor }]);
}

async function restore(target: ClusterName, failure: Failure): Promise<void> {
  if (failure === 'freeze') await thawCluster(target);
  else await startCluster(target);
}

export async function runScenario(s: Scenario): Promise<ScenarioReport> {
  const log = s.log ?? (() => {});
  const name = `${s.mode}-${s.failure}-${s.target}`;
  const rate = s.rate ?? 300;
  const perCall = s.perCall ?? 3;
  const intervalMs = (1000 * perCall) / rate;
  const targetIdx = s.target === 'a' ? 0 : 1;
  const standbyIdx = 1 - targetIdx;
  const A = cluster('a');
  const B = cluster('b');
  const admin = [new Client({ brokers: A.bootstrap }), new Client({ brokers: B.bootstrap })];
  const topic = uniqueTopic(`fo-${s.mode}`);
  const refTopic = `${topic}-ref`;
  await createTopic(admin[0], topic, 3);
  await createTopic(admin[1], topic, 1);
  await createTopic(admin[standbyIdx], refTopic, standbyIdx === 0 ? 3 : 1);

  const w = new MultiWriter(s.mode, [{ brokers: A.bootstrap, topic }, { brokers: B.bootstrap, topic }], {
    health: s.health ?? { probeIntervalMs: 1000, recoveryProbes: 2 },
    messageIdHeader: ID,
  });
  // The standby's own latency in the same run, on the same machine load: a plain Writer on its own topic.
  const ref = new Writer({ brokers: (standbyIdx === 0 ? A : B).bootstrap, topic: refTopic });
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const transitions: Transition[] = [];
  let detectedAt: number | null = null;
  let healthyAt: number | null = null;
  let failedAt = Infinity;
  let failing = false;
  let restoredAt = Infinity;
  const totals = { handedOver: 0, possibleDuplicates: 0, timedOut: 0 };
  let attemptsOnFailedAfterDetection = 0;
  const take = () => {
    const st = w.aggregateStats();
    totals.handedOver += st.handedOver;
    totals.possibleDuplicates += st.possibleDuplicates;
    totals.timedOut += st.timedOut;
    return st;
  };
  w.onHealthChange((h) => {
    transitions.push({ at: Math.round(now()), cluster: h.cluster, state: h.forced ?? h.state });
    if (h.cluster !== targetIdx) return;
    if (h.state === 'unhealthy' && detectedAt === null && failing) {
      detectedAt = now();
      take(); // from here on, attempts on the failed cluster are counted apart
    }
    if (h.state === 'healthy' && healthyAt === null && now() >= restoredAt) healthyAt = now();
  });

  const calls: Call[] = [];
  const outstanding = new Set<Promise<void>>();
  const refLat: { at: number; ms: number }[] = [];
  let stop = false;
  let seq = 0;

  const traffic = (async () => {
    const start = performance.now();
    for (let k = 0; !stop; k++) {
      const wait = start + k * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const values = Array.from({ length: perCall }, () => `m-${seq++}`);
      const msgs: WriterMessage[] = values.map((v) => ({ key: v, value: v }));
      const call: Call = { issuedAt: now(), settledAt: NaN, values, results: null, error: null };
      calls.push(call);
      const p = w.writeMessages(...msgs).then(
        (r) => void (call.results = r),
        (e: unknown) => {
          if (!(e instanceof MultiWriteErrors)) throw e;
          call.error = e;
        },
      ).finally(() => {
        call.settledAt = now();
        outstanding.delete(p);
      });
      outstanding.add(p);
    }
  })();
  // The reference carries the same open-loop traffic as the MultiWriter, straight to the standby.
  const refOutstanding = new Set<Promise<void>>();
  const reference = (async () => {
    const start = performance.now();
    for (let k = 0; !stop; k++) {
      const wait = start + k * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const at = now();
      const p = ref.writeMessages(...Array.from({ length: perCall }, (_, j) => ({ key: `ref-${k}-${j}`, value: `ref-${k}-${j}` }))).then(
        () => void refLat.push({ at, ms: now() - at }),
        () => {}, // the standby's own failures show in the MultiWriter figures; the reference times successes
      ).finally(() => refOutstanding.delete(p));
      refOutstanding.add(p);
    }
    await Promise.all(refOutstanding);
  })();

  let failCommandMs = 0;
  let restoreCommandMs = 0;
  let restoreStartAt = Infinity;
  try {
    await sleep(s.warmupMs);
    log(`${name}: ${s.failure} cluster ${s.target} at ${Math.round(now())} ms`);
    const heartbeat = new Heartbeat((s.target === 'a' ? A : B).bootstrap, now);
    await sleep(200);
    const cmdStart = now();
    failing = true;
    if (s.failure === 'freeze') await freezeCluster(s.target);
    else await stopCluster(s.target, { kill: true });
    const cmdEnd = now();
    failCommandMs = cmdEnd - cmdStart;
    failedAt = Math.min(cmdEnd, heartbeat.lastAnswerAt);
    void heartbeat.close();
    await sleep(Math.max(0, s.outageMs));
  } finally {
    const st = take();
    if (detectedAt !== null) attemptsOnFailedAfterDetection = st.attempts[targetIdx];
    const r0 = now();
    restoreStartAt = r0;
    log(`${name}: restoring cluster ${s.target} at ${Math.round(r0)} ms`);
    await restore(s.target, s.failure);
    restoredAt = now();
    restoreCommandMs = restoredAt - r0;
    log(`${name}: cluster ${s.target} back at ${Math.round(restoredAt)} ms`);
  }
  // If the probes saw the cluster healthy before the restore command returned, fail-back is immediate.
  if (healthyAt === null && w.healthStatus()[targetIdx].state === 'healthy' && transitions.some((t) => t.cluster === targetIdx && t.state === 'healthy')) healthyAt = restoredAt;
  const answersAt = (await answersAgain((s.target === 'a' ? A : B).bootstrap, topic, now, 60_000)) ?? now();
  await sleep(s.recoveryMs);
  stop = true;
  await traffic;
  await reference;
  await Promise.all(outstanding);
  take();
  await w.close();
  await ref.close();

  // Read back both clusters; dedupe by the id header.
  const stored = await Promise.all(admin.map((c) => readAll(c, topic)));
  const byValue = stored.map((recs) => new Set(recs.map((r) => r.value)));
  // Copies of one message id: across both clusters for Backup and MultiRW, within each cluster for Mirror.
  const copies = (groups: { id: string | null }[][]) => {
    const ids = new Map<string, number>();
    for (const recs of groups) for (const r of recs) if (r.id) ids.set(r.id, (ids.get(r.id) ?? 0) + 1);
    return [...ids.values()].reduce((n, k) => n + k - 1, 0);
  };
  const duplicatesFound = s.mode === RWMode.Mirror ? copies([stored[0]]) + copies([stored[1]]) : copies(stored);
  await Promise.all(admin.map((c) => c.close()));

  let acked = 0;
  let failed = 0;
  let lost = 0;
  let mirrorWrongReports = 0;
  let mirrorFalseSuccess = 0;
  const errorSamples = new Set<string>();
  const det = detectedAt as number | null;
  for (const c of calls) {
    c.values.forEach((v, i) => {
      const err = c.error?.errors[i] ?? null;
      if (err) {
        failed++;
        if (errorSamples.size < 5) errorSamples.add(err.message);
      } else {
        acked++;
        if (!byValue[0].has(v) && !byValue[1].has(v)) lost++;
      }
      if (s.mode === RWMode.Mirror) {
        const missing = c.error?.missing[i] ?? [];
        for (const k of [0, 1]) if (!missing.includes(k) && !byValue[k].has(v)) mirrorFalseSuccess++;
      }
    });
    if (s.mode === RWMode.Mirror && det !== null && c.issuedAt >= det && c.issuedAt < failedAt + s.outageMs - 500) {
      const exact = c.error !== null && c.error.missing.every((m) => m.length === 1 && m[0] === targetIdx);
      if (!exact) mirrorWrongReports++;
    }
  }
  const latency = (f: (c: Call) => boolean) => calls.filter(f).map((c) => c.settledAt - c.issuedAt);
  const after = latency((c) => det !== null && c.issuedAt >= det && c.issuedAt < restoredAt - restoreCommandMs);
  const refAfter = refLat.filter((r) => det !== null && r.at >= det && r.at < restoredAt - restoreCommandMs).map((r) => r.ms);
  const report: ScenarioReport = {
    name,
    calls: calls.length,
    messages: calls.length * perCall,
    acked,
    failed,
    lost,
    duplicatesFound,
    ...totals,
    failedAt: Math.round(failedAt),
    failCommandMs: Math.round(failCommandMs),
    restoredAt: Math.round(restoredAt),
    restoreCommandMs: Math.round(restoreCommandMs),
    detectionMs: det === null ? null : Math.round(det - failedAt),
    maxCallMs: Math.round(Math.max(...latency(() => true))),
    maxCallOutageMs: Math.round(Math.max(0, ...latency((c) => c.settledAt >= failedAt && c.issuedAt < restoreStartAt))),
    maxCallAfterFailBackMs: Math.round(Math.max(0, ...latency((c) => healthyAt !== null && c.issuedAt >= (healthyAt as number)))),
    maxCallWarmupMs: Math.round(Math.max(0, ...latency((c) => c.settledAt < failedAt))),
    maxCallInFlightAtFailureMs: Math.round(Math.max(0, ...latency((c) => c.issuedAt <= failedAt && c.settledAt >= failedAt))),
    maxWaitSinceFailureMs: Math.round(Math.max(0, ...calls.filter((c) => c.settledAt >= failedAt).map((c) => c.settledAt - Math.max(c.issuedAt, failedAt)))),
    p50AfterDetectionMs: Math.round(percentile(after, 50) * 10) / 10,
    p99AfterDetectionMs: Math.round(percentile(after, 99) * 10) / 10,
    standbyP99Ms: Math.round(percentile(refAfter, 99) * 10) / 10,
    answersAgainMs: Math.round(answersAt - restoredAt),
    failBackMs: healthyAt === null ? null : Math.round(Math.max(0, (healthyAt as number) - Math.max(restoredAt, answersAt))),
    standbyMaxOutageMs: Math.round(Math.max(0, ...refLat.filter((r) => r.at + r.ms >= failedAt && r.at < restoreStartAt).map((r) => r.ms))),
    transitions,
    attemptsOnFailedAfterDetection,
    mirrorWrongReports,
    mirrorFalseSuccess,
    errorSamples: [...errorSamples],
    slowest: [...calls].sort((x, y) => y.settledAt - y.issuedAt - (x.settledAt - x.issuedAt)).slice(0, 3).map((c) => ({
      issuedAt: Math.round(c.issuedAt),
      ms: Math.round(c.settledAt - c.issuedAt),
      clusters: c.results ? [...new Set(c.results.map((r) => r.cluster))] : (c.error?.message ?? '?'),
    })),
    slowestAtFailure: calls
      .filter((c) => c.issuedAt <= failedAt && c.settledAt >= failedAt)
      .sort((x, y) => y.settledAt - y.issuedAt - (x.settledAt - x.issuedAt))
      .slice(0, 3)
      .map((c) => ({ before: Math.round(failedAt - c.issuedAt), ms: Math.round(c.settledAt - c.issuedAt) })),
  };
  return report;
}

const SCENARIOS: Record<string, Pick<Scenario, 'mode' | 'failure' | 'target'>> = {
  'backup-kill': { mode: RWMode.Backup, failure: 'kill', target: 'a' },
  'backup-freeze': { mode: RWMode.Backup, failure: 'freeze', target: 'a' },
  'multirw-freeze': { mode: RWMode.MultiRW, failure: 'freeze', target: 'a' },
  'mirror-kill': { mode: RWMode.Mirror, failure: 'kill', target: 'b' },
  'mirror-freeze': { mode: RWMode.Mirror, failure: 'freeze', target: 'a' },
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const o = args.indexOf('--outage');
  const outageMs = o >= 0 ? Number(args.splice(o, 2)[1]) * 1000 : 30_000;
  const names = args.length ? args : Object.keys(SCENARIOS);
  for (const n of names) {
    const sc = SCENARIOS[n];
    if (!sc) throw new Error(`unknown scenario ${n}; one of ${Object.keys(SCENARIOS).join(', ')}`);
    const r = await runScenario({ ...sc, warmupMs: 5000, outageMs, recoveryMs: 10_000, log: (l) => console.error(l) });
    console.log(JSON.stringify(r));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
