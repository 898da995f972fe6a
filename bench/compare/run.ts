// Side-by-side benchmark: mka against kafkajs, @platformatic/kafka, @confluentinc/kafka-javascript and
// the Java perf tools, on the same broker with the same settings. Every (case, round, client) runs in a
// fresh process; clients alternate within each round (A B C A B C …) so drift hits all alike.
//   npm run bench -- [--rounds 3] [--messages 1000000] [--e2e-seconds 20] [--clients mka,kafkajs,...] [--cases produce-100,...] [--name compare]
// Writes bench/results/<name>.json and <name>.md (default compare). `--cases all` runs every case,
// the many-partition ones included; the default is the 1-partition set. The client `mka-multi` (not in
// the default set) runs mka's MultiWriter/MultiReader over the case's cluster and the other one.
// The client `mka-lz4wasm` (not in the default set either) is mka with a WebAssembly lz4 registered.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from '../../src/client/client.ts';
import { cluster } from '../../test/helpers/kafka.ts';
import { baseSpec, CASES, DEFAULT_CASES, type BenchCase } from './cases.ts';
import { runJava } from './java.ts';
import { markdown, summarise, type RunRecord } from './report.ts';
import type { BenchSpec, ChildReport } from './types.ts';

const ALL_CLIENTS = ['mka', 'kafkajs', 'platformatic', 'confluent', 'java'];
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    messages: { type: 'string', default: '1000000' },
    'e2e-seconds': { type: 'string', default: '20' },
    clients: { type: 'string', default: ALL_CLIENTS.join(',') },
    cases: { type: 'string', default: DEFAULT_CASES.join(',') },
    out: { type: 'string', default: 'bench/results' },
    name: { type: 'string', default: 'compare' },
  },
});
const rounds = Number(opt.rounds);
const messages = Number(opt.messages);
const clients = opt.clients.split(',');
const cases = opt.cases === 'all' ? CASES : CASES.filter((c) => opt.cases.split(',').includes(c.id));
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

// Children run compiled JavaScript: a TypeScript loader in every child would add its own memory to the RSS figures.
log('compiling the bench (tsc -p tsconfig.bench.json)');
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.bench.json'], { stdio: 'inherit' });
const CHILD = '.bench-build/bench/compare/child.js';

if (clients.includes('confluent') && !existsSync('bench/peers/node_modules/@confluentinc/kafka-javascript')) {
  log('building @confluentinc/kafka-javascript (bench/peers/install.sh)');
  try {
    execFileSync('bash', ['bench/peers/install.sh'], { stdio: 'inherit' });
  } catch {
    log('@confluentinc/kafka-javascript could not be built; its rows will say so');
  }
}

type ClusterName = 'a' | 'b';
const other = (c: ClusterName): ClusterName => (c === 'a' ? 'b' : 'a');
const bootstraps = { a: cluster('a').bootstrap, b: cluster('b').bootstrap };
const admins = { a: new Client({ brokers: bootstraps.a, clientId: 'mka-bench-admin' }), b: new Client({ brokers: bootstraps.b, clientId: 'mka-bench-admin' }) };
const base = baseSpec(bootstraps.b, messages, Number(opt['e2e-seconds']));
const multi = clients.includes('mka-multi');
let seq = 0;
const stamp = Date.now().toString(36);
const fresh = (p: string) => `bench-${p}-${stamp}-${++seq}`;
const where = (c: BenchCase) => ({ cluster: c.cluster ?? 'b', partitions: c.partitions ?? 1, rf: c.replicationFactor ?? 1 });

/** Creates the topic on the case's cluster (and, for mka-multi, on the other cluster too, 1 replica) and waits for its leaders. */
async function newTopic(name: string, c: BenchCase): Promise<void> {
  const w = where(c);
  const on = async (cl: ClusterName, rf: number) => {
    await admins[cl].createTopics([{ topic: name, numPartitions: w.partitions, replicationFactor: rf }]);
    if (w.partitions > 1) await admins[cl].waitForLeaders([name], { timeoutMs: 180_000, minPartitions: w.partitions });
  };
  await on(w.cluster, w.rf);
  if (multi) await on(other(w.cluster), 1);
}

async function deleteTopic(name: string, c: BenchCase): Promise<void> {
  const w = where(c);
  await admins[w.cluster].deleteTopics([name]).catch(() => {});
  if (multi) await admins[other(w.cluster)].deleteTopics([name]).catch(() => {});
}

function runChild(client: string, c: BenchCase, spec: BenchSpec): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CHILD, client, c.scenario, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 15 * 60_000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)) as ChildReport);
      else {
        // The error's own line (an inspected error object ends with its fields, not its message).
        const lines = (err || out).trim().split('\n');
        const head = lines.find((l) => /^\w*(Error|Errors)\b.*:/.test(l.trim()));
        reject(new Error(`exit ${code ?? signal}: ${head ? `${head.trim()} | ` : ''}${lines.slice(-4).join(' | ')}`));
      }
    });
  });
}

// Shared topics, one per shape (cluster, partitions, replication, fill), made before the first case that
// reads it and deleted after the last: a 1,000-partition topic is created once per bench run, as cluster
// B's broker (512 MiB heap) died of OutOfMemoryError after several were created and deleted in a row.
const fillOf = (c: BenchCase) => c.fill ?? messages;
const shapeOf = (c: BenchCase) => { const w = where(c); return `${w.cluster}/${w.partitions}/${w.rf}/${fillOf(c)}`; };
const shared = new Map<string, string>();
const lastUse = new Map<string, BenchCase>();
for (const c of cases) if (c.sharedTopic) lastUse.set(shapeOf(c), c);

async function sharedTopic(c: BenchCase): Promise<string> {
  const shape = shapeOf(c);
  const known = shared.get(shape);
  if (known) return known;
  const w = where(c);
  const topic = fresh(`shared-${w.partitions}p`);
  const t0 = Date.now();
  await newTopic(topic, c);
  const fill = fillOf(c);
  // Leaders in Metadata are not enough: a 1-broker cluster still creating 1,000 partitions answered the
  // fill's first writes with NOT_LEADER_OR_FOLLOWER for over 5 s (the Writer's 10 attempts). ListOffsets
  // goes to each partition's leader and is retried until every one answers.
  if (w.partitions > 1) await admins[w.cluster].listOffsets(topic, 'latest', { timeoutMs: 180_000 });
  if (fill > 0) {
    // Filled by mka's Writer, round robin, so every partition gets the same share.
    const spec: BenchSpec = { ...base, bootstrap: bootstraps[w.cluster], partitions: w.partitions, topic, groupId: 'unused', messages: fill, balance: 'round-robin' };
    try {
      const r = await runChild('mka', CASES[0], spec);
      if (r.result.kind !== 'throughput') throw new Error(`could not fill ${topic}`);
    } catch (e) {
      // Not left behind: the next client's run makes a new one (a loaded 1-broker cluster B once took
      // over 30 s to acknowledge the first writes to 1,000 new partitions).
      await deleteTopic(topic, c);
      throw e;
    }
  }
  let end = 0n;
  for (const o of (await admins[w.cluster].listOffsets(topic, 'latest')).values()) end += BigInt(o.offset);
  log(`made ${topic} on cluster ${w.cluster.toUpperCase()}: ${w.partitions} partitions, RF ${w.rf}, ${end} messages of ${base.valueBytes} B (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  shared.set(shape, topic);
  return topic;
}

const records: RunRecord[] = [];
const t0 = Date.now();
for (const c of cases) {
  for (let round = 1; round <= rounds; round++) {
    for (const client of clients) {
      const w = where(c);
      let topic: string;
      try {
        topic = c.sharedTopic ? await sharedTopic(c) : fresh(c.id);
      } catch (e) {
        // A shared topic that cannot be made or filled fails this case's runs, not the whole bench.
        const error = `shared topic: ${e instanceof Error ? e.message : String(e)}`;
        records.push({ caseId: c.id, round, client, error, load: loadavg()[0] });
        log(`${c.id} round ${round} ${client}: FAILED ${error.slice(0, 300)}`);
        continue;
      }
      const spec: BenchSpec = {
        ...base,
        bootstrap: bootstraps[w.cluster],
        partitions: w.partitions,
        ...(multi ? { secondBootstrap: bootstraps[other(w.cluster)] } : {}),
        ...(c.sharedTopic ? { messages: fillOf(c) } : {}),
        ...c.spec,
        topic,
        groupId: fresh('group'),
      };
      // The warm-up message each producer sends first lands in the same topic: consumers count up to `messages`.
      if (!c.sharedTopic && c.scenario !== 'codec') await newTopic(topic, c);
      const rec: RunRecord = { caseId: c.id, round, client, load: loadavg()[0] };
      try {
        rec.report = client === 'java' ? await runJava(c.scenario, spec) : await runChild(client, c, spec);
      } catch (e) {
        rec.error = e instanceof Error ? e.message : String(e);
      }
      records.push(rec);
      const r = rec.report?.result;
      const what =
        rec.error ? `FAILED ${rec.error.slice(0, 300)}`
        : r?.kind === 'throughput' ?
          `${Math.round((r.value.messages * 1000) / r.value.elapsedMs).toLocaleString('en-US')} msg/s` +
          (r.value.idle ? `, idle CPU ${r.value.idle.cpuMsPerSec.toFixed(1)} ms/s, RSS ${Math.round(r.value.idle.rssBytes / 2 ** 20)} MB, heap ${Math.round(r.value.idle.heapUsedBytes / 2 ** 20)} MB` : '')
        : r?.kind === 'latency' ? `p50 ${r.value.p50.toFixed(2)} p99 ${r.value.p99.toFixed(2)} p99.9 ${r.value.p999.toFixed(2)} ms (${r.value.count})`
        : r?.kind === 'codec' ? `encode ${Math.round(r.value.encode).toLocaleString('en-US')} decode ${Math.round(r.value.decode).toLocaleString('en-US')} rec/s`
        : r?.kind === 'metadata' ? `${r.value.callMs.toFixed(2)} ms per call${r.value.decodeMs !== undefined ? `, decode ${r.value.decodeMs.toFixed(3)} ms` : ''}`
        : `n/a (${r?.kind === 'unsupported' ? r.reason : ''})`;
      log(`${c.id} round ${round} ${client}: ${what}${rec.report?.maxRssBytes ? `, peak RSS ${Math.round(rec.report.maxRssBytes / 2 ** 20)} MB` : ''} (load ${rec.load!.toFixed(2)})`);
      if (!c.sharedTopic && c.scenario !== 'codec') await deleteTopic(topic, c);
    }
  }
  if (c.sharedTopic && lastUse.get(shapeOf(c)) === c) {
    await deleteTopic(shared.get(shapeOf(c))!, c);
    shared.delete(shapeOf(c));
  }
}
await Promise.all([admins.a.close(), admins.b.close()]);

// The broker version the clusters run (scripts/kafka.mjs writes it beside the bootstrap addresses).
const kafkaVersion = (() => {
  try {
    const state = process.env.MKA_KAFKA_STATE ?? '.kafka';
    return (JSON.parse(readFileSync(`${state}/clusters.json`, 'utf8')) as { kafkaVersion?: string }).kafkaVersion ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
// java -version prints on stderr.
const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr ?? '';
const machine = {
  cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  java: java.trim().split('\n')[0] ?? '',
  broker:
    `Apache Kafka ${kafkaVersion} on the same machine, -Xmx512m per broker: cluster B of scripts/kafka.mjs (one KRaft broker) unless the case names ` +
    `cluster A (3 KRaft brokers); topics with 1 partition, RF 1, unless the case says otherwise`,
};
const settings = { rounds, ...base, bootstrap: undefined, topic: undefined, groupId: undefined };
const summaries = summarise(records, cases, clients);
const versions = Object.fromEntries(clients.map((cl) => [cl, summaries.find((s) => s.client === cl && s.version)?.version ?? 'not run']));
const md = [
  `Measured ${new Date().toISOString().slice(0, 10)} in ${((Date.now() - t0) / 60_000).toFixed(0)} min: ${machine.cpu}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, ${machine.java}.`,
  `${machine.broker}. Clients: ${clients.map((cl) => `${cl} ${versions[cl]}`).join(', ')}.`,
  `Settings for every client: acks=all, idempotence off, linger ${base.lingerMs} ms (0 for latency), batch ${base.batchBytes / 1024} KiB, ` +
    `${base.maxInFlight} requests in flight, ${base.chunk} messages per send call with ${base.window} calls outstanding, null keys; ` +
    `fetch min ${base.fetchMinBytes} B, max wait ${base.fetchMaxWaitMs} ms, ${base.partitionMaxBytes / 1024} KiB per partition. ` +
    `${messages.toLocaleString('en-US')} messages per throughput run, ${rounds} rounds, medians; spread is the fastest and slowest round against the median. ` +
    `Peak RSS is the median of each client process's high-water mark. Load is the 1-minute load average when each run began (median over the rounds).`,
  '',
  markdown(summaries, cases),
].join('\n');
mkdirSync(opt.out, { recursive: true });
writeFileSync(`${opt.out}/${opt.name}.json`, JSON.stringify({ machine, settings, versions, summaries, records }, null, 2) + '\n');
writeFileSync(`${opt.out}/${opt.name}.md`, md + '\n');
console.log(md);
