// A consume-transform-produce process for the transactional kill test (writer-txn-kill.test.ts): reads
// `in` as a group member, writes each message's key and value to `out` and the input offsets in one
// transaction per batch. Prints "ready" once its producer id fenced any predecessor, "commit <n>" after
// each commit, "idle" when a wait for input found none and its partitions have no lag. Killed with SIGKILL at any point.
//   env: BROKERS (comma-separated), IN, OUT, GROUP, TXN_ID, BATCH (default 500)
import { Reader, Writer, TimeoutError, type Message } from '../../src/index.ts';

const brokers = process.env.BROKERS!.split(',');
const batchMax = Number(process.env.BATCH ?? 500);
const writer = new Writer({ brokers, topic: process.env.OUT!, transactionalId: process.env.TXN_ID!, transactionTimeoutMs: 30_000 });
// First: fences the killed predecessor and aborts what it left open, so the committed input offsets
// the Reader asks for next are stable.
await writer.beginTransaction();
await writer.abortTransaction();
const reader = new Reader({
  brokers,
  groupId: process.env.GROUP!,
  groupTopics: [process.env.IN!],
  groupInstanceId: `${process.env.GROUP}-worker`, // a restart takes the killed member's place at once
  sessionTimeoutMs: 10_000,
  isolationLevel: 'read_committed',
  startOffset: -2n,
  maxWaitMs: 100,
});
process.stdout.write('ready\n');
const next = (timeoutMs: number): Promise<Message | null> =>
  reader.fetchMessage({ timeoutMs }).catch((e: unknown) => {
    if (e instanceof TimeoutError) return null;
    throw e;
  });
let total = 0;
for (;;) {
  const first = await next(3_000);
  if (!first) {
    // Idle only when caught up on an assignment: a slow group join is not the end of the input.
    const lags = [...(await reader.groupLag().catch(() => new Map<string, Map<number, { lag: bigint }>>())).values()].flatMap((m) => [...m.values()]);
    if (lags.length > 0 && lags.every((l) => l.lag === 0n)) process.stdout.write('idle\n');
    continue;
  }
  const batch = [first];
  while (batch.length < batchMax) {
    const m = await next(20);
    if (!m) break;
    batch.push(m);
  }
  await writer.transaction(async (tx) => {
    await tx.writeMessages(...batch.map((m) => ({ key: m.key, value: m.value })));
    const offsets = new Map<number, bigint>();
    for (const m of batch) offsets.set(m.partition, m.offset + 1n);
    await tx.sendOffsets(reader.groupMetadata(), [...offsets].map(([partition, offset]) => ({ topic: process.env.IN!, partition, offset })));
  });
  total += batch.length;
  process.stdout.write(`commit ${total}\n`);
}
