#!/usr/bin/env node
// `npm run test:compat`: the integration suite against the oldest broker line we support (Kafka 4.0.0 by
// default; COMPAT_KAFKA_VERSION picks another). Its clusters get their own state folder and ports, so
// they never meet the clusters of `npm test` or the demo; they are started and stopped by test.mjs.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const version = process.env.COMPAT_KAFKA_VERSION || '4.0.0';
const env = {
  ...process.env,
  KAFKA_VERSION: version,
  MKA_KAFKA_STATE: path.join(ROOT, '.kafka-compat'),
  MKA_KAFKA_PORT_OFFSET: process.env.MKA_KAFKA_PORT_OFFSET || '5000',
};
console.error(`[test:compat] integration suite against Apache Kafka ${version}`);
const t0 = Date.now();
const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'test.mjs'), '--integration', ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit', env });
console.error(`[test:compat] Kafka ${version}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exitCode = r.status ?? 1;
