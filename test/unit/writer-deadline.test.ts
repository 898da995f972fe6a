// The Writer's deadlines and aborts against a fake broker on loopback that speaks just enough Kafka
// (ApiVersions, Metadata, InitProducerId, Produce) and can hold Produce answers back, like a frozen
// broker whose socket stays open. What the broker received is decoded, so the tests see exactly what
// was sent: removed messages never, sequences without gaps, a new epoch after an abandoned batch.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Writer, WriteErrors } from '../../src/client/writer/index.ts';
import { AbortedError, TimeoutError } from '../../src/protocol/errors.ts';
import { Api, decodeRequestHeader, encodeResponseHeader, ErrorCode, apiByKey, type ProduceRequest } from '../../src/protocol/messages/index.ts';
import { decodeRecordSet, type RecordBatch } from '../../src/protocol/records/index.ts';
import { ByteReader } from '../../src/protocol/wire/byte-reader.ts';
import { ByteWriter } from '../../src/protocol/wire/byte-writer.ts';

const td = new TextDecoder();
const TOPIC = 't';
const SERVED = [Api.ApiVersions, Api.Metadata, Api.InitProducerId, Api.Produce];

interface Received {
  batch: RecordBatch;
  values: string[];
}

/** A one-broker cluster with topic `t` (1 partition). Produce answers wait while `hold` is set. */
class FakeBroker {
  port = 0;
  hold = false;
  received: Received[] = [];
  initProducerIds = 0;
  private offset = 0n;
  private held: (() => void)[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => {});
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
          const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
          buf = buf.subarray(4 + frame.length);
          void this.answer(sock, new Uint8Array(frame));
        }
      });
    });
  }

  start(): Promise<this> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.port = (this.server.address() as { port: number }).port;
      resolve(this);
    }));
  }

  release(): void {
    this.hold = false;
    for (const h of this.held.splice(0)) h();
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private async answer(sock: Socket, frame: Uint8Array): Promise<void> {
    const apiKey = (frame[0] << 8) | frame[1];
    const version = (frame[2] << 8) | frame[3];
    const api = apiByKey(apiKey)!;
    const r = new ByteReader(frame);
    const { correlationId } = decodeRequestHeader(r, api.requestHeaderVersion(version));
    const req = api.decodeRequest(r, version);
    let body: unknown;
    if (apiKey === Api.ApiVersions.apiKey) {
      body = { errorCode: ErrorCode.NONE, apiKeys: SERVED.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a === Api.Produce ? 12 : a.maxVersion })) };
    } else if (apiKey === Api.Metadata.apiKey) {
      body = {
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: this.port, rack: null }],
        clusterId: 'fake',
        controllerId: 1,
        topics: [{ errorCode: ErrorCode.NONE, name: TOPIC, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', isInternal: false, partitions: [{ errorCode: ErrorCode.NONE, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }] }],
      };
    } else if (apiKey === Api.InitProducerId.apiKey) {
      body = { errorCode: ErrorCode.NONE, producerId: 1000n, producerEpoch: this.initProducerIds++ };
    } else {
      const produce = req as ProduceRequest;
      const records = produce.topicData[0].partitionData[0].records!;
      const [batch] = await decodeRecordSet(records);
      this.received.push({ batch, values: batch.records.map((x) => td.decode(x.value!)) });
      const baseOffset = this.offset;
      this.offset += BigInt(batch.records.length);
      if (this.hold) await new Promise<void>((r) => this.held.push(r));
      body = { responses: [{ name: TOPIC, partitionResponses: [{ index: 0, errorCode: ErrorCode.NONE, baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n }] }] };
    }
    const w = new ByteWriter(256);
    const sizeAt = w.reserve(4);
    encodeResponseHeader(w, api.responseHeaderVersion(version), { correlationId });
    api.encodeResponse(w, version, body as never);
    w.setInt32At(sizeAt, w.length - 4);
    if (!sock.destroyed) sock.write(w.finish().slice());
  }
}

const brokers: FakeBroker[] = [];
const writers: Writer[] = [];
after(async () => {
  for (const w of writers) await w.close({ signal: AbortSignal.abort() }).catch(() => {});
  for (const b of brokers) b.close();
});

async function setup(cfg: Partial<ConstructorParameters<typeof Writer>[0]> = {}) {
  const broker = await new FakeBroker().start();
  brokers.push(broker);
  const w = new Writer({ brokers: [`127.0.0.1:${broker.port}`], topic: TOPIC, batchTimeoutMs: 0, ...cfg });
  writers.push(w);
  await w.writeMessages({ value: 'warm-up' });
  return { broker, w };
}

const failure = (p: Promise<unknown>) => p.then(() => assert.fail('expected WriteErrors'), (e: unknown) => {
  assert.ok(e instanceof WriteErrors, String(e));
  return e;
});

describe('Writer deadlines and aborts (fake broker)', () => {
  it('a call to a broker that stops answering rejects at its deadline: sent messages are marked, queued ones removed', async () => {
    const { broker, w } = await setup();
    broker.hold = true;
    const t0 = performance.now();
    const onWire = failure(w.writeMessages({ value: 'on-wire' }, { timeoutMs: 300 }));
    await new Promise((r) => setTimeout(r, 50));
    // A second call while the first is unanswered: sent too (in flight behind it) or queued; either
    // way it must end at its own deadline, and sent[] must say which.
    const queued = failure(w.writeMessages({ value: 'queued-1' }, { value: 'queued-2' }, { timeoutMs: 200 }));
    const [a, b] = await Promise.all([onWire, queued]);
    const ms = performance.now() - t0;
    assert.ok(ms < 300 + 250, `rejected after ${ms.toFixed(0)} ms (deadline 300 ms)`);
    assert.ok(a.errors[0] instanceof TimeoutError);
    assert.deepEqual(a.sent, [true]);
    const sentValues = broker.received.flatMap((r) => r.values);
    assert.deepEqual(b.sent, ['queued-1', 'queued-2'].map((v) => sentValues.includes(v)), 'sent[] says exactly what reached the broker');
    broker.release();
    const [r] = await w.writeMessages({ value: 'after' });
    assert.ok(r.offset > 0n);
  });

  it('an aborted call: its queued messages never reach the broker, and sequences stay consecutive', async () => {
    const { broker, w } = await setup({ maxInFlightPerPartition: 1 });
    broker.hold = true;
    const first = w.writeMessages({ value: 'first' });
    await new Promise((r) => setTimeout(r, 30));
    const ac = new AbortController();
    const aborted = failure(w.writeMessages({ value: 'x1' }, { value: 'x2' }, { signal: ac.signal }));
    const later = w.writeMessages({ value: 'later' });
    await new Promise((r) => setTimeout(r, 30));
    const t0 = performance.now();
    ac.abort();
    const e = await aborted;
    assert.ok(performance.now() - t0 < 50, 'rejects at once');
    assert.ok(e.errors.every((x) => x instanceof AbortedError));
    assert.deepEqual(e.sent, [false, false]);
    broker.release();
    const [[f], [l]] = await Promise.all([first, later]);
    assert.equal(l.offset, f.offset + 1n, 'nothing between them');
    const values = broker.received.map((x) => x.values);
    assert.deepEqual(values, [['warm-up'], ['first'], ['later']]);
    const seq = broker.received.map((x) => [x.batch.producerEpoch, x.batch.baseSequence]);
    assert.deepEqual(seq, [[0, 0], [0, 1], [0, 2]], 'no gap where the aborted messages were');
  });

  it('a batch in flight whose call gave up, then timed out, does not wedge the partition: a new epoch, sequences from 0', async () => {
    const { broker, w } = await setup({ requestTimeoutMs: 400 });
    broker.hold = true;
    const e = await failure(w.writeMessages({ value: 'lost' }, { timeoutMs: 150 }));
    assert.deepEqual(e.sent, [true]);
    // The request times out at 400 ms: the connection is dropped, the abandoned batch is not resent.
    const t0 = performance.now();
    broker.hold = false;
    const [r] = await w.writeMessages({ value: 'next' }, { timeoutMs: 5000 });
    assert.ok(r.offset >= 0n);
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(broker.initProducerIds, 2, 'a second InitProducerId: the epoch was bumped');
    const last = broker.received[broker.received.length - 1];
    assert.deepEqual([last.values, last.batch.producerEpoch, last.batch.baseSequence], [['next'], 1, 0]);
    assert.equal(broker.received.filter((x) => x.values.includes('lost')).length, 1, 'the abandoned batch was sent once, not retried');
    broker.release();
  });

  it('open-loop calls every 10 ms against a frozen broker: each rejects at its own deadline, not one after another', async () => {
    const { broker, w } = await setup();
    broker.hold = true;
    const lateness: number[] = [];
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      calls.push(failure(w.writeMessages({ value: `m${i}` }, { value: `n${i}` }, { timeoutMs: 300 })).then((e) => {
        lateness.push(performance.now() - t0 - 300);
        assert.equal(e.count(), 2);
        assert.ok(e.errors.every((x) => x instanceof TimeoutError));
      }));
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(calls);
    const worst = Math.max(...lateness);
    assert.ok(worst < 200, `worst call ended ${worst.toFixed(0)} ms after its deadline`);
    assert.ok(Math.min(...lateness) >= -2, 'none before its deadline');
    broker.release();
  });

  it('a call waiting for buffer space ends at its deadline too', async () => {
    const { broker, w } = await setup({ maxBufferedBytes: 2048 });
    broker.hold = true;
    const big = 'b'.repeat(1500);
    const first = failure(w.writeMessages({ value: big }, { timeoutMs: 300 }));
    const t0 = performance.now();
    const waiting = await failure(w.writeMessages({ value: big }, { timeoutMs: 200 }));
    assert.ok(performance.now() - t0 < 200 + 150);
    assert.deepEqual(waiting.sent, [false]);
    await first;
    broker.release();
  });
});
