// Transactions across clients: Kafka's Java read_committed consumer sees exactly mka's committed
// transactions (aborted ones never), and mka's read_committed Reader sees exactly what the Java
// transactional producer (TransactionalMessageCopier, with random aborts) committed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { Writer } from '../../src/client/writer/index.ts';
import { javaConsume, javaCopyTransactionally } from '../helpers/java-tools.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { readUntilIdle } from '../helpers/read-until-idle.ts';

const A = () => cluster('a');

/** Values of partition 0 from the start, read until 2 s bring nothing more. */
const readAll = (topic: string, isolationLevel: 'read_committed' | 'read_uncommitted') =>
  readUntilIdle({ brokers: A().bootstrap, topic, partition: 0, isolationLevel, idleMs: 2_000 });

describe('transactions: Java interop (cluster A)', () => {
  let client: Client;
  before(() => {
    client = new Client({ brokers: A().bootstrap });
  });
  after(async () => {
    await client.close();
  });

  it("Java's read_committed consumer sees exactly mka's committed transactions, in order", { timeout: 120_000 }, async () => {
    const topic = uniqueTopic('txn-to-java');
    await client.createTopics([{ topic, numPartitions: 1, replicationFactor: 3 }]);
    const w = new Writer({ brokers: A().bootstrap, topic, transactionalId: uniqueTopic('tid-to-java') });
    const committed: string[] = [];
    try {
      for (let t = 0; t < 6; t++) {
        const values = Array.from({ length: 10 }, (_, i) => `${t % 2 ? 'aborted' : 'committed'}-${t}-${i}`);
        await w.beginTransaction();
        await w.writeMessages(...values.map((value) => ({ key: `k${t}`, value })));
        if (t % 2) await w.abortTransaction();
        else {
          await w.commitTransaction();
          committed.push(...values);
        }
      }
    } finally {
      await w.close();
    }
    const got = await javaConsume(A().bootstrap[0], topic, committed.length, { 'isolation.level': 'read_committed' });
    assert.deepEqual(got.map((r) => r.value), committed);
  });

  it("mka's read_committed Reader sees exactly what Java's transactional producer committed", { timeout: 180_000 }, async () => {
    const input = uniqueTopic('java-txn-in');
    const output = uniqueTopic('java-txn-out');
    await client.createTopics([
      { topic: input, numPartitions: 1, replicationFactor: 3 },
      { topic: output, numPartitions: 1, replicationFactor: 3 },
    ]);
    const n = 1_000;
    const want = Array.from({ length: n }, (_, i) => `m-${i}`);
    const w = new Writer({ brokers: A().bootstrap, topic: input });
    await w.writeMessages(...want.map((value) => ({ key: null, value })));
    await w.close();
    await javaCopyTransactionally(A().bootstrap[0], input, output, { transactionalId: uniqueTopic('java-tid'), group: uniqueTopic('java-group'), size: 50 });
    assert.deepEqual(await readAll(output, 'read_committed'), want);
    const all = await readAll(output, 'read_uncommitted');
    process.stderr.write(`[txn-interop] Java copied ${n} messages; read_uncommitted sees ${all.length} (aborted copies included)\n`);
    assert.ok(all.length >= n);
  });
});
