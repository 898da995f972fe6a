// mka under the side-by-side benchmark: Writer, Reader (partition and group), the record-batch codec.
import { readFileSync } from 'node:fs';
import { Reader } from '../../../src/client/reader/index.ts';
import { Writer, type WriterConfig, type WriterMessage } from '../../../src/client/writer/index.ts';
import { decodeRecordSet, RecordBatchBuilder } from '../../../src/protocol/records/index.ts';
import { benchValue, codecRates, ConsumeCounter, fixedRateE2E, LatencyRecorder, pumpProduce, pumpTransactions } from '../drivers.ts';
import type { BenchSpec, ClientAdapter, Throughput } from '../types.ts';

function writer(spec: BenchSpec, extra: Partial<WriterConfig> = {}): Writer {
  return new Writer({
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
    ...extra,
  });
}

function reader(spec: BenchSpec, group: boolean): Reader {
  const fetch = { minBytes: spec.fetchMinBytes, maxWaitMs: spec.fetchMaxWaitMs, maxBytes: spec.fetchMaxBytes, partitionMaxBytes: spec.partitionMaxBytes };
  return group
    ? new Reader({ brokers: spec.bootstrap, clientId: 'bench-mka', topic: spec.topic, groupId: spec.groupId, commitIntervalMs: 5000, ...fetch })
    : new Reader({ brokers: spec.bootstrap, clientId: 'bench-mka', topic: spec.topic, partition: 0, ...fetch });
}

async function consume(spec: BenchSpec, group: boolean): Promise<Throughput> {
  const r = reader(spec, group);
  const counter = new ConsumeCounter(spec);
  counter.start();
  for (;;) {
    const m = await r.fetchMessage({ timeoutMs: 60_000 });
    if (counter.add(1, m.value?.length ?? 0)) break;
  }
  const t = await counter.done;
  await r.close();
  return t;
}

const adapter: ClientAdapter = {
  name: 'mka',
  // The orchestrator runs children from the repository root, compiled into .bench-build/.
  version: () => (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version,

  async produce(spec) {
    const w = writer(spec);
    const value = benchValue(spec);
    const msgs: WriterMessage[] = Array.from({ length: spec.chunk }, () => ({ value }));
    await w.writeMessages({ value }); // connections, metadata
    const t = await pumpProduce(spec, (n) => w.writeMessages(...(n === msgs.length ? msgs : msgs.slice(0, n))));
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
