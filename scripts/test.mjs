#!/usr/bin/env node
// `npm test`: starts the local clusters when none is running, runs the smoke tests and unit suites on
// Deno and Bun, the integration suite against fake clusters on Node, Deno and Bun (side by side), then
// every test file with Node's test runner against the clusters, and stops the clusters it started,
// whatever happened.
// The runner's own summary is the last thing printed.
//   node scripts/test.mjs [--unit | --integration] [files...]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { down, status, up } from './kafka.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const unitOnly = argv.includes('--unit');
const integrationOnly = argv.includes('--integration');
const named = argv.filter((a) => !a.startsWith('--'));

function testFiles(dir) {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(dir, f))
    // Tests that stop brokers run after the others, so a slow restart cannot disturb them.
    .sort((a, b) => Number(a.includes('failover')) - Number(b.includes('failover')) || a.localeCompare(b));
}

const files = named.length
  ? named
  : [...(integrationOnly ? [] : testFiles('test/unit')), ...(unitOnly ? [] : testFiles('test/integration'))];
const needsKafka = files.some((f) => f.includes('integration'));

let started = false;
let failed = false;
const stop = async () => {
  if (started) {
    started = false;
    await down({ quiet: true }).catch((e) => console.error('[test] could not stop clusters:', e));
  }
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop().finally(() => process.exit(130)));

try {
  if (needsKafka && !(await status()).running) {
    try {
      started = await up();
    } catch (e) {
      // Integration tests then fail loudly, each naming the missing cluster; unit tests still run.
      console.error('[test] could not start the local Kafka clusters:', e instanceof Error ? e.message : e);
    }
  }
  const run = (cmd, args) => spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env }).status ?? 1;
  if (needsKafka && !named.length && !integrationOnly) {
    if (run(process.execPath, [path.join(ROOT, 'scripts', 'test-runtimes.mjs')]) !== 0) failed = true;
    // The integration suite against fake clusters, on Node, Deno and Bun side by side.
    if (run(process.execPath, [path.join(ROOT, 'scripts', 'fake-test.mjs'), '--runtime', 'all']) !== 0) failed = true;
  }
  const code = run(process.execPath, [
    '--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files,
  ]);
  if (code !== 0) failed = true;
} finally {
  await stop();
}
process.exitCode = failed ? 1 : 0;
