// The cost of idle partitions to a fetching Reader, with and without fetch sessions (KIP-227): a group
// Reader over N empty partitions of cluster B (one broker) long-polls with maxWaitMs 10, through a
// loopback proxy that counts Fetch bytes both ways. Reported per fetch: request and response bytes,
// and the Reader process's CPU time; divided by N, the cost of one idle partition.
// Run: node --import tsx bench/idle-fetch.ts [partitions, default 1000] [seconds per run, default 5]
import { Client } from '../src/client/client.ts';
import { Reader } from '../src/client/reader/index.ts';
import { Api } from '../src/protocol/messages/index.ts';
import { cluster, uniqueTopic } from '../test/helpers/kafka.ts';
import { startSlowProxy } from '../test/helpers/slow-proxy.ts';

const partitions = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 5);
const brokers = cluster('b').bootstrap;
const admin = new Client({ brokers, clientId: 'mka-bench-admin' });
const topic = uniqueTopic('idle');
await admin.createTopics([{ topic, numPartitions: partitions }]);
await admin.waitForLeaders([topic], { timeoutMs: 120_000, minPartitions: partitions });

async function run(fetchSessions: boolean) {
  const bytes = { req: 0, res: 0, fetches: 0 };
  let counting = false;
  const proxy = await startSlowProxy(brokers[0]!, 0, (f) => {
    if (!counting || f.apiKey !== Api.Fetch.apiKey) return;
    if (f.direction === 'request') bytes.req += f.bytes;
    else {
      bytes.res += f.bytes;
      bytes.fetches++;
    }
  });
  const reader = new Reader({ brokers: [proxy.address], topic, groupId: uniqueTopic('idle-g'), maxWaitMs: 10, fetchSessions });
  const pending = reader.readMessage().catch(() => null); // rejects with ClosedError at close
  const t0 = Date.now();
  while (reader.assignment().length < partitions) {
    if (Date.now() - t0 > 120_000) throw new Error('no assignment');
    await new Promise((r) => setTimeout(r, 100));
  }
  const assigned = Date.now();
  while (reader.stats().fetches < 3) {
    if (Date.now() - t0 > 300_000) throw new Error('no fetches');
    await new Promise((r) => setTimeout(r, 50));
  }
  if (process.env.DEBUG) console.error(`assigned after ${assigned - t0} ms, fetching after ${Date.now() - assigned} ms more`);
  await new Promise((r) => setTimeout(r, 500)); // the first (full) fetches are not counted
  counting = true;
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  counting = false;
  await reader.close();
  await pending;
  await proxy.close();
  // The proxy shares the process: its CPU is in the figure too (it relays the same bytes either way).
  const cpuUs = (cpu.user + cpu.system) / bytes.fetches;
  console.log(
    `${fetchSessions ? 'sessions   ' : 'sessionless'}  ${String(bytes.fetches).padStart(7)}  ${(bytes.req / bytes.fetches).toFixed(0).padStart(9)}  ${(bytes.res / bytes.fetches).toFixed(0).padStart(10)}  ${cpuUs.toFixed(0).padStart(8)}  ${((cpuUs * 1000) / partitions).toFixed(1).padStart(12)}`,
  );
}

console.log(`${partitions} idle partitions, one broker, maxWaitMs 10, ${seconds} s per run`);
console.log('mode         fetches  req B/fetch  res B/fetch  CPU µs/fetch  CPU ns/partition/fetch');
try {
  await run(false);
  await run(true);
} finally {
  await admin.deleteTopics([topic]).catch(() => {});
  await admin.close();
}
