// Smoke test run on Deno and Bun by scripts/test-runtimes.mjs (and usable on Node): the library's
// runtime seams — TCP, TLS, SCRAM hashing, compression — against the local clusters. Plain script, no
// test runner, so that it depends on nothing a runtime may lack; prints one line per check.
import { readFileSync } from 'node:fs';
import { Client, hasDiagnosticsChannel, subscribeTelemetry, type RequestEvent } from '../../src/index.ts';
import { cluster } from '../helpers/kafka.ts';
import { produceRaw, fetchRaw } from '../helpers/produce.ts';

const runtime = process.env.MKA_RUNTIME ?? 'node';
let passed = 0;
let failed = 0;

async function check(name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  try {
    await fn();
    passed++;
    console.log(`  ${runtime}: ok   ${name} (${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (e) {
    failed++;
    console.log(`  ${runtime}: FAIL ${name}: ${e instanceof Error ? e.stack : e}`);
  }
}

function expect(cond: unknown, what: string): void {
  if (!cond) throw new Error(`expected ${what}`);
}

const A = cluster('a');
const B = cluster('b');

await check('PLAINTEXT: describeCluster on A', async () => {
  const c = new Client({ brokers: A.bootstrap });
  try {
    const d = await c.describeCluster();
    expect(d.clusterId === A.clusterId && d.brokers.length === 3, 'cluster A with 3 brokers');
  } finally {
    await c.close();
  }
});

await check('telemetry: config hooks and diagnostics_channel subscribers see each request', async () => {
  expect(hasDiagnosticsChannel, 'node:diagnostics_channel through process.getBuiltinModule');
  const hooked: RequestEvent[] = [];
  const channeled: RequestEvent[] = [];
  const off = subscribeTelemetry({ onRequest: (e) => channeled.push(e) });
  const c = new Client({ brokers: A.bootstrap, name: `smoke-${runtime}`, telemetry: { onRequest: (e) => hooked.push(e) } });
  try {
    await c.describeCluster();
  } finally {
    off();
    await c.close();
  }
  const api = (es: RequestEvent[]) => es.filter((e) => e.client === `smoke-${runtime}`).map((e) => e.api).join();
  expect(api(hooked).includes('DescribeCluster') && api(hooked) === api(channeled), `the same request events both ways (${api(hooked)} / ${api(channeled)})`);
});

await check('SASL SCRAM-SHA-512 on B', async () => {
  const c = new Client({ brokers: B.sasl!.bootstrap, sasl: { mechanism: 'SCRAM-SHA-512', username: B.sasl!.username, password: B.sasl!.password } });
  try {
    expect((await c.describeCluster()).clusterId === B.clusterId, 'cluster B');
  } finally {
    await c.close();
  }
});

await check('TLS on B, verified against the generated CA', async () => {
  const c = new Client({ brokers: B.ssl!.bootstrap, tls: { ca: readFileSync(B.ssl!.caFile, 'utf8') } });
  try {
    expect((await c.describeCluster()).clusterId === B.clusterId, 'cluster B');
  } finally {
    await c.close();
  }
});

for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
  await check(`produce and fetch back, ${compression}`, async () => {
    const c = new Client({ brokers: A.bootstrap });
    const topic = `smoke-${runtime}-${compression}-${Date.now()}`;
    try {
      await c.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
      const records = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `value-${i}-${'x'.repeat(i)}`, timestamp: Date.now() }));
      const base = await produceRaw(c, topic, 0, records, { compression, skipUnsupported: true });
      if (base === null) return; // zstd compression is not available on this runtime (decompression is)
      const got = await fetchRaw(c, topic, 0, 0n, records.length);
      expect(got.length === records.length, `${records.length} records, got ${got.length}`);
      for (let i = 0; i < records.length; i++) {
        expect(got[i].value === records[i].value && got[i].key === records[i].key && got[i].offset === BigInt(i), `record ${i} intact`);
      }
      await c.deleteTopics([topic]);
    } finally {
      await c.close();
    }
  });
}

console.log(`${runtime}: ${passed} passed, ${failed} failed`);
// Exit by ourselves: nothing may keep the process alive after close().
process.exitCode = failed ? 1 : 0;
