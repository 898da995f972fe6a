// @confluentinc/kafka-javascript (librdkafka) under the side-by-side benchmark. It is a native addon
// built by bench/peers/install.sh into bench/peers/node_modules, outside the project's dependencies,
// so it is loaded at run time and only the parts used here are typed.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConsumeCounter, fixedRateE2E, LatencyRecorder, measureIdle, messageSource, msPerCall, pumpProduce } from '../drivers.ts';
import type { BenchSpec, ClientAdapter, Scenario, Throughput } from '../types.ts';

const PKG = '@confluentinc/kafka-javascript';

/** librdkafka configuration properties, passed through unchanged. */
type RdConfig = Record<string, string | number | boolean>;

interface KjsMessage {
  value: Buffer | null;
}
interface KjsProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: { key?: Buffer; value: Buffer }[] }): Promise<unknown>;
}
interface KjsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  fetchTopicMetadata(options: { topics: string[] }): Promise<{ name: string; partitions: unknown[] }[]>;
}
interface KjsConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(s: { topics: string[] }): Promise<void>;
  run(config: { eachBatch: (payload: { batch: { messages: KjsMessage[] } }) => Promise<void> }): Promise<void>;
}
interface KjsKafka {
  producer(config: RdConfig): KjsProducer;
  consumer(config: RdConfig): KjsConsumer;
  admin(config: RdConfig): KjsAdmin;
}
interface RdMessage {
  value: Buffer | null;
}
/** node-rdkafka-style consumer: assign() reads partitions without joining the group. */
interface RdKafkaConsumer {
  connect(options: object, cb: (err: Error | null) => void): void;
  disconnect(cb: (err: Error | null) => void): void;
  assign(assignments: { topic: string; partition: number; offset: number }[]): void;
  setDefaultConsumeTimeout(ms: number): void;
  setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void;
  consume(max: number, cb: (err: Error | null, messages: RdMessage[]) => void): void;
}
interface Lib {
  librdkafkaVersion: string;
  KafkaJS: { Kafka: new (config: RdConfig) => KjsKafka };
  KafkaConsumer: new (config: RdConfig, topicConfig: RdConfig) => RdKafkaConsumer;
}

// Resolve from bench/peers so that the project (and its typecheck) never needs the package. Children run
// from the repository root, compiled into .bench-build/, so the path is taken from the working directory.
const peerRequire = createRequire(join(process.cwd(), 'bench', 'peers', 'package.json'));
let lib: Lib | undefined;
let loadError = '';
try {
  lib = peerRequire(PKG) as Lib;
} catch (e) {
  const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  loadError = `${PKG} is not built in bench/peers (run bench/peers/install.sh): ${first}`;
}

const NO_CODEC =
  'the record-batch encoder/decoder is C code inside librdkafka with no JavaScript entry point; it runs only inside produce/fetch on librdkafka threads';

/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2;

function common(spec: BenchSpec): RdConfig {
  return { 'bootstrap.servers': spec.bootstrap.join(','), 'client.id': 'bench-confluent', log_level: 3 };
}

function producerConfig(spec: BenchSpec): RdConfig {
  // Its defaults (spec.clientDefaults; no kafkaJS block, so librdkafka's own): acks all, idempotence
  // off, linger 5 ms, batches up to 1,000,000 B or 10,000 messages, no compression, up to 1,000,000
  // requests in flight, partitioner consistent_random (CRC32 of the key; random for null keys).
  if (spec.clientDefaults) return { 'bootstrap.servers': spec.bootstrap.join(','), log_level: 3 };
  return {
    ...common(spec),
    acks: spec.acks,
    'enable.idempotence': spec.idempotent,
    'linger.ms': spec.lingerMs,
    'batch.size': spec.batchBytes,
    // A batch is also capped by message.max.bytes (default 1000000) and batch.num.messages (default
    // 10000); raised so that, as for mka, only batch.size bounds it.
    'message.max.bytes': Math.max(1_000_000, spec.batchBytes),
    'batch.num.messages': 1_000_000,
    // The local queue must hold everything the pump keeps outstanding, or produce() fails with QUEUE_FULL.
    'queue.buffering.max.messages': Math.max(100_000, 2 * spec.chunk * spec.window),
    'max.in.flight.requests.per.connection': spec.maxInFlight,
    'compression.type': spec.compression,
  };
}

function fetchConfig(spec: BenchSpec): RdConfig {
  return {
    ...common(spec),
    'fetch.min.bytes': spec.fetchMinBytes,
    'fetch.wait.max.ms': spec.fetchMaxWaitMs,
    'fetch.max.bytes': spec.fetchMaxBytes,
    'max.partition.fetch.bytes': spec.partitionMaxBytes,
    // librdkafka requires room for a whole fetch response plus framing.
    'receive.message.max.bytes': Math.max(100_000_000, spec.fetchMaxBytes + 512),
    'auto.offset.reset': 'earliest',
  };
}

function groupConsumer(l: Lib, spec: BenchSpec): KjsConsumer {
  // No kafkaJS block: librdkafka properties are taken as given instead of KafkaJS-compatible defaults.
  return new l.KafkaJS.Kafka({}).consumer({
    ...fetchConfig(spec),
    'group.id': spec.groupId,
    'enable.auto.commit': true,
    'auto.commit.interval.ms': 5000,
  });
}

function valueBytes(messages: { value: Buffer | null }[]): number {
  let bytes = 0;
  for (const m of messages) bytes += m.value?.length ?? 0;
  return bytes;
}

function rdCall(fn: (cb: (err: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

function build(l: Lib): ClientAdapter {
  return {
    name: 'confluent',
    version: () => `${(peerRequire(`${PKG}/package.json`) as { version: string }).version} (librdkafka ${l.librdkafkaVersion})`,

    async produce(spec) {
      const p = new l.KafkaJS.Kafka({}).producer(producerConfig(spec));
      await p.connect();
      // send() rewrites fields of the message objects it is given, so every call gets its own (no reuse).
      const msgs = messageSource(spec, (key, value) => (key ? { key, value } : { value }), false);
      await p.send({ topic: spec.topic, messages: msgs(0, 1) }); // connections, metadata
      const t = await pumpProduce(spec, (n, from) => p.send({ topic: spec.topic, messages: msgs(from, n) }));
      await p.disconnect();
      return t;
    },

    async consumePartition(spec) {
      // librdkafka's consumer refuses to start without group.id, but with assign() and no subscribe()
      // it never joins the group; commits are off so the group is not touched at all.
      const c = new l.KafkaConsumer({ ...fetchConfig(spec), 'group.id': spec.groupId, 'enable.auto.commit': false }, {});
      const counter = new ConsumeCounter(spec);
      counter.start();
      await rdCall((cb) => c.connect({}, cb));
      c.assign([{ topic: spec.topic, partition: 0, offset: OFFSET_BEGINNING }]);
      // Wait up to 1 s for the first message of a call, then take only what is already queued.
      c.setDefaultConsumeTimeout(1000);
      c.setDefaultIsTimeoutOnlyForFirstMessage(true);
      let lastProgress = performance.now();
      let done = false;
      while (!done) {
        const batch = await new Promise<RdMessage[]>((resolve, reject) => c.consume(1000, (err, ms) => (err ? reject(err) : resolve(ms))));
        if (batch.length) {
          done = counter.add(batch.length, valueBytes(batch));
          lastProgress = performance.now();
        } else if (performance.now() - lastProgress > 60_000) {
          throw new Error('consume-partition: no message for 60 s');
        }
      }
      const t = await counter.done;
      await rdCall((cb) => c.disconnect(cb));
      return t;
    },

    async consumeGroup(spec) {
      const c = groupConsumer(l, spec);
      const counter = new ConsumeCounter(spec);
      counter.start();
      await c.connect();
      await c.subscribe({ topics: [spec.topic] });
      await c.run({
        eachBatch: async ({ batch }) => {
          counter.add(batch.messages.length, valueBytes(batch.messages));
        },
      });
      const t = await Promise.race([
        counter.done.then((d) => measureIdle(spec, d)),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('consume-group: timed out after 120 s')), 120_000).unref()),
      ]);
      await c.disconnect();
      return t;
    },

    async metadata(spec) {
      const admin = new l.KafkaJS.Kafka({}).admin(common(spec));
      await admin.connect();
      const topics = [spec.topic];
      const callMs = await msPerCall(spec.codecMs, () => admin.fetchTopicMetadata({ topics }));
      const m = await admin.fetchTopicMetadata({ topics });
      await admin.disconnect();
      const n = m[0]?.partitions.length ?? 0;
      if (n !== spec.partitions) throw new Error(`metadata: ${n} partitions, want ${spec.partitions}`);
      // The response is decoded by librdkafka in C; only the call is timed.
      return { callMs };
    },

    async e2e(spec) {
      const rec = new LatencyRecorder();
      const p = new l.KafkaJS.Kafka({}).producer(producerConfig(spec));
      await p.connect();
      // Creates the topic (auto-creation) before the consumer subscribes to it.
      await p.send({ topic: spec.topic, messages: [{ value: Buffer.alloc(0) }] });
      const c = groupConsumer(l, { ...spec, fetchMinBytes: 1 });
      let seen!: () => void;
      const firstSeen = new Promise<void>((r) => (seen = r));
      await c.connect();
      await c.subscribe({ topics: [spec.topic] });
      await c.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) rec.record(m.value);
          seen();
        },
      });
      // Joined and fetching before the clock starts: the warm-up message has come back.
      await firstSeen;
      const res = await fixedRateE2E(spec, rec, (values) => p.send({ topic: spec.topic, messages: values.map((value) => ({ value })) }));
      await Promise.all([p.disconnect(), c.disconnect()]);
      return res;
    },

    why: { codec: NO_CODEC, 'produce-txn': 'not wired into this bench yet (librdkafka transactions need their own producer configuration)' },
  };
}

function missing(reason: string): ClientAdapter {
  const scenarios: Scenario[] = ['produce', 'produce-txn', 'consume-partition', 'consume-group', 'e2e', 'metadata'];
  return { name: 'confluent', version: () => 'not built', why: { ...Object.fromEntries(scenarios.map((s) => [s, reason])), codec: NO_CODEC } };
}

const adapter: ClientAdapter = lib ? build(lib) : missing(loadError);
export default adapter;
