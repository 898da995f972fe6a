// Rebootstrap (KIP-899, KIP-1242) against real brokers: an address that now belongs to another broker
// answers ApiVersions v5 with REBOOTSTRAP_REQUIRED, and the cluster goes back to its bootstrap list;
// so does a cluster whose known brokers have all been unreachable for rebootstrapTriggerMs.
import assert from 'node:assert/strict';
import { createServer, connect as netConnect } from 'node:net';
import { describe, it } from 'node:test';
import { Cluster } from '../../src/client/cluster.ts';
import { Connection } from '../../src/client/connection.ts';
import { ClusterMetadata, type BrokerInfo } from '../../src/client/metadata.ts';
import { Api, ErrorCode } from '../../src/protocol/index.ts';
import { KafkaProtocolError } from '../../src/protocol/errors.ts';
import { cluster } from '../helpers/kafka.ts';

/** Replaces the cluster's view of its brokers, as if the addresses had moved since it last looked. */
function staleBrokers(c: Cluster, brokers: BrokerInfo[]): void {
  const m = c.current!;
  (c as unknown as { meta: ClusterMetadata }).meta = new ClusterMetadata(
    m.clusterId,
    m.controllerId,
    new Map(brokers.map((b) => [b.nodeId, b])),
    m.topics,
    performance.now(),
  );
}

describe('rebootstrap', () => {
  it('a broker asked for the wrong node id answers REBOOTSTRAP_REQUIRED (ApiVersions v5, Kafka 4.4+)', async () => {
    const A = cluster('a');
    const [n1, n2] = A.nodes;
    const ok = await Connection.open({ host: '127.0.0.1', port: n1.port, clientId: 't', expect: { clusterId: A.clusterId, nodeId: n1.id } });
    const checks = ok.brokerVersions.get(Api.ApiVersions.apiKey)!.max >= 5;
    ok.close();
    const wrong = Connection.open({ host: '127.0.0.1', port: n1.port, clientId: 't', expect: { clusterId: A.clusterId, nodeId: n2.id } });
    if (checks) {
      await assert.rejects(wrong, (e: unknown) => e instanceof KafkaProtocolError && e.code === ErrorCode.REBOOTSTRAP_REQUIRED);
    } else {
      // An older broker cannot tell: the connection opens (ApiVersions v4 has no such fields).
      (await wrong).close();
    }
  });

  it('an address that now belongs to another broker: the call rebootstraps and succeeds', async () => {
    const A = cluster('a');
    const c = new Cluster({ brokers: A.bootstrap });
    try {
      const m = await c.refreshMetadata();
      const real = [...m.brokers.values()].sort((x, y) => x.nodeId - y.nodeId);
      // Node 1's address is now node 2's, node 2's is node 3's, node 3's is node 1's.
      staleBrokers(c, real.map((b, i) => ({ ...b, host: real[(i + 1) % real.length].host, port: real[(i + 1) % real.length].port })));
      // A purpose with no connection yet, so the dial (and its ApiVersions v5 check) happens now.
      const res = await c.call((o) => c.brokerConnection(real[0].nodeId, 'admin', o), Api.DescribeCluster, { includeClusterAuthorizedOperations: false }, { timeoutMs: 15_000 });
      assert.equal(res.clusterId, A.clusterId);
      const conn = await c.anyConnection();
      if (conn.brokerVersions.get(Api.ApiVersions.apiKey)!.max >= 5) {
        assert.ok(c.rebootstraps >= 1, `rebootstraps: ${c.rebootstraps}`);
        // After the rebootstrap the view is right again: every node at its own address.
        for (const b of c.current!.brokers.values()) assert.equal(b.port, A.nodes.find((n) => n.id === b.nodeId)!.port);
      }
    } finally {
      c.close();
    }
  });

  it('every known broker unreachable for rebootstrapTriggerMs: the known brokers are forgotten', async () => {
    const A = cluster('a');
    // The bootstrap address is a port that refuses at first and later forwards to node 1 of A: a
    // bootstrap name that resolves somewhere new after the cluster moved.
    const forward = createServer((s) => {
      const up = netConnect({ host: '127.0.0.1', port: A.nodes[0].port });
      s.pipe(up).pipe(s);
      s.on('error', () => up.destroy());
      up.on('error', () => s.destroy());
    });
    await new Promise<void>((r) => forward.listen(0, '127.0.0.1', () => r()));
    const port = (forward.address() as { port: number }).port;
    forward.close();
    const c = new Cluster({ brokers: [`127.0.0.1:${port}`], rebootstrapTriggerMs: 500, reconnectBackoffMaxMs: 100, connectTimeoutMs: 1000 });
    try {
      // A view learnt earlier: every broker at an address nobody listens on any more.
      (c as unknown as { meta: ClusterMetadata }).meta = new ClusterMetadata(A.clusterId, 1, new Map(A.nodes.map((n) => [n.id, { nodeId: n.id, host: '127.0.0.1', port: 1, rack: null }])), new Map(), performance.now());
      const t0 = performance.now();
      while (c.rebootstraps === 0 && performance.now() - t0 < 10_000) {
        await assert.rejects(c.anyConnection('control', { timeoutMs: 1000 }));
        await new Promise((r) => setTimeout(r, 50));
      }
      const took = performance.now() - t0;
      assert.equal(c.rebootstraps, 1);
      assert.ok(took >= 450 && took < 5000, `rebootstrapped after ${took.toFixed(0)} ms`);
      assert.equal(c.current!.brokers.size, 0, 'known brokers forgotten');
      await new Promise<void>((r) => forward.listen(port, '127.0.0.1', () => r()));
      const m = await c.refreshMetadata({ timeoutMs: 10_000 });
      assert.equal(m.clusterId, A.clusterId);
      assert.deepEqual([...m.brokers.keys()].sort(), A.nodes.map((n) => n.id).sort());
    } finally {
      c.close();
      forward.close();
    }
  });
});
