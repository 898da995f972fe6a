// The exactly-once kill test: a consume-transform-produce child process (test/helpers/txn-worker.ts)
// copies `in` (6 partitions) to `out` in transactions with its input offsets, and is SIGKILLed at
// random points three times and restarted. A read_committed reader of `out` must then see every input
// exactly once, in order per partition. MKA_TXN_KILL_COUNT messages (default 10,000; `npm run
// soak:txn` runs 100,000).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { Writer } from '../../src/client/writer/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { readUntilIdle } from '../helpers/read-until-idle.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const COUNT = Number(process.env.MKA_TXN_KILL_COUNT ?? 10_000);
const PARTITIONS = 6;
const brokers = () => cluster('a').bootstrap;

/** Starts the worker; `events` gets each line it prints. */
function startWorker(env: Record<string, string>, onLine: (line: string) => void): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/helpers/txn-worker.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[txn-worker] ${d}`));
  return child;
}

describe('exactly-once consume-transform-produce under SIGKILL (cluster A)', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it(`copies ${COUNT} messages exactly once, in order per partition, across three SIGKILLs`, { timeout: 600_000 }, async () => {
    const client = new Client({ brokers: brokers() });
    const input = uniqueTopic('eos-in');
    const output = uniqueTopic('eos-out');
    await client.createTopics([
      { topic: input, numPartitions: PARTITIONS, replicationFactor: 3 },
      { topic: output, numPartitions: PARTITIONS, replicationFactor: 3 },
    ]);
    // Keys spread over the partitions; the same key lands in the same partition number of `out`.
    const w = new Writer({ brokers: brokers(), topic: input, batchSize: 2_000 });
    const keys = 600;
    for (let from = 0; from < COUNT; from += 5_000) {
      const n = Math.min(5_000, COUNT - from);
      await w.writeMessages(...Array.from({ length: n }, (_, i) => ({ key: `key-${(from + i) % keys}`, value: String(from + i) })));
    }
    await w.close();

    const env = { BROKERS: brokers().join(','), IN: input, OUT: output, GROUP: uniqueTopic('eos-group'), TXN_ID: uniqueTopic('eos-tid') };
    let committed = 0;
    const runUntil = (stop: 'kill' | 'idle') =>
      new Promise<void>((resolve, reject) => {
        let killAt = 0;
        const child = startWorker(env, (line) => {
          if (line.startsWith('commit ')) {
            committed = Number(line.slice(7));
            // Kill after a random number of commits (1-4), at a random moment within the next transaction.
            if (stop === 'kill' && killAt === 0) killAt = 1 + Math.floor(Math.random() * 4);
            if (stop === 'kill' && --killAt === 0) setTimeout(() => child.kill('SIGKILL'), Math.random() * 150);
          }
          if (line === 'idle' && stop === 'idle') child.kill('SIGTERM');
          // All input was copied before this run's kill came (a fast worker commits several batches in
          // the kill's delay): it is killed idle, or it would wait for a commit that never comes.
          if (line === 'idle' && stop === 'kill') child.kill('SIGKILL');
        });
        children.push(child);
        child.on('exit', (code, signal) => {
          if (signal === 'SIGKILL' || signal === 'SIGTERM') resolve();
          else if (stop === 'kill') resolve(); // a worker that failed (its transaction aborted) is restarted like a killed one
          else reject(new Error(`worker exited with ${code}`));
        });
      });
    const t0 = performance.now();
    for (let k = 0; k < 3; k++) await runUntil('kill');
    await runUntil('idle');
    const elapsed = performance.now() - t0;

    // Every partition of `out` holds exactly its input partition's values, in the same order.
    for (let p = 0; p < PARTITIONS; p++) {
      const read = (topic: string, isolationLevel: 'read_committed' | 'read_uncommitted') =>
        readUntilIdle({ brokers: brokers(), topic, partition: p, isolationLevel, idleMs: 2_000 });
      const want = await read(input, 'read_uncommitted');
      const got = await read(output, 'read_committed');
      assert.equal(got.length, want.length, `partition ${p}: ${got.length} outputs for ${want.length} inputs`);
      assert.deepEqual(got, want, `partition ${p}: same values, same order`);
    }
    await client.close();
    process.stderr.write(`[eos] ${COUNT} messages, 3 kills, ${(elapsed / 1000).toFixed(1)} s\n`);
  });
});
