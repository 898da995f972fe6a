// kafkajs under the side-by-side benchmark: Producer, group Consumer (eachBatch), its record-batch codec.
import { createRequire } from 'node:module';
import kafkajs, { type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import { codecFor } from '../../../src/protocol/compression/index.ts';
import { benchValue, codecRates, ConsumeCounter, fixedRateE2E, LatencyRecorder, measureIdle, messageSource, msPerCall, pumpProduce, pumpTransactions } from '../drivers.ts';
import type { BenchSpec, ClientAdapter, Throughput } from '../types.ts';

// kafkajs is CommonJS and builds its exports object with computed members, so Node's named-export
// detection cannot see all of them; take them from the default export.
const { Kafka, logLevel, CompressionTypes, CompressionCodecs, Partitioners } = kafkajs;

const require = createRequire(import.meta.url);

/** kafkajs' internal Encoder, as far as the codec scenario touches it. */
interface KjsEncoder {
  readonly buffer: Buffer;
}
interface RecordBatchModule {
  RecordBatch(opts: { compression: number; records: KjsEncoder[]; firstTimestamp: number; maxTimestamp: number; lastOffsetDelta: number }): Promise<KjsEncoder>;
}
type RecordEncoder = (r: { offsetDelta: number; timestampDelta: number; key: Buffer | null; value: Buffer }) => KjsEncoder;
type KjsDecoderCtor = new (buf: Buffer) => unknown;
type BatchDecoder = (decoder: unknown) => Promise<{ records: unknown[] }>;

// kafkajs ships no lz4. Register mka's lz4 (the same lz4js-based code mka runs), so both clients pay
// the same (de)compression cost and the comparison measures the clients, not two lz4 implementations.
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: KjsEncoder): Promise<Buffer> => toBuffer(await codecFor(3).compress(encoder.buffer)),
  decompress: async (buf: Buffer): Promise<Buffer> => toBuffer(await codecFor(3).decompress(buf, 256 << 20)),
});

/** A Buffer view of the codec's output: no copy, so the registered codec adds no cost mka does not have. */
function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.length);
}

function compression(spec: BenchSpec): number {
  return spec.compression === 'lz4' ? CompressionTypes.LZ4 : CompressionTypes.None;
}

function client(spec: BenchSpec) {
  // kafkajs logs every rebalance and connection at INFO; logging would be measured too.
  return new Kafka({ clientId: 'bench-kafkajs', brokers: spec.bootstrap, logLevel: logLevel.NOTHING });
}

async function producer(spec: BenchSpec): Promise<Producer> {
  // kafkajs has no linger or batch-size setting: each send() call becomes one batch per partition,
  // so spec.lingerMs and spec.batchBytes have no counterpart (the driver's spec.chunk is the batch).
  // Its defaults (spec.clientDefaults): acks -1 (all), idempotence off, no compression, no limit on
  // requests in flight, DefaultPartitioner (murmur2 of the key as Java's; 2.x prints a warning unless
  // one is named, so it is named here, which is the default anyway).
  const p = client(spec).producer(
    spec.clientDefaults
      ? { createPartitioner: Partitioners.DefaultPartitioner }
      : {
          idempotent: spec.idempotent,
          // Idempotence in kafkajs allows one request in flight (it throws otherwise).
          maxInFlightRequests: spec.idempotent ? 1 : spec.maxInFlight,
          createPartitioner: Partitioners.DefaultPartitioner,
        },
  );
  await p.connect();
  return p;
}

function send(p: Producer, spec: BenchSpec, messages: { key?: Buffer | null; value: Buffer }[]) {
  if (spec.clientDefaults) return p.send({ topic: spec.topic, messages });
  return p.send({ topic: spec.topic, messages, acks: spec.acks, compression: compression(spec) });
}

/** A group consumer reading spec.topic from the beginning; `onBatch` sees every delivered batch. */
async function groupConsumer(spec: BenchSpec, onBatch: (payload: EachBatchPayload) => void): Promise<Consumer> {
  const c = client(spec).consumer({
    groupId: spec.groupId,
    minBytes: spec.fetchMinBytes,
    maxWaitTimeInMs: spec.fetchMaxWaitMs,
    maxBytes: spec.fetchMaxBytes,
    maxBytesPerPartition: spec.partitionMaxBytes,
  });
  await c.connect();
  await c.subscribe({ topics: [spec.topic], fromBeginning: true });
  // eachBatch rather than eachMessage: what a throughput-minded kafkajs user picks, as eachMessage
  // awaits a callback and resolves an offset per message. Commit every 5 s like mka's reader.
  await c.run({
    autoCommitInterval: 5000,
    eachBatch: async (payload) => onBatch(payload),
  });
  return c;
}

const adapter: ClientAdapter = {
  name: 'kafkajs',
  version: () => (require('kafkajs/package.json') as { version: string }).version,

  async produce(spec) {
    const p = await producer(spec);
    const msgs = messageSource(spec, (key, value) => (key ? { key, value } : { value }));
    await send(p, spec, msgs(0, 1)); // connections, metadata
    const t = await pumpProduce(spec, (n, from) => send(p, spec, msgs(from, n)));
    await p.disconnect();
    return t;
  },

  async produceTxn(spec) {
    // kafkajs allows one request in flight with idempotence (and so with transactions).
    const p = client(spec).producer({ idempotent: true, transactionalId: `bench-kafkajs-${spec.topic}`, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    const value = benchValue(spec);
    const msgs = Array.from({ length: spec.txnMessages }, () => ({ value }));
    const txn = async (messages: { value: Buffer }[]) => {
      const tx = await p.transaction();
      await tx.send({ topic: spec.topic, messages, acks: spec.acks, compression: compression(spec) });
      await tx.commit();
    };
    await txn(msgs.slice(0, 1)); // producer id, connections, metadata
    const t = await pumpTransactions(spec, (n) => txn(n === msgs.length ? msgs : msgs.slice(0, n)));
    await p.disconnect();
    return t;
  },

  async consumeGroup(spec) {
    const counter = new ConsumeCounter(spec);
    // Started before connecting, like mka's reader: the group join is part of the measured time.
    counter.start();
    const c = await groupConsumer(spec, ({ batch }) => {
      let bytes = 0;
      for (const m of batch.messages) bytes += m.value?.length ?? 0;
      counter.add(batch.messages.length, bytes);
    });
    const t: Throughput = await measureIdle(spec, await counter.done);
    await c.disconnect();
    return t;
  },

  async metadata(spec) {
    const admin = client(spec).admin();
    await admin.connect();
    const topics = [spec.topic];
    const callMs = await msPerCall(spec.codecMs, () => admin.fetchTopicMetadata({ topics }));
    const m = await admin.fetchTopicMetadata({ topics });
    await admin.disconnect();
    const n = m.topics[0]?.partitions.length ?? 0;
    if (n !== spec.partitions) throw new Error(`metadata: ${n} partitions, want ${spec.partitions}`);
    // Its response decoder is internal (kafkajs/src/protocol/requests/metadata); only the call is timed.
    return { callMs };
  },

  async e2e(spec) {
    const rec = new LatencyRecorder();
    const p = await producer(spec);
    // The warm-up message creates the topic, so the consumer's first metadata request finds it.
    await send(p, spec, [{ value: Buffer.alloc(0) }]);
    let warm = false;
    const c = await groupConsumer({ ...spec, fetchMinBytes: 1 }, ({ batch }) => {
      warm = true;
      for (const m of batch.messages) rec.record(m.value);
    });
    // Joined and fetching before the clock starts: wait for the warm-up message to come back.
    while (!warm) await new Promise((r) => setTimeout(r, 10));
    const res = await fixedRateE2E(spec, rec, (values) => send(p, spec, values.map((value) => ({ value }))));
    await Promise.all([p.disconnect(), c.disconnect()]);
    return res;
  },

  async codec(spec) {
    const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as RecordBatchModule;
    const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as RecordEncoder;
    const Decoder = require('kafkajs/src/protocol/decoder') as KjsDecoderCtor;
    const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as BatchDecoder;
    const value = benchValue(spec);
    const t0 = Date.now();
    const n = spec.codecRecords;
    // What kafkajs' produce request does per partition: one Record encoder per message, then the
    // batch (uncompressed, as in mka.ts; CRC-32C computed). kafkajs' decoder does not check the CRC.
    const encode = async (): Promise<Buffer> => {
      const records = new Array<KjsEncoder>(n);
      for (let i = 0; i < n; i++) records[i] = Record({ offsetDelta: i, timestampDelta: i, key: null, value });
      const batch = await RecordBatch({ compression: 0, records, firstTimestamp: t0, maxTimestamp: t0 + n - 1, lastOffsetDelta: n - 1 });
      return batch.buffer;
    };
    const bytes = await encode();
    const decoded = await decodeBatch(new Decoder(bytes));
    if (decoded.records.length !== n) throw new Error(`kafkajs decoded ${decoded.records.length} of ${n} records`);
    return codecRates(spec, encode, () => decodeBatch(new Decoder(bytes)));
  },

  why: {
    'consume-partition':
      'kafkajs has no partition-only consumer: its Consumer always joins a group (no assign()); consumer.seek still needs a group member',
  },
};
export default adapter;
