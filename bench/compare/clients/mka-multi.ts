// mka's multi-cluster layer under the side-by-side benchmark: the same load as the mka adapter, through
// a MultiWriter in Backup mode (every write goes to the primary, spec.bootstrap, while it is healthy;
// the standby, spec.secondBootstrap, is probed but gets nothing) and a MultiReader over both clusters
// (the topic exists on both; the orchestrator fills it on the primary only, so the second cluster's
// Reader joins its group and long-polls an empty topic). Run it beside `mka` (--clients mka,mka-multi):
// the ratio column is then the price of the layer.
import { readFileSync } from 'node:fs';
import { Reader } from '../../../src/client/reader/index.ts';
import type { WriterMessage } from '../../../src/client/writer/index.ts';
import { MultiReader, MultiWriter, RWMode } from '../../../src/multi/index.ts';
import { ConsumeCounter, measureIdle, messageSource, pumpProduce } from '../drivers.ts';
import type { BenchSpec, ClientAdapter, Scenario, Throughput } from '../types.ts';
import { readerConfig, writerConfig } from './mka.ts';

function second(spec: BenchSpec): BenchSpec {
  if (!spec.secondBootstrap) throw new Error('mka-multi needs spec.secondBootstrap (the orchestrator sets it when mka-multi runs)');
  return { ...spec, bootstrap: spec.secondBootstrap };
}

const ONLY = 'the multi-cluster layer is measured on produce and consume-group only';

const adapter: ClientAdapter = {
  name: 'mka-multi',
  version: () => (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version,

  async produce(spec) {
    const w = new MultiWriter(RWMode.Backup, [writerConfig(spec), writerConfig(second(spec))]);
    const msgs = messageSource<WriterMessage>(spec, (key, value) => (key ? { key, value } : { value }));
    await w.writeMessages(...msgs(0, 1)); // connections, metadata
    const t = await pumpProduce(spec, (n, from) => w.writeMessages(...msgs(from, n)));
    const standby = w.stats(1);
    await w.close();
    if (standby.messages) throw new Error(`Backup mode wrote ${standby.messages} messages to the standby`);
    return t;
  },

  async consumeGroup(spec): Promise<Throughput> {
    const r = new MultiReader([readerConfig(spec, true), readerConfig(second(spec), true)], {}, (c) => new Reader(c));
    const counter = new ConsumeCounter(spec);
    counter.start();
    for (;;) {
      const batch = await r.fetchMessage({ timeoutMs: 60_000 });
      let bytes = 0;
      for (const m of batch) bytes += m.value?.length ?? 0;
      if (counter.add(batch.length, bytes)) break;
    }
    const t = await measureIdle(spec, await counter.done);
    await r.close();
    return t;
  },

  why: Object.fromEntries((['produce-txn', 'consume-partition', 'e2e', 'codec', 'metadata'] as Scenario[]).map((s) => [s, ONLY])),
};
export default adapter;
