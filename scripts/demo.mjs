#!/usr/bin/env node
// `npm run demo`: the demo on two fake clusters inside the demo's own process (mka/testing: nothing but
// Node needed). `npm run demo -- --real` runs it on the local Kafka brokers instead (Java and Maven; the
// first run fetches the jars), starting them when none is running and stopping what it started.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const real = process.argv.includes('--real');
const run = () => spawnSync(process.execPath, ['--import', 'tsx', path.join('examples', 'demo.ts'), ...(real ? ['--real'] : [])], { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
if (!real) {
  process.exitCode = run();
} else {
  const { down, status, up } = await import('./kafka.mjs');
  let started = false;
  const stop = async () => {
    if (started) await down({ quiet: true });
    started = false;
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop().finally(() => process.exit(130)));
  try {
    if (!(await status()).running) started = await up();
    process.exitCode = run();
  } finally {
    await stop();
  }
}
