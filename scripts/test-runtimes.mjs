#!/usr/bin/env node
// Runs the runtime smoke test (test/smoke/runtime-smoke.ts) on Deno 2 and Bun 1, both installed as npm
// dev dependencies, so that nothing Node-only creeps into the library. Exit code: failures found.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);
const smoke = path.join('test', 'smoke', 'runtime-smoke.ts');
const runtimes = [
  ['deno', [bin('deno'), 'run', '--allow-all', '--quiet', smoke]],
  ['bun', [bin('bun'), 'run', smoke]],
];
let failures = 0;
for (const [name, [cmd, ...args]] of runtimes) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, MKA_RUNTIME: name } });
  const ok = r.status === 0;
  if (!ok) failures++;
  console.log(`runtime smoke on ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal ?? r.error})`} in ${Date.now() - t0} ms`);
}
process.exitCode = failures ? 1 : 0;
