// kcat (librdkafka) against an in-process FakeCluster: it produces, mka reads it back; mka writes, kcat
// consumes it. librdkafka negotiates its own versions and checks the answers its own way, so this is a
// second opinion on the fake besides mka and kafkajs. Needs the kcat binary (apt install kcat); without
// it the test fails, naming what is missing.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Reader, Writer } from '../../src/index.ts';
import { FakeCluster } from '../../src/testing/index.ts';

const run = promisify(execFile);

describe('kcat against a FakeCluster', { timeout: 60_000 }, () => {
  let cluster: FakeCluster;
  before(async () => {
    assert.equal(spawnSync('kcat', ['-V']).status, 0, 'kcat is not installed (apt install kcat)');
    cluster = await FakeCluster.start({ brokers: 3, topics: [{ name: 'kc-in', partitions: 1, replicationFactor: 3 }, { name: 'kc-out', partitions: 1, replicationFactor: 3 }] });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('kcat produces (acks=all), mka reads every message back', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `k${i}:v${i}`).join('\n') + '\n';
    const child = execFile('kcat', ['-P', '-b', cluster.bootstrap.join(','), '-t', 'kc-in', '-p', '0', '-K', ':', '-X', 'acks=all']);
    child.stdin!.end(lines);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    assert.equal(cluster.partition('kc-in', 0).endOffset, 20n);
    const r = new Reader({ brokers: cluster.bootstrap, topic: 'kc-in', partition: 0, maxWaitMs: 100 });
    try {
      for (let i = 0; i < 20; i++) {
        const m = await r.readMessage({ timeoutMs: 10_000 });
        assert.equal(new TextDecoder().decode(m.key!), `k${i}`);
        assert.equal(new TextDecoder().decode(m.value!), `v${i}`);
      }
    } finally {
      await r.close();
    }
  });

  it('mka writes, kcat consumes exactly what was written', async () => {
    const w = new Writer({ brokers: cluster.bootstrap, topic: 'kc-out' });
    try {
      await w.writeMessages(...Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    } finally {
      await w.close();
    }
    const { stdout } = await run('kcat', ['-C', '-b', cluster.bootstrap.join(','), '-t', 'kc-out', '-p', '0', '-o', 'beginning', '-e', '-f', '%k=%s@%o\n']);
    assert.deepEqual(stdout.trim().split('\n'), Array.from({ length: 10 }, (_, i) => `k${i}=v${i}@${i}`));
  });
});
