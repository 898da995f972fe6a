// mka in one minute: two Kafka clusters, a MultiWriter in Backup mode writing steadily while the primary
// freezes and thaws, a MultiReader reading both clusters with per-cluster lag, and the same merged read
// from the `mka` command line.
//   npm run demo              two fake clusters (mka/testing): only Node needed
//   npm run demo -- --real    the local Kafka brokers (scripts/kafka.mjs)
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { main as mkaCommand } from '../src/cli/main.ts';
import { Client, FirstOffset, MultiReader, MultiWriter, RWMode, TimeoutError, type WriterConfig } from '../src/index.ts';
import { FakeCluster } from '../src/testing/index.ts';

// The two clusters: by default mka/testing fakes inside this process (nothing but Node needed); with
// --real the local brokers of scripts/kafka.mjs, frozen with SIGSTOP. The fake's freeze is the same
// to a client: sockets stay open and nothing answers.
interface Clusters {
  A: string[];
  B: string[];
  freezeA(): Promise<void>;
  thawA(): Promise<void>;
  close(): Promise<void>;
}
async function realClusters(): Promise<Clusters> {
  const { clusters } = JSON.parse(readFileSync(new URL('../.kafka/clusters.json', import.meta.url), 'utf8'));
  const harness = (...args: string[]) => promisify(execFile)(process.execPath, ['scripts/kafka.mjs', ...args]).then(() => {});
  // Whatever happens, no cluster is left frozen.
  process.on('exit', () => execFileSync(process.execPath, ['scripts/kafka.mjs', 'thaw-all'], { stdio: 'ignore' }));
  return { A: clusters.a.bootstrap, B: clusters.b.bootstrap, freezeA: () => harness('freeze-cluster', 'a'), thawA: () => harness('thaw-cluster', 'a'), close: async () => {} };
}
async function fakeClusters(): Promise<Clusters> {
  const [a, b] = await Promise.all([FakeCluster.start({ brokers: 3 }), FakeCluster.start({ brokers: 1 })]);
  return {
    A: a.bootstrap,
    B: b.bootstrap,
    freezeA: async () => a.freeze(),
    thawA: async () => a.thaw(),
    close: async () => {
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}
const real = process.argv.includes('--real');
const clusters = real ? await realClusters() : await fakeClusters();
const { A, B } = clusters;
const topic = `demo-${Date.now().toString(36)}`;
const say = (s: string) => console.log(`${new Date().toISOString().slice(11, 23)}  ${s}`);

for (const [name, brokers, rf] of [['A', A, 3], ['B', B, 1]] as const) {
  const c = new Client({ brokers });
  await c.createTopics([{ topic, numPartitions: 3, replicationFactor: rf }]);
  await c.close();
  say(`cluster ${name}: created topic ${topic} (3 partitions, replication ${rf})`);
}

// Writer defaults: failure detection and handover need no tuning.
const writerConfig = (brokers: string[]): WriterConfig => ({ brokers, topic });
const writer = new MultiWriter(RWMode.Backup, [writerConfig(A), writerConfig(B)], {
  messageIdHeader: 'mka-id', // lets the reader drop the copies a failover may write
});
writer.onHealthChange((h) => say(`health: cluster ${'AB'[h.cluster]} is ${h.state}${h.lastError && h.state === 'unhealthy' ? ` (${h.lastError.message.slice(0, 60)})` : ''}`));

let written = 0;
const perCluster = [0, 0];
let slowest = 0;
let writing = true;
// Writes go on in the background, 10 messages every 20 ms, whatever happens to the clusters.
const stream = (async () => {
  while (writing) {
    const t = performance.now();
    const res = await writer.writeMessages(...Array.from({ length: 10 }, (_, i) => ({ key: `user-${(written + i) % 50}`, value: `event ${written + i}` })));
    slowest = Math.max(slowest, performance.now() - t);
    for (const r of res) perCluster[r.cluster]++;
    written += res.length;
    await new Promise((r) => setTimeout(r, 20));
  }
})();
let mark = [0, 0];
function report(label: string) {
  say(`${label}: +${perCluster[0] - mark[0]} to A, +${perCluster[1] - mark[1]} to B (slowest write ${slowest.toFixed(0)} ms)`);
  mark = [...perCluster];
  slowest = 0;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await sleep(1000);
report('both clusters up');
// Frozen (SIGSTOP): sockets stay open and nothing answers, as in a partition or a long GC pause.
say(`freezing every broker of cluster A (${real ? 'SIGSTOP' : 'the fake stops answering'}) …`);
await clusters.freezeA();
await sleep(2500);
report('while A is frozen');
say('thawing cluster A …');
await clusters.thawA();
while (perCluster[0] === mark[0]) await sleep(100);
await sleep(500);
report('A back');
writing = false;
await stream;
await writer.close();
say(`written: ${written} messages, ${perCluster[0]} in A and ${perCluster[1]} in B, none lost`);

// The same merged read with the `mka` command line, as a consumer group on both clusters at once,
// running beside the MultiReader below. The command's own entry point runs in this process (what
// `mka consume …` runs, minus a second Node start-up), its output collected.
let cliOut = '';
const cli = mkaCommand(
  ['consume', '-b', A.join(','), '-b', B.join(','), '-t', topic, '--group', 'demo-cli', '-e', '-q', '-f', '%c %p %o %s\n'],
  {
    env: {},
    stdin: async function* () {},
    out: { closed: false, write: async (chunk) => void (cliOut += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)) },
    err: { isTTY: false, write: (s) => process.stderr.write(s) },
  },
  AbortSignal.timeout(60_000),
);
// One partition reader per cluster and partition: a merged read of everything, duplicates dropped.
const reader = new MultiReader(
  [0, 1, 2].flatMap((p) => [A, B].map((brokers) => ({ brokers, topic, partition: p, startOffset: FirstOffset, maxWaitMs: 100 }))),
  { dedupeHeader: 'mka-id' },
);
let read = 0;
while (read < written) {
  try {
    read += (await reader.readMessage({ timeoutMs: 2000 })).length;
  } catch (e) {
    if (e instanceof TimeoutError) break; // nothing more within 2 s: the count below says what is missing
    throw e;
  }
}
const lags = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => reader.readLag(i)));
say(`read back: ${read} distinct messages from both clusters; lag per cluster/partition: ${lags.map((l, i) => `${'AB'[i % 2]}/${Math.floor(i / 2)}=${l}`).join(' ')}`);
await reader.close();

const code = await cli;
if (code !== 0) throw new Error(`mka consume exited with ${code}`);
const lines = cliOut.trim().split('\n');
const counts = new Map<string, number>();
for (const l of lines) counts.set(l.split(' ')[0], (counts.get(l.split(' ')[0]) ?? 0) + 1);
const byCluster = [...counts].map(([c, n]) => `${n} from ${c}`);
say(`mka consume -b A -b B --group demo-cli -e -f '%c %p %o %s\\n': ${byCluster.join(', ')}; e.g. "${lines[0]}"`);
await clusters.close();
