// Access to the local clusters started by scripts/kafka.mjs. A test that needs a broker calls
// `cluster('a')`: when no cluster is running this throws, so the test fails loudly instead of skipping.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** MKA_KAFKA_FAKE=1: the clusters are mka/testing fakes run by scripts/fake-kafka.mjs (same commands, same file). */
export const FAKE = process.env.MKA_KAFKA_FAKE === '1';
const HARNESS = join(ROOT, 'scripts', FAKE ? 'fake-kafka.mjs' : 'kafka.mjs');
const STATE_DIR = resolve(process.env.MKA_KAFKA_STATE ?? join(ROOT, FAKE ? '.kafka-fake' : '.kafka'));
const run = promisify(execFile);

export type ClusterName = 'a' | 'b';

export interface LocalCluster {
  clusterId: string;
  bootstrap: string[];
  nodes: { id: number; port: number }[];
  sasl?: { bootstrap: string[]; username: string; password: string };
  ssl?: { bootstrap: string[]; caFile: string };
}

/** clusters.json of the running clusters; a clear error when none is running. */
function clustersFile(): { kafkaVersion?: string; clusters: Record<string, LocalCluster> } {
  try {
    return JSON.parse(readFileSync(join(STATE_DIR, 'clusters.json'), 'utf8'));
  } catch (e) {
    throw new Error(
      `no local Kafka cluster is running (${join(STATE_DIR, 'clusters.json')} is missing): ` +
        'run the tests with `npm test`, or start the clusters with `npm run kafka:up`',
      { cause: e },
    );
  }
}

/** The Kafka version of the running clusters; undefined for the fakes. */
export function kafkaVersion(): string | undefined {
  return clustersFile().kafkaVersion;
}

export function cluster(name: ClusterName): LocalCluster {
  const c = clustersFile().clusters[name];
  if (!c) throw new Error(`cluster ${name} is not in clusters.json`);
  return c;
}

async function harness(...args: string[]): Promise<void> {
  await run(process.execPath, [HARNESS, ...args], { cwd: ROOT });
}

export const stopBroker = (c: ClusterName, id: number, opts: { kill?: boolean } = {}) =>
  harness('stop-broker', c, String(id), ...(opts.kill ? ['--kill'] : []));
export const startBroker = (c: ClusterName, id: number) => harness('start-broker', c, String(id));
export const stopCluster = (c: ClusterName, opts: { kill?: boolean } = {}) =>
  harness('stop-cluster', c, ...(opts.kill ? ['--kill'] : []));
export const startCluster = (c: ClusterName) => harness('start-cluster', c);

// SIGSTOP/SIGCONT through the harness. Whatever a test does, the process thaws every node on exit, so
// a failed assertion between freeze and thaw never leaves a cluster stopped for the tests after it.
let thawOnExit = false;
function armThaw(): void {
  if (thawOnExit) return;
  thawOnExit = true;
  process.on('exit', () => {
    spawnSync(process.execPath, [HARNESS, 'thaw-all'], { cwd: ROOT, stdio: 'ignore' });
  });
}
export const freezeBroker = (c: ClusterName, id: number) => (armThaw(), harness('freeze-broker', c, String(id)));
export const thawBroker = (c: ClusterName, id: number) => harness('thaw-broker', c, String(id));
export const freezeCluster = (c: ClusterName) => (armThaw(), harness('freeze-cluster', c));
export const thawCluster = (c: ClusterName) => harness('thaw-cluster', c);

/** A topic name no other test uses. */
export function uniqueTopic(prefix = 't'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
