// The partition Reader (no group) against cluster B: positions, lag, seeking by offset and time,
// end of log, close and abort, the bounded queue and compressed batches.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { Api } from '../../src/protocol/messages/index.ts';
import { encodeRecordBatch } from '../../src/protocol/records/index.ts';
import { AbortedError, ClosedError, KafkaError, TimeoutError } from '../../src/protocol/errors.ts';
import { FirstOffset, LastOffset, Reader, type Message, type ReaderConfig } from '../../src/client/reader/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { produceRetrying as produceRaw } from '../helpers/reader-loop.ts';

const td = new TextDecoder();
const str = (b: Uint8Array | null) => (b === null ? null : td.decode(b));
const N = 100;

describe('Reader (partition)', () => {
  let client: Client;
  let topic: string;
  let empty: string;
  const t0 = Date.now() - 3_600_000; // record i has timestamp t0 + i s
  const readers: Reader[] = [];
  const open = (c: Partial<ReaderConfig> = {}) => {
    const r = new Reader({ brokers: cluster('b').bootstrap, topic, maxWaitMs: 200, ...c });
    readers.push(r);
    return r;
  };

  before(async () => {
    client = new Client({ brokers: cluster('b').bootstrap });
    topic = uniqueTopic('rp');
    empty = uniqueTopic('rp-empty');
    await client.createTopics([{ topic, numPartitions: 1 }, { topic: empty, numPartitions: 1 }]);
    // Ten batches of ten, so that seeks land inside batches.
    for (let b = 0; b < 10; b++) {
      await produceRaw(client, topic, 0, Array.from({ length: 10 }, (_, j) => {
        const i = b * 10 + j;
        return { key: i % 2 ? `k${i}` : null, value: `v${i}`, timestamp: t0 + i * 1000, headers: i % 10 === 3 ? [{ key: 'h', value: `x${i}` }] : [] };
      }));
    }
  });
  after(async () => {
    await Promise.all(readers.map((r) => r.close()));
    await client.deleteTopics([topic, empty]).catch(() => {});
    await client.close();
  });

  it('reads from FirstOffset with offset() and lag() after each message, then times out at the end', async () => {
    const r = open();
    assert.equal(r.offset(), FirstOffset);
    assert.equal(r.lag(), 0n);
    for (let i = 0; i < N; i++) {
      const m = await r.readMessage({ timeoutMs: 10_000 });
      assert.equal(m.topic, topic);
      assert.equal(m.partition, 0);
      assert.equal(m.offset, BigInt(i));
      assert.equal(str(m.value), `v${i}`);
      assert.equal(str(m.key), i % 2 ? `k${i}` : null);
      assert.equal(m.time.getTime(), t0 + i * 1000);
      assert.equal(m.highWaterMark, BigInt(N));
      assert.deepEqual(m.headers.map((h) => [h.key, str(h.value)]), i % 10 === 3 ? [['h', `x${i}`]] : []);
      assert.equal(r.offset(), BigInt(i + 1));
      assert.equal(r.lag(), BigInt(N - i - 1));
    }
    await assert.rejects(r.readMessage({ timeoutMs: 700 }), TimeoutError);
    assert.equal(await r.readLag(), 0n);
    const s = r.stats();
    assert.equal(s.messages, N);
    assert.ok(s.fetches >= 1);
    assert.ok(s.dials >= 1);
    assert.equal(s.offset, BigInt(N));
    assert.equal(s.topic, topic);
    assert.equal(s.partition, 0);
    assert.equal(r.stats().messages, 0); // snapshot and reset
  });

  it('readLag before reading, and after part of the partition', async () => {
    const r = open();
    assert.equal(await r.readLag(), 0n); // kafka-go: 0 while the offset is FirstOffset/LastOffset
    r.setOffset(30n);
    assert.equal(await r.readLag(), 70n);
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 30n);
    assert.equal(await r.readLag(), 69n);
    assert.equal(r.lag(), 69n);
  });

  it('starts at LastOffset: only what is written afterwards', async () => {
    const r = open({ startOffset: LastOffset });
    await assert.rejects(r.readMessage({ timeoutMs: 1_000 }), TimeoutError);
    const t = new Date();
    const other = uniqueTopic('rp-last');
    await client.createTopics([{ topic: other, numPartitions: 1 }]);
    try {
      const r2 = open({ topic: other, startOffset: LastOffset });
      await produceRaw(client, other, 0, [{ value: 'before' }]);
      await assert.rejects(r2.readMessage({ timeoutMs: 1_000 }), TimeoutError);
      await produceRaw(client, other, 0, [{ value: 'after', timestamp: t.getTime() }]);
      const m = await r2.readMessage({ timeoutMs: 10_000 });
      assert.equal(m.offset, 1n);
      assert.equal(str(m.value), 'after');
      assert.equal(r2.offset(), 2n);
    } finally {
      await client.deleteTopics([other]).catch(() => {});
    }
  });

  it('setOffset: exact offsets, inside a batch, while messages are queued, FirstOffset', async () => {
    const r = open();
    r.setOffset(45n);
    assert.equal(r.offset(), 45n);
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 45n);
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 46n);
    // The queue now holds messages fetched ahead; a seek drops them.
    r.setOffset(7n);
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 7n);
    r.setOffset(99n);
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 99n);
    r.setOffset(FirstOffset);
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 0n);
    assert.equal(r.offset(), 1n);
  });

  it('setOffsetAt: first message at or after a time; none after it → the end', async () => {
    const r = open();
    await r.setOffsetAt(new Date(t0 + 4_500));
    assert.equal(r.offset(), 5n);
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 5n);
    await r.setOffsetAt(new Date(t0 + 37_000));
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 37n);
    await r.setOffsetAt(new Date(t0 - 60_000));
    assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, 0n);
    await r.setOffsetAt(new Date(t0 + 1_000_000));
    assert.equal(r.offset(), BigInt(N));
    await assert.rejects(r.readMessage({ timeoutMs: 700 }), TimeoutError);
  });

  it('empty topic: reads time out, readLag is 0', async () => {
    const r = open({ topic: empty });
    await assert.rejects(r.readMessage({ timeoutMs: 700 }), TimeoutError);
    assert.equal(await r.readLag(), 0n);
    r.setOffset(0n);
    assert.equal(await r.readLag(), 0n);
    await assert.rejects(r.fetchMessage({ timeoutMs: 300 }), TimeoutError);
  });

  it('abort signal: before and during a read', async () => {
    const r = open({ topic: empty });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(r.readMessage({ signal: ac.signal }), AbortedError);
    const ac2 = new AbortController();
    const t = Date.now();
    setTimeout(() => ac2.abort(), 200);
    await assert.rejects(r.readMessage({ signal: ac2.signal }), AbortedError);
    assert.ok(Date.now() - t < 2_000);
  });

  it('close: a pending read rejects with ClosedError, later calls too; close is idempotent', async () => {
    const r = open({ topic: empty });
    const pending = r.readMessage();
    await new Promise((res) => setTimeout(res, 100));
    await r.close();
    await assert.rejects(pending, ClosedError);
    await assert.rejects(r.readMessage(), ClosedError);
    assert.throws(() => r.setOffset(0n), ClosedError);
    await assert.rejects(r.setOffsetAt(new Date()), ClosedError);
    await assert.rejects(r.readLag(), ClosedError);
    await r.close();
  });

  it('async iterator yields every message in order and ends on close', async () => {
    const r = open();
    const seen: bigint[] = [];
    for await (const m of r) {
      seen.push(m.offset);
      if (seen.length === N) break;
    }
    assert.deepEqual(seen, Array.from({ length: N }, (_, i) => BigInt(i)));
    const r2 = open({ topic: empty });
    setTimeout(() => void r2.close(), 200);
    let n = 0;
    for await (const _ of r2) n++;
    assert.equal(n, 0);
  });

  it('bounded queue: never more than queueCapacity messages fetched ahead', async () => {
    const r = open({ queueCapacity: 5 });
    let max = 0;
    const sample = setInterval(() => (max = Math.max(max, r.stats().queueLength)), 2);
    try {
      for (let i = 0; i < N; i++) {
        assert.equal((await r.readMessage({ timeoutMs: 10_000 })).offset, BigInt(i));
        if (i % 10 === 0) await new Promise((res) => setTimeout(res, 20));
        max = Math.max(max, r.stats().queueLength);
      }
    } finally {
      clearInterval(sample);
    }
    assert.ok(max <= 5, `queue held ${max}`);
    assert.ok(max >= 1);
  });

  it('bounded queue in bytes: a queue of 1 KiB holds a few 300-byte values at most', async () => {
    const t = uniqueTopic('rp-bytes');
    await client.createTopics([{ topic: t, numPartitions: 1 }]);
    try {
      await produceRaw(client, t, 0, Array.from({ length: 40 }, (_, i) => ({ value: String(i).padStart(300, '.') })));
      const r = open({ topic: t, queueBytes: 1024 });
      let max = 0;
      for (let i = 0; i < 40; i++) {
        const m = await r.readMessage({ timeoutMs: 10_000 });
        assert.equal(m.offset, BigInt(i));
        await new Promise((res) => setTimeout(res, 5));
        max = Math.max(max, r.stats().queueLength);
      }
      // Below 1024 bytes one more is admitted: 4 × 300 is the most it can hold.
      assert.ok(max <= 4, `queue held ${max}`);
    } finally {
      await client.deleteTopics([t]).catch(() => {});
    }
  });

  it('reads compressed batches (gzip, snappy, lz4, zstd)', async () => {
    const t = uniqueTopic('rp-codec');
    await client.createTopics([{ topic: t, numPartitions: 1 }]);
    try {
      const expected: string[] = [];
      for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
        const values = Array.from({ length: 20 }, (_, i) => `${codec}-${i}-${'x'.repeat(i * 10)}`);
        const base = await produceRaw(client, t, 0, values.map((value) => ({ value })), { compression: codec, skipUnsupported: true });
        if (base !== null) expected.push(...values);
      }
      assert.ok(expected.length >= 60);
      const r = open({ topic: t });
      const got: string[] = [];
      for (let i = 0; i < expected.length; i++) {
        const m: Message = await r.readMessage({ timeoutMs: 10_000 });
        assert.equal(m.offset, BigInt(i));
        got.push(str(m.value)!);
      }
      assert.deepEqual(got, expected);
    } finally {
      await client.deleteTopics([t]).catch(() => {});
    }
  });

  it('read_committed drops aborted transactions; both levels skip control batches', async () => {
    const t = uniqueTopic('rp-txn');
    await client.createTopics([{ topic: t, numPartitions: 1 }]);
    try {
      const txn = new RawTransactions(client, uniqueTopic('txn'));
      await txn.init();
      await txn.run(t, ['c0', 'c1', 'c2'], true); // offsets 0-2, marker 3
      await txn.run(t, ['a0', 'a1', 'a2'], false); // offsets 4-6, marker 7
      await produceRaw(client, t, 0, [{ value: 'n0' }]); // 8
      await txn.run(t, ['c3'], true); // 9, marker 10
      const read = async (isolationLevel: 'read_committed' | 'read_uncommitted', n: number) => {
        const r = open({ topic: t, isolationLevel });
        const out: string[] = [];
        for (let i = 0; i < n; i++) {
          const m = await r.readMessage({ timeoutMs: 10_000 });
          out.push(`${m.offset}:${str(m.value)}`);
        }
        await assert.rejects(r.readMessage({ timeoutMs: 700 }), TimeoutError);
        assert.equal(r.offset(), 10n);
        return out;
      };
      assert.deepEqual(await read('read_committed', 5), ['0:c0', '1:c1', '2:c2', '8:n0', '9:c3']);
      assert.deepEqual(await read('read_uncommitted', 8), ['0:c0', '1:c1', '2:c2', '4:a0', '5:a1', '6:a2', '8:n0', '9:c3']);
    } finally {
      await client.deleteTopics([t]).catch(() => {});
    }
  });
});

/** The transaction protocol by hand (the Writer has no transactions yet): enough for test data. */
class RawTransactions {
  private producerId = -1n;
  private producerEpoch = -1;
  private sequence = 0;
  constructor(private readonly client: Client, private readonly id: string) {}

  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof KafkaError && e.retriable) || i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private check(code: number, what: string): void {
    if (code) throw new (class extends KafkaError {})(`${what}: error ${code}`, [14, 15, 16, 51, 53].includes(code));
  }

  async init(): Promise<void> {
    // FindCoordinator creates __transaction_state on first use; the broker is the coordinator once it answers.
    await this.retry(async () => {
      const res = await this.client.request(Api.FindCoordinator, { keyType: 1, coordinatorKeys: [this.id] });
      this.check(res.coordinators[0].errorCode, 'FindCoordinator');
    });
    await this.retry(async () => {
      const res = await this.client.request(Api.InitProducerId, { transactionalId: this.id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
      this.check(res.errorCode, 'InitProducerId');
      this.producerId = res.producerId;
      this.producerEpoch = res.producerEpoch;
    });
  }

  async run(topic: string, values: string[], commit: boolean): Promise<void> {
    const conn = await this.client.cluster.leaderConnection(topic, 0, 'admin');
    await this.retry(async () => {
      const res = await conn.request(Api.AddPartitionsToTxn, {
        v3AndBelowTransactionalId: this.id,
        v3AndBelowProducerId: this.producerId,
        v3AndBelowProducerEpoch: this.producerEpoch,
        v3AndBelowTopics: [{ name: topic, partitions: [0] }],
      }, { version: Math.min(3, conn.version(Api.AddPartitionsToTxn)) });
      for (const r of res.resultsByTopicV3AndBelow ?? []) for (const p of r.resultsByPartition) this.check(p.partitionErrorCode, 'AddPartitionsToTxn');
    });
    const batch = await encodeRecordBatch(values.map((v) => ({ value: new TextEncoder().encode(v) })), {
      transactional: true,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence: this.sequence,
    });
    this.sequence += values.length;
    const res = await conn.request(Api.Produce, {
      transactionalId: this.id,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    }, { version: Math.min(11, conn.version(Api.Produce)) });
    this.check(res.responses[0].partitionResponses[0].errorCode, 'Produce');
    await this.retry(async () => {
      const end = await conn.request(Api.EndTxn, { transactionalId: this.id, producerId: this.producerId, producerEpoch: this.producerEpoch, committed: commit }, { version: Math.min(4, conn.version(Api.EndTxn)) });
      this.check(end.errorCode, 'EndTxn');
    });
    // The coordinator writes the marker after answering EndTxn: wait for it, so offsets are known.
    for (let i = 0; i < 100; i++) {
      const [lso, hw] = await Promise.all([this.client.listOffsets(topic, 'latest', { readCommitted: true }), this.client.listOffsets(topic, 'latest')]);
      if (lso.get(0)!.offset === hw.get(0)!.offset) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('transaction marker not written');
  }
}
