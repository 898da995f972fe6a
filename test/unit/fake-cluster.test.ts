// mka/testing's FakeCluster driven by mka's own Client, Writer and Reader: produce/fetch round trips,
// admin, groups, idempotence, persistence across a restart, and each kind of injected fault.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Api, Client, ErrorCode, KafkaProtocolError, Reader, Writer } from '../../src/index.ts';
import { Connection } from '../../src/client/connection.ts';
import { ByteReader, ByteWriter, encodeRecordBatch, stampBatch, decodeRecordSet } from '../../src/protocol/index.ts';
import { FakeCluster } from '../../src/testing/index.ts';
import { fakeClusters } from '../helpers/fake.ts';

const text = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('utf8') : null);
const { start, track } = fakeClusters();

describe('FakeCluster with mka', () => {
  it('two clusters in one process, each with its own id; metadata spreads leaders over the brokers', async () => {
    const a = await start({ brokers: 3, topics: [{ name: 'spread', partitions: 6, replicationFactor: 3 }] });
    const b = await start({ brokers: 1, clusterId: 'fake-cluster-b-0000000' });
    assert.notEqual(a.clusterId, b.clusterId);
    const client = track(new Client({ brokers: a.bootstrap }));
    const m = await client.metadata({ topics: ['spread'] });
    assert.equal(m.clusterId, a.clusterId);
    assert.deepEqual(m.brokers.map((x) => x.nodeId).sort(), [1, 2, 3]);
    const leaders = new Set(m.topics[0].partitions.map((p) => p.leader));
    assert.equal(leaders.size, 3, 'every broker leads some partition');
    const cb = track(new Client({ brokers: b.bootstrap }));
    assert.equal((await cb.describeCluster()).clusterId, 'fake-cluster-b-0000000');
  });

  it('Writer and Reader: what is written reads back in order, offsets from 0, on a 3-broker cluster', async () => {
    const c = await start({ brokers: 3, topics: [{ name: 'rt', partitions: 1, replicationFactor: 3 }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'rt' }));
    const results = await w.writeMessages(...Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    assert.deepEqual(results.map((r) => r.offset), Array.from({ length: 50 }, (_, i) => BigInt(i)));
    const r = track(new Reader({ brokers: c.bootstrap, topic: 'rt', partition: 0, maxWaitMs: 100 }));
    for (let i = 0; i < 50; i++) {
      const m = await r.readMessage();
      assert.equal(m.offset, BigInt(i));
      assert.equal(text(m.value), `v${i}`);
      assert.equal(text(m.key), `k${i}`);
    }
    assert.equal(c.partition('rt', 0).endOffset, 50n);
  });

  it('a long poll answers as soon as data arrives, and after maxWaitMs when none does', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'lp' }] });
    const r = track(new Reader({ brokers: c.bootstrap, topic: 'lp', partition: 0, maxWaitMs: 5_000 }));
    const pending = r.readMessage();
    await new Promise((res) => setTimeout(res, 300));
    const t0 = performance.now();
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'lp' }));
    await w.writeMessages({ value: 'late' });
    const m = await pending;
    assert.equal(text(m.value), 'late');
    assert.ok(performance.now() - t0 < 3_000, 'the waiting fetch was woken by the append, not by its 5 s timeout');
  });

  it('admin: create, grow, describe configs, delete records, list offsets by time, delete', async () => {
    const c = await start({ brokers: 3 });
    const client = track(new Client({ brokers: c.bootstrap }));
    await client.createTopics([{ topic: 'adm', numPartitions: 2, replicationFactor: 3, configs: { 'retention.ms': '1000' } }]);
    await assert.rejects(client.createTopics([{ topic: 'adm', numPartitions: 1 }]), (e: unknown) => e instanceof KafkaProtocolError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS);
    await client.createPartitions('adm', 4);
    assert.equal((await client.metadata({ topics: ['adm'] })).topics[0].partitions.length, 4);
    const cfg = await client.describeConfigs({ type: 'topic', name: 'adm' }, { keys: ['retention.ms', 'cleanup.policy'] });
    assert.equal(cfg['retention.ms'].value, '1000');
    assert.equal(cfg['retention.ms'].isDefault, false);
    assert.equal(cfg['cleanup.policy'].value, 'delete');
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'adm', balancer: { balance: () => 0 } as never }));
    const t0 = Date.UTC(2024, 0, 1);
    await w.writeMessages(...Array.from({ length: 10 }, (_, i) => ({ value: `x${i}`, time: new Date(t0 + i * 1000) })));
    assert.equal((await client.listOffsets('adm', new Date(t0 + 4500))).get(0)!.offset, 5n);
    assert.equal((await client.deleteRecords('adm', { 0: 3n })).get(0), 3n);
    assert.equal((await client.listOffsets('adm', 'earliest')).get(0)!.offset, 3n);
    await client.deleteTopics(['adm']);
    assert.ok(!(await client.listTopics()).includes('adm'));
  });

  it('ApiVersions lists only what the fake implements; a capped version is what a Connection negotiates', async () => {
    const c = await start({ brokers: 1, apiVersions: { Fetch: 11, Metadata: 9 } });
    assert.ok(c.apis.includes('Produce') && c.apis.includes('JoinGroup'));
    assert.ok(c.apis.includes('EndTxn'));
    assert.ok(!c.apis.includes('ShareFetch') && !c.apis.includes('DescribeAcls'), 'what is not implemented is not listed');
    const conn = await Connection.open({ host: '127.0.0.1', port: c.brokers[0].port, clientId: 't' });
    try {
      assert.equal(conn.version(Api.Fetch), 11);
      assert.equal(conn.version(Api.Metadata), 9);
    } finally {
      conn.close();
    }
  });

  it('idempotent producer: a retried batch gets its first offset back, a sequence gap is refused', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'idem' }] });
    const client = track(new Client({ brokers: c.bootstrap }));
    const init = await client.request(Api.InitProducerId, { transactionalId: null, transactionTimeoutMs: -1, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const batch = async (seq: number) => {
      const b = await encodeRecordBatch([{ value: new TextEncoder().encode(`s${seq}`) }]);
      stampBatch(b, init.producerId, init.producerEpoch, seq);
      return b;
    };
    const produce = async (records: Uint8Array) => {
      const res = await client.request(Api.Produce, { acks: -1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 'idem', partitionData: [{ index: 0, records }] }] }, { version: 9 });
      return res.responses[0].partitionResponses[0];
    };
    const first = await batch(0);
    assert.equal((await produce(first)).baseOffset, 0n);
    assert.equal((await produce(await batch(1))).baseOffset, 1n);
    const again = await produce(first);
    assert.equal(again.errorCode, ErrorCode.NONE);
    assert.equal(again.baseOffset, 0n, 'the duplicate is acknowledged with its original offset');
    assert.equal((await produce(await batch(5))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(c.partition('idem', 0).endOffset, 2n, 'nothing was appended twice');
  });

  it('transactions: the LSO holds back read_committed until EndTxn; staged group offsets apply on commit only', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'txn' }] });
    const client = track(new Client({ brokers: c.bootstrap }));
    const txn = async (id: string, commit: boolean) => {
      const init = await client.request(Api.InitProducerId, { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
      const who = { transactionalId: id, producerId: init.producerId, producerEpoch: init.producerEpoch };
      await client.request(Api.AddPartitionsToTxn, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: who.producerId, v3AndBelowProducerEpoch: who.producerEpoch, v3AndBelowTopics: [{ name: 'txn', partitions: [0] }] }, { version: 3 });
      const records = await encodeRecordBatch([{ value: new TextEncoder().encode(id) }], { transactional: true, producerId: who.producerId, producerEpoch: who.producerEpoch, baseSequence: 0 });
      const res = await client.request(Api.Produce, { transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: 'txn', partitionData: [{ index: 0, records }] }] }, { version: 9 });
      assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      assert.equal((await client.listOffsets('txn', 'latest', { readCommitted: true })).get(0)!.offset, c.partition('txn', 0).endOffset - 1n, 'LSO below the open transaction');
      assert.equal((await client.request(Api.AddOffsetsToTxn, { ...who, groupId: 'tg' })).errorCode, ErrorCode.NONE);
      const staged = await client.request(Api.TxnOffsetCommit, { ...who, groupId: 'tg', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'txn', partitions: [{ partitionIndex: 0, committedOffset: commit ? 11n : 99n, committedLeaderEpoch: -1, committedMetadata: null }] }] }, { version: 3 });
      assert.equal(staged.topics[0].partitions[0].errorCode, ErrorCode.NONE);
      assert.equal((await client.request(Api.EndTxn, { ...who, committed: commit }, { version: 3 })).errorCode, ErrorCode.NONE);
    };
    await txn('t-commit', true);
    await txn('t-abort', false);
    const end = c.partition('txn', 0).endOffset;
    assert.equal(end, 4n, 'two records and two markers');
    assert.equal((await client.listOffsets('txn', 'latest', { readCommitted: true })).get(0)!.offset, end);
    assert.equal(c.committed('tg', 'txn', 0), 11n, 'the aborted transaction did not commit its offset');
    const r = track(new Reader({ brokers: c.bootstrap, topic: 'txn', partition: 0, maxWaitMs: 100, isolationLevel: 'read_committed' }));
    assert.equal(text((await r.readMessage()).value), 't-commit');
    await assert.rejects(r.readMessage({ timeoutMs: 500 }));
  });

  it('a corrupted batch (CRC) is refused with CORRUPT_MESSAGE; a batch over max.message.bytes with MESSAGE_TOO_LARGE', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'crc', configs: { 'max.message.bytes': '2000' } }] });
    const client = track(new Client({ brokers: c.bootstrap }));
    const produce = async (records: Uint8Array) =>
      (await client.request(Api.Produce, { acks: 1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: 'crc', partitionData: [{ index: 0, records }] }] }, { version: 9 })).responses[0].partitionResponses[0];
    const b = await encodeRecordBatch([{ value: new TextEncoder().encode('hello') }]);
    b[b.length - 1] ^= 1;
    assert.equal((await produce(b)).errorCode, ErrorCode.CORRUPT_MESSAGE);
    const big = await encodeRecordBatch([{ value: new Uint8Array(5000) }]);
    assert.equal((await produce(big)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    assert.equal(c.partition('crc', 0).endOffset, 0n);
  });

  it('retention by bytes bounds a partition: the oldest batches go, the log start moves', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'ret' }], retentionBytes: 4096 });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'ret', batchSize: 1 } as never));
    for (let i = 0; i < 40; i++) await w.writeMessages({ value: 'x'.repeat(300) });
    const p = c.partition('ret', 0);
    assert.equal(p.endOffset, 40n);
    assert.ok(p.bytes <= 4096, `${p.bytes} bytes kept`);
    assert.ok(p.logStartOffset > 0n);
    const client = track(new Client({ brokers: c.bootstrap }));
    assert.equal((await client.listOffsets('ret', 'earliest')).get(0)!.offset, p.logStartOffset);
  });

  it('consumer group: two Readers share the partitions, commits are kept by the cluster', async () => {
    const c = await start({ brokers: 3, topics: [{ name: 'grp', partitions: 4, replicationFactor: 3 }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'grp' }));
    await w.writeMessages(...Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    const mk = () => track(new Reader({ brokers: c.bootstrap, topic: 'grp', groupId: 'g1', maxWaitMs: 100, sessionTimeoutMs: 6000, heartbeatIntervalMs: 300 }));
    const r1 = mk();
    const r2 = mk();
    const seen = new Set<string>();
    const byReader = [new Set<number>(), new Set<number>()];
    await Promise.all([r1, r2].map(async (r, i) => {
      while (seen.size < 40) {
        const m = await r.readMessage({ timeoutMs: 500 }).catch(() => null);
        if (!m) continue;
        seen.add(text(m.value)!);
        byReader[i].add(m.partition);
      }
    }));
    assert.equal(seen.size, 40);
    let committed = 0n;
    for (let p = 0; p < 4; p++) committed += c.committed('g1', 'grp', p) ?? 0n;
    assert.ok(committed > 0n, 'readMessage commits through the fake coordinator');
  });

  it('a topic id fetch (v13+) and a by-name fetch (v12) read the same bytes', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'ids' }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'ids' }));
    await w.writeMessages({ value: 'one' }, { value: 'two' });
    const client = track(new Client({ brokers: c.bootstrap }));
    const id = (await client.metadata({ topics: ['ids'] })).topics[0].topicId;
    const fetch = async (version: number) => {
      const res = await client.request(Api.Fetch, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'ids', topicId: id, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }] }],
      }, { version });
      const p = res.responses[0].partitions[0];
      assert.equal(p.errorCode, ErrorCode.NONE);
      return (await decodeRecordSet(p.records!)).flatMap((b) => b.records.map((r) => text(r.value)));
    };
    assert.deepEqual(await fetch(12), ['one', 'two']);
    assert.deepEqual(await fetch(16), ['one', 'two']);
  });

  it('persists to a directory: a new cluster on the same dataDir has the topics, records and commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mka-fake-'));
    try {
      const c1 = await FakeCluster.start({ brokers: 1, dataDir: dir, topics: [{ name: 'keep' }] });
      const w = new Writer({ brokers: c1.bootstrap, topic: 'keep' });
      await w.writeMessages({ value: 'a' }, { value: 'b' });
      await w.close();
      const cl = new Client({ brokers: c1.bootstrap });
      await cl.commitOffsets('gk', [{ topic: 'keep', partition: 0, offset: 1n }]);
      await cl.close();
      await c1.stop();
      const c2 = await start({ brokers: 1, dataDir: dir });
      assert.equal(c2.clusterId, c1.clusterId);
      assert.equal(c2.partition('keep', 0).endOffset, 2n);
      assert.equal(c2.committed('gk', 'keep', 0), 1n);
      const r = track(new Reader({ brokers: c2.bootstrap, topic: 'keep', partition: 0, maxWaitMs: 100 }));
      assert.equal(text((await r.readMessage()).value), 'a');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('FakeCluster fault injection', () => {
  it('an injected retriable error on Produce is retried by the Writer; the rule counts its hits', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'ferr' }] });
    const fault = c.inject({ api: 'Produce', errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, times: 2 });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'ferr' }));
    const [res] = await w.writeMessages({ value: 'through' });
    assert.equal(fault.hits, 2);
    assert.equal(res.offset, 0n, 'idempotence: the batch applied before the injected answer is not written twice');
    assert.equal(c.partition('ferr', 0).endOffset, 1n);
  });

  it('a non-retriable injected error reaches the caller as KafkaProtocolError with that code', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'fatal' }] });
    c.inject({ api: 'DescribeCluster', errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED });
    const client = track(new Client({ brokers: c.bootstrap, retry: { attempts: 1 } }));
    await assert.rejects(client.describeCluster(), (e: unknown) => e instanceof KafkaProtocolError && e.code === ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  });

  it('delay holds the answer; drop closes the connection; the client gets through once the rule is spent', async () => {
    const c = await start({ brokers: 1 });
    const client = track(new Client({ brokers: c.bootstrap }));
    await client.describeCluster();
    c.inject({ api: 'DescribeCluster', delayMs: 400, times: 1 });
    let t0 = performance.now();
    await client.describeCluster();
    assert.ok(performance.now() - t0 >= 380, 'held for the delay');
    const drop = c.inject({ api: 'DescribeCluster', drop: true, times: 1 });
    t0 = performance.now();
    const d = await client.describeCluster();
    assert.equal(d.clusterId, c.clusterId);
    assert.equal(drop.hits, 1);
  });

  it('noAnswer: the request times out on the client, which retries on a new connection and gets through', async () => {
    const c = await start({ brokers: 1 });
    const client = track(new Client({ brokers: c.bootstrap, requestTimeoutMs: 500 }));
    await client.describeCluster();
    const silent = c.inject({ broker: 1, api: 'DescribeCluster', noAnswer: true, times: 1 });
    const t0 = performance.now();
    // No call timeoutMs: the connection's requestTimeoutMs ends the attempt and closes the connection.
    // (With a call deadline equal to it, the abort leaves the silent connection open and later calls
    // queue behind the missing answer: reported as a client issue.)
    assert.equal((await client.describeCluster()).clusterId, c.clusterId);
    assert.equal(silent.hits, 1);
    assert.ok(performance.now() - t0 >= 450, 'the first attempt waited for its request timeout');
  });

  it('a frozen broker keeps the socket open and answers nothing until thawed; then it answers', async () => {
    const c = await start({ brokers: 1 });
    c.freezeBroker(1);
    const port = c.brokers[0].port;
    const frame = (() => {
      const w = new ByteWriter();
      const at = w.reserve(4);
      w.int16(18); w.int16(0); w.int32(42); w.nullableString('t');
      w.setInt32At(at, w.length - 4);
      return w.finish().slice();
    })();
    const s = connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    await new Promise((r) => s.once('connect', r));
    s.write(frame);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(got.length, 0, 'nothing answered while frozen');
    assert.equal(s.destroyed, false);
    c.thawBroker(1);
    await new Promise((r) => setTimeout(r, 300));
    const all = Buffer.concat(got);
    assert.ok(all.length > 8);
    assert.equal(new ByteReader(new Uint8Array(all)).int32(), all.length - 4);
    assert.equal(all.readInt32BE(4), 42, 'correlation id of the held request');
    s.destroy();
  });

  it('a corrupted byte in a fetched batch is caught by the CRC check, never read as a wrong value', async () => {
    const c = await start({ brokers: 1, topics: [{ name: 'cor' }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'cor' }));
    await w.writeMessages({ value: 'payload-payload' });
    const client = track(new Client({ brokers: c.bootstrap }));
    // Fetch v12 ends with three empty tagged-field sections (partition, topic, response): the byte before
    // them is the last byte of the record batch.
    c.inject({ api: 'Fetch', corruptAt: -4, times: 1 });
    const res = await client.request(Api.Fetch, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'cor', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }] }],
    }, { version: 12 });
    await assert.rejects(decodeRecordSet(res.responses[0].partitions[0].records!), /crc|CRC/);
  });

  it('stopping the leader moves its partitions to a live replica with a new epoch; the Writer follows', async () => {
    const c = await start({ brokers: 3, topics: [{ name: 'mv', partitions: 1, replicationFactor: 3 }] });
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'mv' }));
    await w.writeMessages({ value: 'before' });
    const { leader, leaderEpoch } = c.partition('mv', 0);
    await c.stopBroker(leader);
    const after = c.partition('mv', 0);
    assert.notEqual(after.leader, leader);
    assert.equal(after.leaderEpoch, leaderEpoch + 1);
    const [r] = await w.writeMessages({ value: 'after' });
    assert.equal(r.offset, 1n);
    await c.startBroker(leader);
    c.moveLeader('mv', 0, leader);
    const [r2] = await w.writeMessages({ value: 'moved back' });
    assert.equal(r2.offset, 2n);
    assert.equal(c.partition('mv', 0).leader, leader);
  });

  it('restart() keeps topics and data on the same ports', async () => {
    const c = await start({ brokers: 2, topics: [{ name: 'rs', replicationFactor: 2 }] });
    const ports = c.bootstrap;
    const w = track(new Writer({ brokers: c.bootstrap, topic: 'rs' }));
    await w.writeMessages({ value: '1' });
    await c.restart();
    assert.deepEqual(c.bootstrap, ports);
    const [r] = await w.writeMessages({ value: '2' });
    assert.equal(r.offset, 1n);
  });

  it('SASL PLAIN and SCRAM on a SASL listener; a wrong password is refused', async () => {
    const c = await start({
      brokers: 1,
      listeners: [{ name: 'PLAINTEXT' }, { name: 'SASL_PLAINTEXT', sasl: true }],
      sasl: { users: [{ username: 'u', password: 'p' }] },
    });
    const sasl = c.bootstrapFor('SASL_PLAINTEXT');
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      const ok = track(new Client({ brokers: sasl, sasl: { mechanism, username: 'u', password: 'p' } }));
      assert.equal((await ok.describeCluster()).clusterId, c.clusterId);
      const bad = track(new Client({ brokers: sasl, sasl: { mechanism, username: 'u', password: 'x' }, retry: { attempts: 1 } }));
      await assert.rejects(bad.describeCluster(), /authentication failed/i);
    }
  });
});
