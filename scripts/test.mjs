#!/usr/bin/env node
// `npm test`: starts the local clusters when none is running, runs the smoke tests and unit suites on
// Deno and Bun, then every test file with Node's test runner against the clusters and, at the same
// time, the integration suite against fake clusters on Node, Deno and Bun; stops the clusters it
// started, whatever happened.
// The runner's own summary is the last thing printed.
//   node scripts/test.mjs [--unit | --integration] [files...]
import { spawn, spawnSync } from 'node:child_process';
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
  const full = needsKafka && !named.length && !integrationOnly;
  if (full && run(process.execPath, [path.join(ROOT, 'scripts', 'test-runtimes.mjs')]) !== 0) failed = true;
  // The integration suite against fake clusters on Node, Deno and Bun, side by side and beside the run
  // against the brokers below: all of them mostly wait (timeouts, rebalances, linger), so together
  // they take little longer than the longest alone. Their output is printed as each one ends.
  const fakes = full ? spawnAsync(process.execPath, [path.join(ROOT, 'scripts', 'fake-test.mjs'), '--runtime', 'all'], 'inherit') : null;
  const node = await spawnAsync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], 'tee');
  if (node.code !== 0) failed = true;
  if (fakes) {
    const { code } = await fakes;
    if (code !== 0) failed = true;
    // The runner's summary stays the last thing printed.
    process.stdout.write(`\n[test] the Node test runner's summary, again:\n${node.tail}`);
  }
} finally {
  await stop();
}
process.exitCode = failed ? 1 : 0;

/** Runs a command; with 'tee' its stdout is also kept (the last lines, as `tail`). */
function spawnAsync(cmd, args, mode) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: process.env, stdio: mode === 'tee' ? ['inherit', 'pipe', 'inherit'] : 'inherit' });
    let tail = '';
    child.stdout?.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).split('\n').slice(-40).join('\n');
    });
    child.on('close', (code) => resolve({ code: code ?? 1, tail }));
  });
}
