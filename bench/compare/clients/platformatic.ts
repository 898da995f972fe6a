// @platformatic/kafka under the side-by-side benchmark: Producer.send, the group MessagesStream, and the
// record-batch codec it exports from its package root (createRecordsBatch / readRecordsBatch).
//
// Producer option mapping (from dist/clients/producer/*.js, 1.35.0):
//   acks=all        -> acks: ProduceAcks.ALL (-1)
//   idempotence off -> idempotent: false (true would force maxInflights=1)
//   compression     -> compression: 'none' | 'lz4' (lz4 frame via @platformatic/wasm-utils)
//   max in-flight   -> maxInflights: the per-connection request queue concurrency (default 5)
//   linger          -> none: every send() call becomes one Produce request right away, so it batches per
//                      call like kafkajs. Only producer.asStream() has batchTime/batchSize, but that stream
//                      keeps a single send in flight and gives no per-call ack, so it cannot keep
//                      spec.window chunks outstanding.
//   batch bytes     -> none: a send() call is one record batch per partition whatever its size.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import {
  Admin,
  Consumer,
  createRecordsBatch,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  Reader,
  readRecordsBatch,
  type MessageRecord,
  type MessagesStream,
} from '@platformatic/kafka';
import { benchValue, codecRates, ConsumeCounter, fixedRateE2E, LatencyRecorder, measureIdle, messageSource, msPerCall, pumpProduce, pumpTransactions } from '../drivers.ts';
import type { BenchSpec, ClientAdapter, Throughput } from '../types.ts';

type Stream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

function producer(spec: BenchSpec): Producer {
  // Its defaults (spec.clientDefaults): acks 1 (leader only) unless idempotent, idempotence off, no
  // compression, 5 requests in flight, murmur2 of the key (unsigned, not masked as Java's; round robin for
  // null keys), no linger: each send() call is sent at once.
  if (spec.clientDefaults) return new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: spec.bootstrap });
  return new Producer({
    clientId: 'bench-platformatic',
    bootstrapBrokers: spec.bootstrap,
    acks: ProduceAcks.ALL,
    idempotent: spec.idempotent,
    compression: spec.compression,
    maxInflights: spec.maxInFlight,
    // The orchestrator creates the topics; this only matters when the adapter is run by hand.
    autocreateTopics: true,
  });
}

// No deserializers: the default no-op hands out the record's Buffer view of the response, like mka's Uint8Array views.
function consumer(spec: BenchSpec): Consumer {
  return new Consumer({
    clientId: 'bench-platformatic',
    bootstrapBrokers: spec.bootstrap,
    groupId: spec.groupId,
    minBytes: spec.fetchMinBytes,
    maxWaitTime: spec.fetchMaxWaitMs,
    maxBytes: spec.fetchMaxBytes,
    maxBytesPerPartition: spec.partitionMaxBytes,
    // Its default is READ_COMMITTED; mka reads uncommitted.
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    // Periodic commit like mka's commitIntervalMs: 5000 (the default `true` commits after every fetch).
    autocommit: 5000,
  });
}

/** Joins spec.groupId and starts reading from the committed offset, or the earliest one for a fresh group. */
function subscribe(c: Consumer, spec: BenchSpec): Promise<Stream> {
  return c.consume({ topics: [spec.topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST });
}

/** Rejects when the stream fails, so a broken fetch loop ends the run instead of hanging it. */
function failure(stream: Stream): Promise<never> {
  return new Promise((_, reject) => stream.once('error', reject));
}

async function shutdown(c: Consumer, stream: Stream): Promise<void> {
  await stream.close();
  await c.close(true);
}

const adapter: ClientAdapter = {
  name: 'platformatic',
  version: () => {
    // The package's exports map exposes only dist/index.js, so locate package.json next to it.
    const entry = createRequire(import.meta.url).resolve('@platformatic/kafka');
    return (JSON.parse(readFileSync(new URL('../package.json', pathToFileURL(entry)), 'utf8')) as { version: string }).version;
  },

  async produce(spec) {
    const p = producer(spec);
    // send() copies each message into its own record object, so one array can be reused across calls.
    const msgs = messageSource(spec, (key, value) => (key ? { topic: spec.topic, key, value } : { topic: spec.topic, value }));
    await p.send({ messages: msgs(0, 1) }); // connections, metadata
    // Idempotent, concurrent send() calls fail with OUT_OF_ORDER_SEQUENCE_NUMBER (1.35.0, keyed to 12
    // partitions on 3 brokers): sequence numbers are taken per call but the calls' requests reach the
    // brokers in another order. One call at a time is what works, so that is what it gets.
    const t = await pumpProduce(spec.idempotent ? { ...spec, window: 1 } : spec, (n, from) => p.send({ messages: msgs(from, n) }));
    await p.close();
    return t;
  },

  async produceTxn(spec) {
    const p = new Producer({
      clientId: 'bench-platformatic',
      bootstrapBrokers: spec.bootstrap,
      acks: ProduceAcks.ALL,
      idempotent: true,
      transactionalId: `bench-platformatic-${spec.topic}`,
      compression: spec.compression,
      maxInflights: spec.maxInFlight,
      autocreateTopics: true,
    });
    const value = benchValue(spec);
    const msgs = Array.from({ length: spec.txnMessages }, () => ({ topic: spec.topic, value }));
    const txn = async (messages: typeof msgs) => {
      const tx = await p.beginTransaction();
      await tx.send({ messages });
      await tx.commit();
    };
    await txn(msgs.slice(0, 1)); // producer id, connections, metadata
    const t = await pumpTransactions(spec, (n) => txn(n === msgs.length ? msgs : msgs.slice(0, n)));
    await p.close();
    return t;
  },

  async consumeGroup(spec): Promise<Throughput> {
    const c = consumer(spec);
    const counter = new ConsumeCounter(spec);
    // Like mka, the group join is inside the measured time.
    counter.start();
    const stream = await subscribe(c, spec);
    const failed = failure(stream);
    // 'data' in flowing mode: the stream pushes every record of a fetch response synchronously.
    stream.on('data', (m) => {
      counter.add(1, m.value.length);
    });
    const t = await Promise.race([counter.done.then((d) => measureIdle(spec, d)), failed]);
    await shutdown(c, stream);
    return t;
  },

  async metadata(spec) {
    const admin = new Admin({ clientId: 'bench-platformatic', bootstrapBrokers: spec.bootstrap });
    const topics = [spec.topic];
    // forceUpdate: otherwise the answer comes from its metadata cache without a request.
    const callMs = await msPerCall(spec.codecMs, () => admin.metadata({ topics, forceUpdate: true }));
    const m = await admin.metadata({ topics, forceUpdate: true });
    await admin.close();
    const n = m.topics.get(spec.topic)?.partitionsCount ?? 0;
    if (n !== spec.partitions) throw new Error(`metadata: ${n} partitions, want ${spec.partitions}`);
    return { callMs };
  },

  async e2e(spec) {
    const rec = new LatencyRecorder();
    const p = producer(spec);
    const c = consumer({ ...spec, fetchMinBytes: 1 });
    // The warm-up message also creates the topic when run by hand.
    await p.send({ messages: [{ topic: spec.topic, value: Buffer.alloc(0) }] });
    const stream = await subscribe(c, spec);
    const failed = failure(stream);
    // Joined and fetching before the clock starts: wait for the warm-up message.
    const joined = new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.on('data', (m) => rec.record(m.value));
    await Promise.race([joined, failed]);
    const sender = (values: Buffer[]) => p.send({ messages: values.map((value) => ({ topic: spec.topic, value })) });
    const res = await Promise.race([fixedRateE2E(spec, rec, sender), failed]);
    await Promise.all([p.close(), shutdown(c, stream)]);
    return res;
  },

  async codec(spec) {
    const value = benchValue(spec);
    const t0 = BigInt(Date.now());
    // The message objects are built per call as the producer does in send(); createRecordsBatch also
    // writes each message's timestamp back into it. `.buffer` joins the writer's chunks into the one
    // contiguous Buffer the connection sends (it does the same with the whole request).
    const encode = () => {
      const msgs: MessageRecord[] = new Array(spec.codecRecords);
      for (let i = 0; i < spec.codecRecords; i++) msgs[i] = { topic: spec.topic, value, timestamp: t0 + BigInt(i) };
      return createRecordsBatch(msgs, { compression: 'none' }).buffer;
    };
    const bytes = encode();
    // readRecordsBatch does not verify the batch CRC (the stored crc is only read into the result).
    return codecRates(spec, encode, () => readRecordsBatch(Reader.from(bytes)));
  },

  why: {
    'consume-partition':
      'no partition reader without a group: Consumer requires groupId and consume() always joins the group and ' +
      'fetches only the partitions the group assigns (mode MANUAL only sets start offsets, not the assignment); ' +
      'the only group-less path is Consumer.fetch(), one raw Fetch request to a given node with no offset tracking',
  },
};
export default adapter;
