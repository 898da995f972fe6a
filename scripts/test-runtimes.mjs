#!/usr/bin/env node
// Runs on Deno 2 and Bun 1 (both installed as npm dev dependencies), so that nothing Node-only creeps
// into the library: the runtime smoke test against the local brokers (test/smoke/runtime-smoke.ts),
// then the whole unit suite (broker-free: byte vectors and in-process fake clusters) with each
// runtime's own test runner, which both run node:test suites. Exit code: failures found.
//   node scripts/test-runtimes.mjs [--unit-only]
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);
const smoke = path.join('test', 'smoke', 'runtime-smoke.ts');
const unit = path.join('test', 'unit') + path.sep;
const unitOnly = process.argv.includes('--unit-only');
const runs = [
  ...(unitOnly ? [] : [
    ['deno smoke', [bin('deno'), 'run', '--allow-all', '--quiet', smoke]],
    ['bun smoke', [bin('bun'), 'run', smoke]],
  ]),
  // --no-check: tsc type-checks the project already; Deno's checker would differ on Node typings.
  ['deno unit suite', [bin('deno'), 'test', '--no-check', '--allow-all', '--quiet', unit]],
  // Bun's runner stops a test after 5 s unless told otherwise; Node's has no default limit.
  ['bun unit suite', [bin('bun'), 'test', '--timeout', '300000', unit]],
];
let failures = 0;
for (const [name, [cmd, ...args]] of runs) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, MKA_RUNTIME: name.split(' ')[0] } });
  const ok = r.status === 0;
  if (!ok) failures++;
  console.log(`${name}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal ?? r.error})`} in ${Date.now() - t0} ms`);
}
process.exitCode = failures ? 1 : 0;
