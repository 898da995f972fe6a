#!/usr/bin/env node
// Runs a command with the local clusters up: starts them when none is running and stops them
// afterwards if it started them (pass --keep to leave them running for the next command).
//   node scripts/with-kafka.mjs [--keep] <command> [args...]
import { spawnSync } from 'node:child_process';
import { down, status, up } from './kafka.mjs';

const argv = process.argv.slice(2);
const keep = argv[0] === '--keep';
const [cmd, ...args] = keep ? argv.slice(1) : argv;
let started = false;
const stop = async () => {
  if (started && !keep) await down();
  started = false;
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => stop().finally(() => process.exit(130)));
try {
  if (!(await status()).running) started = await up();
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  process.exitCode = r.status ?? 1;
} finally {
  await stop();
}
