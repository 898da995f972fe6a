// The transactional Writer against cluster A: committed transactions are visible to read_committed,
// aborted ones never; writes outside a transaction are refused; a second Writer with the same
// transactional id fences the first, and nothing the first writes afterwards is ever visible;
// consume-transform-produce with sendOffsets reads every input exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { ProducerFencedError, TransactionAbortableError, TransactionStateError, KafkaError } from '../../src/protocol/errors.ts';
import { Writer, WriteErrors } from '../../src/client/writer/index.ts';
import { FirstOffset, Reader } from '../../src/client/reader/index.ts';
import { cluster, FAKE, kafkaVersion, uniqueTopic } from '../helpers/kafka.ts';
import { readUntilIdle } from '../helpers/read-until-idle.ts';

const brokers = () => cluster('a').bootstrap;
const text = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('utf8') : '');

// Transaction version 2 where the cluster has it (Kafka 4.4.0; the fakes have version 1 only), and version 1 everywhere.
for (const maxTransactionVersion of [2, 1] as const)
describe(`transactional Writer, transaction version ≤ ${maxTransactionVersion} (cluster A)`, () => {
  let client: Client;
  const closers: { close(): Promise<void> }[] = [];
  const writer = (cfg: Partial<ConstructorParameters<typeof Writer>[0]>) => {
    const w = new Writer({ brokers: brokers(), clientId: 'mka-txn-test', writeTimeoutMs: 20_000, maxTransactionVersion, ...cfg });
    closers.push(w);
    return w;
  };
  /** Every value of `topic` a read_committed reader sees, partitions in turn: read until 1.5 s bring nothing more. */
  const readCommitted = (topic: string, partitions: number) =>
    readUntilIdle({ brokers: brokers(), topic, partitions, isolationLevel: 'read_committed', idleMs: 1_500 });

  before(async () => {
    client = new Client({ brokers: brokers(), clientId: 'mka-txn-test-admin' });
  });
  after(async () => {
    for (const c of closers) await c.close().catch(() => {});
    await client.close();
  });

  it('commits are visible to read_committed, aborts never; writes outside a transaction are refused', async () => {
    const topic = uniqueTopic('txn');
    await client.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]);
    const w = writer({ topic, transactionalId: uniqueTopic('tid') });
    await assert.rejects(w.writeMessages({ value: 'outside' }), TransactionStateError);
    await assert.rejects(w.commitTransaction(), TransactionStateError);

    await w.beginTransaction();
    await w.writeMessages(...Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `c1-${i}` })));
    await w.commitTransaction();

    await w.beginTransaction();
    await w.writeMessages(...Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `a-${i}` })));
    await w.abortTransaction();

    const got = await w.transaction(async (tx) => {
      await tx.writeMessages(...Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `c2-${i}` })));
      return 'done';
    });
    assert.equal(got, 'done');
    await assert.rejects(
      w.transaction(async (tx) => {
        await tx.writeMessages({ key: 'k0', value: 'thrown' });
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(w.transactionState, 'ready');

    const seen = await readCommitted(topic, 3);
    assert.equal(seen.length, 60);
    assert.deepEqual(seen.filter((v) => v.startsWith('c1-')).length, 30);
    assert.deepEqual(seen.filter((v) => v.startsWith('c2-')).length, 30);
    assert.ok(!seen.some((v) => v.startsWith('a-') || v === 'thrown'));
  });

  it('abort while writes are pending: every pending write fails, none is visible, none leaks into the next transaction', async () => {
    const topic = uniqueTopic('txn-abort-pending');
    await client.createTopics([{ topic, numPartitions: 2, replicationFactor: 3 }]);
    // A small buffer: later calls wait for space when the abort comes.
    const w = writer({ topic, transactionalId: uniqueTopic('tid-abort'), maxBufferedBytes: 64 * 1024, batchTimeoutMs: 50 });
    await w.beginTransaction();
    const big = 'x'.repeat(2_000);
    const pending = Array.from({ length: 100 }, (_, i) => w.writeMessages({ key: `k${i}`, value: `pending-${i}-${big}` }).then(() => 'ok', (e: unknown) => e));
    await new Promise((r) => setTimeout(r, 5));
    await w.abortTransaction();
    const outcomes = await Promise.all(pending);
    assert.equal(w.transactionState, 'ready');
    await w.transaction(async (tx) => {
      await tx.writeMessages({ key: 'after', value: 'after' });
    });
    const seen = await readCommitted(topic, 2);
    assert.deepEqual(seen, ['after'], `outcomes: ${outcomes.filter((o) => o === 'ok').length} acknowledged before the abort`);
  });

  it('abort in the same turn as the writes: nothing reached the coordinator, so nothing is ended there; the next transaction commits', async () => {
    const topic = uniqueTopic('txn-abort-at-once');
    await client.createTopics([{ topic, numPartitions: 2, replicationFactor: 3 }]);
    const w = writer({ topic, transactionalId: uniqueTopic('tid-abort-at-once'), batchTimeoutMs: 50 });
    for (let round = 0; round < 3; round++) {
      await w.beginTransaction();
      const pending = Array.from({ length: 10 }, (_, i) => w.writeMessages({ key: `k${i}`, value: `aborted-${round}-${i}` }).then(() => 'ok', (e: unknown) => e));
      // No AddPartitionsToTxn has gone out yet: an EndTxn now would be refused (INVALID_TXN_STATE).
      await w.abortTransaction();
      for (const o of await Promise.all(pending)) assert.ok(o instanceof WriteErrors, `a write of an aborted transaction: ${String(o)}`);
      assert.equal(w.transactionState, 'ready');
    }
    await w.transaction(async (tx) => {
      await tx.writeMessages({ key: 'after', value: 'after' });
    });
    assert.deepEqual(await readCommitted(topic, 2), ['after']);
  });

  it('a second Writer with the same transactional id fences the first: typed errors, nothing of the zombie visible', async () => {
    const topic = uniqueTopic('fence');
    await client.createTopics([{ topic, numPartitions: 2, replicationFactor: 3 }]);
    const tid = uniqueTopic('tid-fence');
    const w1 = writer({ topic, transactionalId: tid, maxAttempts: 3 });
    await w1.beginTransaction();
    await w1.writeMessages({ key: 'a', value: 'w1-before' }, { key: 'b', value: 'w1-before' });

    const w2 = writer({ topic, transactionalId: tid });
    await w2.beginTransaction(); // fences w1 and aborts its open transaction
    await w2.writeMessages({ key: 'a', value: 'w2' });

    // The zombie's next write fails; its commit fails; whatever it does, nothing it wrote is committed.
    const writeErr = await w1.writeMessages({ key: 'a', value: 'w1-after' }, { key: 'b', value: 'w1-after' }).then(() => null, (e: unknown) => e);
    assert.ok(writeErr instanceof KafkaError, `the zombie's write fails (${String(writeErr)})`);
    const commitErr = await w1.commitTransaction().then(() => null, (e: unknown) => e);
    assert.ok(commitErr instanceof ProducerFencedError || commitErr instanceof TransactionAbortableError, `commit: ${String(commitErr)}`);
    if (!(commitErr instanceof ProducerFencedError)) {
      await assert.rejects(w1.abortTransaction(), ProducerFencedError);
    }
    // From now on every transactional call says fenced.
    await assert.rejects(w1.beginTransaction(), ProducerFencedError);
    await assert.rejects(w1.writeMessages({ value: 'x' }), ProducerFencedError);
    assert.equal(w1.transactionState, 'fatal');

    await w2.commitTransaction();
    const seen = await readCommitted(topic, 2);
    assert.deepEqual(seen, ['w2']);
  });

  it('a transaction the coordinator timed out: the next write is refused; abort recovers (v2 on 4.4) or says fenced (v1; v2 on 4.0); the next transaction commits', { timeout: 90_000 }, async () => {
    const topic = uniqueTopic('txn-timeout');
    await client.createTopics([{ topic, numPartitions: 1, replicationFactor: 3 }]);
    const tid = uniqueTopic('tid-timeout');
    let w = writer({ topic, transactionalId: tid, transactionTimeoutMs: 1_000 });
    await w.beginTransaction();
    await w.writeMessages({ key: 'k', value: 'timed-out' });
    // The broker looks for timed-out transactions every 10 s (transaction.abort.timed.out.transaction.cleanup.interval.ms).
    const deadline = performance.now() + 40_000;
    let refused: unknown = null;
    while (!refused && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2_000));
      refused = await w.writeMessages({ key: 'k', value: 'after-timeout' }).then(() => null, (e: unknown) => e);
    }
    assert.ok(refused instanceof KafkaError, 'a write after the timeout is refused');
    assert.equal(w.transactionState, 'abortable');
    await assert.rejects(w.commitTransaction(), TransactionAbortableError);
    // The fakes have transaction version 1 only. Kafka 4.0's coordinator answers the abort of a
    // transaction it timed out under version 2 with PRODUCER_FENCED (seen with 4.0.0); 4.4.0 takes it
    // as a retry of its own abort (the producer's epoch is one below its own) and returns the new epoch.
    const fencedAfterTimeout = maxTransactionVersion === 1 || FAKE || /^4\.0\./.test(kafkaVersion() ?? '');
    if (fencedAfterTimeout) {
      // Version 1 cannot tell a timed-out epoch from a fenced one without risking a newer Writer's
      // transaction (see transaction.ts): the Writer ends, a new one takes the id over.
      await assert.rejects(w.abortTransaction(), ProducerFencedError);
      w = writer({ topic, transactionalId: tid });
    } else {
      await w.abortTransaction();
      assert.equal(w.transactionState, 'ready');
    }
    await w.transaction(async (tx) => {
      await tx.writeMessages({ key: 'k', value: 'next' });
    });
    const seen = await readCommitted(topic, 1);
    assert.deepEqual(seen, ['next']);
  });

  it('consume-transform-produce: sendOffsets commits input offsets with the output; each input seen once', async () => {
    const input = uniqueTopic('ctp-in');
    const output = uniqueTopic('ctp-out');
    await client.createTopics([
      { topic: input, numPartitions: 3, replicationFactor: 3 },
      { topic: output, numPartitions: 3, replicationFactor: 3 },
    ]);
    const n = 300;
    const plain = writer({ topic: input });
    await plain.writeMessages(...Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `in-${i}` })));
    const groupId = uniqueTopic('ctp-group');

    // Round 1 processes some input and commits; round 2 processes some and aborts; round 3 finishes.
    const run = async (limit: number, commit: boolean) => {
      const r = new Reader({ brokers: brokers(), groupId, groupTopics: [input], isolationLevel: 'read_committed', maxWaitMs: 200, startOffset: FirstOffset });
      const w = writer({ topic: output, transactionalId: `${groupId}-tid` });
      let done = 0;
      try {
        while (done < limit) {
          await w.beginTransaction();
          const batch = [];
          for (let i = 0; i < 50 && done < limit; i++, done++) batch.push(await r.fetchMessage({ timeoutMs: 20_000 }));
          await w.writeMessages(...batch.map((m) => ({ key: m.key, value: `out-${text(m.value).slice(3)}` })));
          const next = new Map<string, bigint>();
          for (const m of batch) next.set(`${m.partition}`, m.offset + 1n);
          await w.sendOffsets(r.groupMetadata(), [...next].map(([p, offset]) => ({ topic: input, partition: Number(p), offset })));
          if (commit) await w.commitTransaction();
          else await w.abortTransaction();
        }
      } finally {
        await r.close();
      }
      return done;
    };
    await run(100, true);
    await run(100, false);
    let left = n - 100;
    while (left > 0) left -= await run(left, true);

    const outs = await readCommitted(output, 3);
    assert.equal(outs.length, n, 'every input once in the committed output');
    assert.deepEqual([...new Set(outs)].sort(), Array.from({ length: n }, (_, i) => `out-${i}`).sort());
  });
});
