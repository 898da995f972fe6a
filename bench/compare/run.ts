// Side-by-side benchmark: mka against kafkajs, @platformatic/kafka, @confluentinc/kafka-javascript and
// the Java perf tools, on the same broker with the same settings. Every (case, round, client) runs in a
// fresh process; clients alternate within each round (A B C A B C …) so drift hits all alike.
//   npm run bench -- [--rounds 3] [--messages 1000000] [--e2e-seconds 20] [--clients mka,kafkajs,...] [--cases produce-100,...]
// Writes bench/results/compare.json and bench/results/compare.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from '../../src/client/client.ts';
import { cluster } from '../../test/helpers/kafka.ts';
import { baseSpec, CASES, type BenchCase } from './cases.ts';
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
    cases: { type: 'string', default: CASES.map((c) => c.id).join(',') },
    out: { type: 'string', default: 'bench/results' },
  },
});
const rounds = Number(opt.rounds);
const messages = Number(opt.messages);
const clients = opt.clients.split(',');
const cases = CASES.filter((c) => opt.cases.split(',').includes(c.id));
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

const bootstrap = cluster('b').bootstrap;
const admin = new Client({ brokers: bootstrap, clientId: 'mka-bench-admin' });
const base = baseSpec(bootstrap, messages, Number(opt['e2e-seconds']));
let seq = 0;
const stamp = Date.now().toString(36);
const fresh = (p: string) => `bench-${p}-${stamp}-${++seq}`;

async function newTopic(name: string): Promise<void> {
  await admin.createTopics([{ topic: name, numPartitions: 1, replicationFactor: 1 }]);
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
      else reject(new Error(`exit ${code ?? signal}: ${(err || out).trim().split('\n').slice(-6).join(' | ')}`));
    });
  });
}

// The consume cases all read one topic filled once by mka's Writer.
let consumeTopic: string | undefined;
if (cases.some((c) => c.sharedTopic)) {
  consumeTopic = fresh('consume');
  await newTopic(consumeTopic);
  const fill = await runChild('mka', CASES[0], { ...base, topic: consumeTopic, groupId: 'unused' });
  if (fill.result.kind !== 'throughput') throw new Error('could not fill the consume topic');
  const end = (await admin.listOffsets(consumeTopic, 'latest')).get(0)!.offset;
  log(`filled ${consumeTopic} with ${end} messages of ${base.valueBytes} B`);
}

const records: RunRecord[] = [];
const t0 = Date.now();
for (const c of cases) {
  for (let round = 1; round <= rounds; round++) {
    for (const client of clients) {
      const topic = c.sharedTopic ? consumeTopic! : fresh(c.id);
      const spec: BenchSpec = { ...base, ...c.spec, topic, groupId: fresh('group') };
      // The warm-up message each producer sends first lands in the same topic: consumers count up to `messages`.
      if (!c.sharedTopic && c.scenario !== 'codec') await newTopic(topic);
      const rec: RunRecord = { caseId: c.id, round, client };
      try {
        rec.report = client === 'java' ? await runJava(c.scenario, spec) : await runChild(client, c, spec);
      } catch (e) {
        rec.error = e instanceof Error ? e.message : String(e);
      }
      records.push(rec);
      const r = rec.report?.result;
      const what =
        rec.error ? `FAILED ${rec.error.slice(0, 300)}`
        : r?.kind === 'throughput' ? `${Math.round((r.value.messages * 1000) / r.value.elapsedMs).toLocaleString('en-US')} msg/s`
        : r?.kind === 'latency' ? `p50 ${r.value.p50.toFixed(2)} p99 ${r.value.p99.toFixed(2)} p99.9 ${r.value.p999.toFixed(2)} ms (${r.value.count})`
        : r?.kind === 'codec' ? `encode ${Math.round(r.value.encode).toLocaleString('en-US')} decode ${Math.round(r.value.decode).toLocaleString('en-US')} rec/s`
        : `n/a (${r?.kind === 'unsupported' ? r.reason : ''})`;
      log(`${c.id} round ${round} ${client}: ${what}${rec.report?.maxRssBytes ? `, RSS ${Math.round(rec.report.maxRssBytes / 2 ** 20)} MB` : ''}`);
      if (!c.sharedTopic && c.scenario !== 'codec') await admin.deleteTopics([topic]).catch(() => {});
    }
  }
}
if (consumeTopic) await admin.deleteTopics([consumeTopic]).catch(() => {});
await admin.close();

// java -version prints on stderr.
const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr ?? '';
const machine = {
  cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
  java: java.trim().split('\n')[0] ?? '',
  broker: 'Apache Kafka 4.3.1, one KRaft broker (cluster B of scripts/kafka.mjs) on the same machine, -Xmx512m, topics with 1 partition, RF 1',
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
    `Peak RSS is the median of each client process's high-water mark.`,
  '',
  markdown(summaries, cases),
].join('\n');
mkdirSync(opt.out, { recursive: true });
writeFileSync(`${opt.out}/compare.json`, JSON.stringify({ machine, settings, versions, summaries, records }, null, 2) + '\n');
writeFileSync(`${opt.out}/compare.md`, md + '\n');
console.log(md);
