// One group member of the rebalance storm (test/integration/reader-storm.test.ts) in its own process.
// argv[2] is the ReaderConfig as JSON. Prints one JSON line per message processed ({"m":"p:o"}) and,
// every second, its counters and state ({"rebalances":n,"rss":bytes,"describe":{…}}). SIGTERM closes the reader (LeaveGroup) and
// exits; SIGKILL from the parent is the crash.
import { Reader, type ReaderConfig } from '../../src/index.ts';
import { ClosedError, TimeoutError } from '../../src/protocol/errors.ts';

const cfg = JSON.parse(process.argv[2]) as ReaderConfig;
const r = new Reader(cfg);
let rebalances = 0;
let lastError: string | null = null;
const out = (o: object) => process.stdout.write(`${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}\n`);
const report = setInterval(() => {
  rebalances += r.stats().rebalances;
  // What the parent prints about this member when the storm test fails.
  out({ rebalances, rss: process.memoryUsage().rss, describe: { assignment: r.assignment().map((tp) => tp.partition), health: r.health(), lastError } });
}, 1_000);
process.on('SIGTERM', () => {
  clearInterval(report);
  void r.close().finally(() => process.exit(0));
});
for (;;) {
  try {
    const m = await r.readMessage({ timeoutMs: 1_000 });
    out({ m: `${m.partition}:${m.offset}` });
  } catch (e) {
    if (e instanceof TimeoutError) continue;
    if (e instanceof ClosedError) break;
    // Commits refused by a rebalance are part of the storm: the message comes again to its new owner.
    lastError = `${(e as Error).name}: ${(e as Error).message}`;
  }
}
