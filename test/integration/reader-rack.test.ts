// Rack-aware fetching (KIP-392) against cluster A, whose brokers sit in racks rack-1..rack-3 with
// RackAwareReplicaSelector (scripts/kafka.mjs): a Reader naming the rack of a follower is pointed
// to that follower by the leader and reads everything from it; a Reader naming no rack, or the
// leader's own rack, stays on the leader.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { Reader } from '../../src/client/reader/index.ts';
import type { PartitionState } from '../../src/client/reader/fetcher.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { produceRetrying, until } from '../helpers/reader-loop.ts';

/** The fetcher's view of the partition: which node it reads from (test-only peek at internals). */
const state = (r: Reader, topic: string) => (r as unknown as { fetcher: { get(t: string, p: number): PartitionState | undefined } }).fetcher.get(topic, 0);

describe('Reader rack-aware fetching (KIP-392)', () => {
  let client: Client;
  let topic: string;
  let leader: number;
  let follower: number;

  before(async () => {
    client = new Client({ brokers: cluster('a').bootstrap });
    topic = uniqueTopic('rack');
    await client.createTopics([{ topic, numPartitions: 1, replicationFactor: 3 }]);
    await client.waitForLeaders([topic]);
    const p = (await client.cluster.refreshMetadata({ topics: [topic] })).partition(topic, 0)!;
    leader = p.leader;
    follower = p.replicas.find((r) => r !== leader)!;
    await produceRetrying(client, topic, 0, Array.from({ length: 50 }, (_, i) => ({ value: `m${i}` })));
  });
  after(async () => {
    await client.deleteTopics([topic]).catch(() => {});
    await client.close();
  });

  async function readAll(rack: string | undefined, n: number): Promise<{ values: string[]; source: number }> {
    const reader = new Reader({ brokers: cluster('a').bootstrap, topic, partition: 0, maxWaitMs: 100, ...(rack ? { rack } : {}) });
    try {
      const values: string[] = [];
      for (let i = 0; i < n; i++) {
        const m = await reader.readMessage({ timeoutMs: 15_000 });
        values.push(new TextDecoder().decode(m.value!));
      }
      const p = state(reader, topic)!;
      return { values, source: p.readReplica >= 0 ? p.readReplica : p.leader };
    } finally {
      await reader.close();
    }
  }

  it("a reader in a follower's rack reads every message from that follower", async () => {
    const { values, source } = await readAll(`rack-${follower}`, 50);
    assert.deepEqual(values, Array.from({ length: 50 }, (_, i) => `m${i}`));
    assert.equal(source, follower, `leader ${leader}, follower ${follower}`);
  });

  it('messages written while it reads from the follower arrive too', async () => {
    const reader = new Reader({ brokers: cluster('a').bootstrap, topic, partition: 0, maxWaitMs: 100, rack: `rack-${follower}` });
    try {
      for (let i = 0; i < 50; i++) await reader.readMessage({ timeoutMs: 15_000 });
      await until('the follower chosen', () => state(reader, topic)?.readReplica === follower, 10_000);
      await produceRetrying(client, topic, 0, [{ value: 'late' }]);
      const m = await reader.readMessage({ timeoutMs: 15_000 });
      assert.deepEqual([m.offset, new TextDecoder().decode(m.value!)], [50n, 'late']);
      assert.equal(state(reader, topic)?.readReplica, follower);
    } finally {
      await reader.close();
    }
  });

  it("no rack, or the leader's rack: the leader serves", async () => {
    for (const rack of [undefined, `rack-${leader}`]) {
      const { values, source } = await readAll(rack, 50);
      assert.equal(values.length, 50);
      assert.equal(source, leader, `rack ${rack}`);
    }
  });
});
