#!/usr/bin/env node
// `npm run test:fake`: the integration suite against mka/testing fake clusters instead of Kafka.
// Starts the fakes (scripts/fake-kafka.mjs) when none run, runs the named test files (default: every
// integration test and test/fake) with MKA_KAFKA_FAKE=1, and stops the fakes it started, whatever happened.
// --runtime deno|bun runs them with that runtime's own test runner instead of Node's (both run
// node:test suites; the fakes themselves stay Node processes, as a user's broker would be elsewhere).
// --runtime all runs the three at once, each on its own fake clusters (state .kafka-fake-<runtime>,
// ports shifted by 0, 1000 and 2000): the suite mostly waits (timeouts, rebalances, linger), so three
// runs side by side take little longer than one. Each run's output goes to .kafka-fake-<runtime>.log
// and is printed when that run ends.
//   node scripts/fake-test.mjs [--runtime node|deno|bun|all] [files...]
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNTIMES = ['node', 'deno', 'bun'];

const argv = process.argv.slice(2);
const rt = argv.indexOf('--runtime');
const runtime = rt >= 0 ? argv.splice(rt, 2)[1] : 'node';
if (![...RUNTIMES, 'all'].includes(runtime)) throw new Error(`--runtime takes node, deno, bun or all, not ${runtime}`);
if (runtime === 'all') {
  process.exitCode = await runAll(argv);
  process.exit();
}

/** The three runtimes side by side; 0 when all passed. */
async function runAll(args) {
  const base = Number(process.env.MKA_KAFKA_PORT_OFFSET || 0);
  const t0 = Date.now();
  const codes = await Promise.all(
    RUNTIMES.map((name, i) => {
      const state = path.join(ROOT, `.kafka-fake-${name}`);
      // Beside the state directory, not in it: stopping the fakes removes that directory.
      const logFile = path.join(ROOT, `.kafka-fake-${name}.log`);
      const log = fs.openSync(logFile, 'w');
      const env = { ...process.env, MKA_KAFKA_STATE: state, MKA_KAFKA_PORT_OFFSET: String(base + 1000 * i) };
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--runtime', name, ...args], { cwd: ROOT, env, stdio: ['ignore', log, log] });
      for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => child.kill(sig));
      return new Promise((resolve) => {
        child.on('close', (code) => {
          fs.closeSync(log);
          const text = fs.readFileSync(logFile, 'utf8');
          console.log(`\n======== fake clusters, ${name} (${logFile}) ========`);
          // A passing run prints its runner's summary; a failing one everything, so the failure is in the CI log.
          console.log(code === 0 ? text.split('\n').slice(-15).join('\n') : text);
          resolve(code ?? 1);
        });
      });
    }),
  );
  const summary = RUNTIMES.map((name, i) => `${name} ${codes[i] === 0 ? 'passed' : `FAILED (exit ${codes[i]})`}`).join(', ');
  console.log(`[test:fake] side by side in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${summary}`);
  return codes.every((c) => c === 0) ? 0 : 1;
}

process.env.MKA_KAFKA_FAKE = '1';
process.env.MKA_KAFKA_STATE ||= path.join(ROOT, '.kafka-fake');
const { down, status, up } = await import('./fake-kafka.mjs');
const named = argv.filter((a) => !a.startsWith('--'));
const testFiles = (dir) =>
  fs
    .readdirSync(path.join(ROOT, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(dir, f));
// The integration suite, and the tests of the fake harness itself (test/fake).
const files = named.length
  ? named
  : [...testFiles(path.join('test', 'integration')), ...testFiles(path.join('test', 'fake'))]
      // As scripts/test.mjs: tests that stop brokers run last.
      .sort((a, b) => Number(a.includes('failover')) - Number(b.includes('failover')) || a.localeCompare(b));

let started = false;
const stop = async () => {
  if (started) {
    started = false;
    await down({ quiet: true }).catch((e) => console.error('[test:fake] could not stop the fakes:', e));
  }
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop().finally(() => process.exit(130)));

let code = 1;
try {
  if (!(await status()).running) started = await up();
  const t0 = Date.now();
  const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);
  const command = {
    node: [process.execPath, '--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
    // Deno and Bun run one file at a time by default, as Node's runner is told to here.
    deno: [bin('deno'), 'test', '--no-check', '--allow-all', '--quiet', ...files],
    bun: [bin('bun'), 'test', '--timeout', '600000', ...files],
  }[runtime];
  code = spawnSync(command[0], command.slice(1), { cwd: ROOT, stdio: 'inherit', env: { ...process.env, MKA_RUNTIME: runtime } }).status ?? 1;
  console.error(`[test:fake] ${files.length} files on ${runtime} in ${((Date.now() - t0) / 1000).toFixed(1)} s against fake clusters`);
} finally {
  await stop();
}
process.exitCode = code;
