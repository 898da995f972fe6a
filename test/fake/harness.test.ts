// scripts/fake-kafka.mjs on its own state directory and ports: the same clusters.json shape as the
// real harness; a cluster killed with SIGKILL and started again still has every acknowledged message
// and committed offset; a SIGSTOPped cluster answers nothing until SIGCONT; one broker stops and starts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Reader, Writer } from '../../src/index.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const STATE = mkdtempSync(join(tmpdir(), 'mka-fake-harness-'));
// 100 above whatever offset this run uses, so the suite's own fakes on that offset are not disturbed.
const OFFSET = String(Number(process.env.MKA_KAFKA_PORT_OFFSET ?? 0) + 100);
const env = { ...process.env, MKA_KAFKA_STATE: STATE, MKA_KAFKA_PORT_OFFSET: OFFSET };
const run = promisify(execFile);
const harness = (...args: string[]) => run(process.execPath, [join(ROOT, 'scripts', 'fake-kafka.mjs'), ...args], { cwd: ROOT, env });

interface ClustersFile {
  clusters: Record<string, { clusterId: string; bootstrap: string[]; nodes: { id: number; port: number }[]; sasl?: { bootstrap: string[] } }>;
}

describe('fake harness (scripts/fake-kafka.mjs)', { timeout: 120_000 }, () => {
  let file: ClustersFile;
  const closers: { close(): Promise<void> | void }[] = [];
  before(async () => {
    await harness('up');
    file = JSON.parse(readFileSync(join(STATE, 'clusters.json'), 'utf8')) as ClustersFile;
  });
  after(async () => {
    for (const c of closers) await c.close();
    await harness('down');
  });

  it('writes clusters.json as the real harness does: A with 3 nodes, B with 1 node and a SASL listener', () => {
    assert.equal(file.clusters.a.nodes.length, 3);
    assert.equal(file.clusters.b.nodes.length, 1);
    assert.equal(file.clusters.b.sasl!.bootstrap.length, 1);
    assert.notEqual(file.clusters.a.clusterId, file.clusters.b.clusterId);
  });

  it('a cluster killed with SIGKILL keeps what it acknowledged (acks=all) and its committed offsets', async () => {
    const a = file.clusters.a;
    const client = new Client({ brokers: a.bootstrap });
    closers.push(client);
    await client.createTopics([{ topic: 'durable', numPartitions: 2, replicationFactor: 3 }]);
    const w = new Writer({ brokers: a.bootstrap, topic: 'durable' });
    closers.push(w);
    const acked = await w.writeMessages(...Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    await client.commitOffsets('durable-g', [{ topic: 'durable', partition: 0, offset: 7n }]);
    await harness('stop-cluster', 'a', '--kill');
    await harness('start-cluster', 'a');
    const after = new Client({ brokers: a.bootstrap });
    closers.push(after);
    assert.equal((await after.describeCluster()).clusterId, a.clusterId, 'same cluster id after the restart');
    const ends = await after.listOffsets('durable', 'latest');
    const perPartition = [0, 1].map((p) => BigInt(acked.filter((r) => r.partition === p).length));
    assert.deepEqual([ends.get(0)!.offset, ends.get(1)!.offset], perPartition);
    const committed = await after.fetchOffsets('durable-g', [{ topic: 'durable' }]);
    assert.equal(committed.find((o) => o.partition === 0)!.offset, 7n);
    const r = new Reader({ brokers: a.bootstrap, topic: 'durable', partition: acked[0].partition, maxWaitMs: 100 });
    closers.push(r);
    assert.equal(new TextDecoder().decode((await r.readMessage({ timeoutMs: 10_000 })).value!), 'v0');
  });

  it('freeze-cluster answers nothing until thaw-cluster; stop-broker and start-broker move leadership', async () => {
    const a = file.clusters.a;
    const client = new Client({ brokers: a.bootstrap, retry: { attempts: 1 } });
    closers.push(client);
    await harness('freeze-cluster', 'a');
    try {
      await assert.rejects(client.describeCluster({ timeoutMs: 1500 }));
    } finally {
      await harness('thaw-cluster', 'a');
    }
    assert.equal((await client.describeCluster({ timeoutMs: 10_000 })).clusterId, a.clusterId);
    await harness('stop-broker', 'a', '2');
    const m = await client.metadata({ topics: ['durable'] });
    assert.deepEqual(m.brokers.map((b) => b.nodeId).sort(), [1, 3]);
    assert.ok(m.topics[0].partitions.every((p) => p.leader !== 2));
    await harness('start-broker', 'a', '2');
    assert.equal((await client.metadata({ topics: [] })).brokers.length, 3);
  });
});
