// One client, one scenario, one process: node --import tsx bench/compare/child.ts <client> <scenario> <spec-json>
// Prints `RESULT <ChildReport json>` as its last stdout line. Peak RSS comes from the kernel's
// high-water mark of this process (resourceUsage().maxRSS), so it covers the whole run.
import type { BenchSpec, ChildReport, ClientAdapter, Scenario, ScenarioResult } from './types.ts';

const [client, scenario, specJson] = process.argv.slice(2) as [string, Scenario, string];
const spec = JSON.parse(specJson) as BenchSpec;
// Run compiled (.js, by the orchestrator) or from source (.ts, by hand with tsx).
const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const adapter = ((await import(`./clients/${client}.${ext}`)) as { default: ClientAdapter }).default;

async function run(): Promise<ScenarioResult> {
  const no = (what: string): ScenarioResult => ({ kind: 'unsupported', reason: adapter.why?.[scenario] ?? `${adapter.name} has no ${what}` });
  switch (scenario) {
    case 'produce':
      return adapter.produce ? { kind: 'throughput', value: await adapter.produce(spec) } : no('producer');
    case 'produce-txn':
      return adapter.produceTxn ? { kind: 'throughput', value: await adapter.produceTxn(spec) } : no('transactional producer');
    case 'consume-partition':
      return adapter.consumePartition ? { kind: 'throughput', value: await adapter.consumePartition(spec) } : no('partition reader');
    case 'consume-group':
      return adapter.consumeGroup ? { kind: 'throughput', value: await adapter.consumeGroup(spec) } : no('group consumer');
    case 'e2e':
      return adapter.e2e ? { kind: 'latency', value: await adapter.e2e(spec) } : no('e2e path');
    case 'codec':
      return adapter.codec ? { kind: 'codec', value: await adapter.codec(spec) } : no('accessible record-batch codec');
    case 'metadata':
      return adapter.metadata ? { kind: 'metadata', value: await adapter.metadata(spec) } : no('metadata call');
  }
}

const result = await run();
const report: ChildReport = { client, version: adapter.version(), scenario, result, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
process.stdout.write(`\nRESULT ${JSON.stringify(report)}\n`);
// Some clients keep timers alive after disconnect; the measurement is complete.
process.exit(0);
