// mka under the side-by-side benchmark: Writer, Reader (partition and group), the record-batch codec.
import { readFileSync } from 'node:fs';
import { Client } from '../../../src/client/client.ts';
import { Reader } from '../../../src/client/reader/index.ts';
import { RoundRobin } from '../../../src/client/writer/balancers.ts';
import { Writer, type WriterConfig, type WriterMessage } from '../../../src/client/writer/index.ts';
import { Metadata } from '../../../src/protocol/messages/index.ts';
import { decodeRecordSet, RecordBatchBuilder } from '../../../src/protocol/records/index.ts';
import { ByteReader } from '../../../src/protocol/wire/byte-reader.ts';
import { ByteWriter } from '../../../src/protocol/wire/byte-writer.ts';
import { benchValue, codecRates, ConsumeCounter, fixedRateE2E, LatencyRecorder, measureIdle, messageSource, msPerCall, pumpProduce, pumpTransactions } from '../drivers.ts';
import type { BenchSpec, ClientAdapter, Throughput } from '../types.ts';

/** The Writer settings of the bench (exported for the mka-multi adapter, which gives each cluster the same). */
export function writerConfig(spec: BenchSpec, extra: Partial<WriterConfig> = {}): WriterConfig {
  // Each client's defaults: only the brokers and the topic. mka's are acks all, idempotence on, linger
  // (batchTimeoutMs) 5 ms, batches of up to 1,000 messages or 1 MiB, no compression, murmur2 of the key
  // (Java's partitioner) and sticky random partitions for null keys, 5 requests in flight per partition.
  if (spec.clientDefaults) return { brokers: spec.bootstrap, topic: spec.topic, ...extra };
  return {
    brokers: spec.bootstrap,
    clientId: 'bench-mka',
    topic: spec.topic,
    requiredAcks: 'all',
    allowAutoTopicCreation: true, // the orchestrator creates topics; this lets the adapter run on its own too
    idempotent: spec.idempotent,
    compression: spec.compression,
    batchTimeoutMs: spec.lingerMs,
    batchBytes: spec.batchBytes,
    batchSize: 1_000_000,
    maxInFlightPerPartition: spec.maxInFlight,
    // Round robin in runs of messages ÷ partitions (at most 1,000), so each partition gets its share in one
    // or two batches: one message per partition per request made filling 1,000 partitions crawl (1,650 msg/s).
    ...(spec.balance === 'round-robin' ? { balancer: new RoundRobin(Math.max(1, Math.min(1000, Math.floor(spec.messages / spec.partitions)))) } : {}),
    ...extra,
  };
}

function writer(spec: BenchSpec, extra: Partial<WriterConfig> = {}): Writer {
  return new Writer(writerConfig(spec, extra));
}

/** The Reader settings of the bench (exported for the mka-multi adapter). */
export function readerConfig(spec: BenchSpec, group: boolean) {
  const fetch = { minBytes: spec.fetchMinBytes, maxWaitMs: spec.fetchMaxWaitMs, maxBytes: spec.fetchMaxBytes, partitionMaxBytes: spec.partitionMaxBytes };
  return group
    ? { brokers: spec.bootstrap, clientId: 'bench-mka', topic: spec.topic, groupId: spec.groupId, commitIntervalMs: 5000, ...fetch }
    : { brokers: spec.bootstrap, clientId: 'bench-mka', topic: spec.topic, partition: 0, ...fetch };
}

function reader(spec: BenchSpec, group: boolean): Reader {
  return new Reader(readerConfig(spec, group));
}

async function consume(spec: BenchSpec, group: boolean): Promise<Throughput> {
  const r = reader(spec, group);
  const counter = new ConsumeCounter(spec);
  counter.start();
  for (;;) {
    const m = await r.fetchMessage({ timeoutMs: 60_000 });
    if (counter.add(1, m.value?.length ?? 0)) break;
  }
  const t = await measureIdle(spec, await counter.done);
  await r.close();
  return t;
}

const adapter: ClientAdapter = {
  name: 'mka',
  // The orchestrator runs children from the repository root, compiled into .bench-build/.
  version: () => (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version,

  async produce(spec) {
    const w = writer(spec);
    const msgs = messageSource<WriterMessage>(spec, (key, value) => (key ? { key, value } : { value }));
    await w.writeMessages(...msgs(0, 1)); // connections, metadata
    const t = await pumpProduce(spec, (n, from) => w.writeMessages(...msgs(from, n)));
    await w.close();
    return t;
  },

  async produceTxn(spec) {
    const w = writer(spec, { transactionalId: `bench-mka-${spec.topic}`, idempotent: true });
    const value = benchValue(spec);
    const msgs: WriterMessage[] = Array.from({ length: spec.txnMessages }, () => ({ value }));
    await w.transaction((tx) => tx.writeMessages({ value })); // producer id, connections, metadata
    const t = await pumpTransactions(spec, (n) => w.transaction((tx) => tx.writeMessages(...(n === msgs.length ? msgs : msgs.slice(0, n)))));
    await w.close();
    return t;
  },

  consumePartition: (spec) => consume(spec, false),
  consumeGroup: (spec) => consume(spec, true),

  async e2e(spec) {
    const rec = new LatencyRecorder();
    const w = writer(spec);
    // The topic exists (the orchestrator creates it; a warm-up write creates it when run alone) before the group joins.
    await w.writeMessages({ value: Buffer.alloc(0) });
    const r = reader({ ...spec, fetchMinBytes: 1 }, true);
    let open = true;
    let seen = false;
    const loop = (async () => {
      while (open) {
        const m = await r.fetchMessage({ timeoutMs: 1000 }).catch(() => null);
        if (m) {
          seen = true;
          rec.record(m.value);
        }
      }
    })();
    // Joined and fetching before the clock starts: the warm-up message must come through first.
    while (!seen) await new Promise((res) => setTimeout(res, 10));
    const res = await fixedRateE2E(spec, rec, (values) => w.writeMessages(...values.map((value) => ({ value }))));
    open = false;
    await loop;
    await Promise.all([w.close(), r.close()]);
    return res;
  },

  async metadata(spec) {
    const c = new Client({ brokers: spec.bootstrap, clientId: 'bench-mka' });
    const topics = [spec.topic];
    const callMs = await msPerCall(spec.codecMs, () => c.metadata({ topics }));
    // The codec alone: the broker's answer, re-encoded at the version asked, decoded in a loop.
    const version = 12;
    const res = await c.request(Metadata, { topics: [{ name: spec.topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, { version });
    await c.close();
    const w = new ByteWriter(1024);
    Metadata.encodeResponse(w, version, res);
    const bytes = w.finish().slice();
    const n = res.topics[0]?.partitions.length ?? 0;
    if (n !== spec.partitions) throw new Error(`metadata: ${n} partitions, want ${spec.partitions}`);
    const decodeMs = await msPerCall(spec.codecMs, () => Metadata.decodeResponse(new ByteReader(bytes), version));
    return { callMs, decodeMs, responseBytes: bytes.length };
  },

  async codec(spec) {
    const value = benchValue(spec);
    const t0 = Date.now();
    const encode = () => {
      const b = new RecordBatchBuilder({ compression: 0 }, spec.codecRecords * (spec.valueBytes + 32));
      for (let i = 0; i < spec.codecRecords; i++) b.append(t0 + i, null, value);
      return b.build();
    };
    const bytes = await encode();
    return codecRates(spec, encode, () => decodeRecordSet(bytes));
  },
};
export default adapter;
