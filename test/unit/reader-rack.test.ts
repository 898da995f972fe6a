// Rack-aware fetching (KIP-392) on an in-process fake cluster with racks: the leader points a Reader
// naming a follower's rack to that follower; when the follower stops, the Reader goes back to the
// leader and reads on without a gap or a duplicate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, Reader } from '../../src/index.ts';
import type { PartitionState } from '../../src/client/reader/fetcher.ts';
import { FakeCluster } from '../../src/testing/index.ts';
import { produceRaw } from '../helpers/produce.ts';

const state = (r: Reader) => (r as unknown as { fetcher: { get(t: string, p: number): PartitionState | undefined } }).fetcher.get('rk', 0)!;

describe('Reader rack-aware fetching on a fake cluster', () => {
  it('reads from the follower in its rack, and from the leader once that follower is gone', async () => {
    const fake = await FakeCluster.start({ brokers: 3, racks: true, brokerSessionTimeoutMs: 200 });
    const client = new Client({ brokers: fake.bootstrap });
    let reader: Reader | undefined;
    try {
      await client.createTopics([{ topic: 'rk', numPartitions: 1, replicationFactor: 3 }]);
      const leader = fake.partition('rk', 0).leader;
      const follower = [1, 2, 3].find((b) => b !== leader)!;
      reader = new Reader({ brokers: fake.bootstrap, topic: 'rk', partition: 0, maxWaitMs: 50, rack: `rack-${follower}`, readBackoffMinMs: 20, readBackoffMaxMs: 100 });
      await produceRaw(client, 'rk', 0, [{ value: 'a' }, { value: 'b' }]);
      const got: string[] = [];
      const read = async (n: number) => {
        for (let i = 0; i < n; i++) got.push(new TextDecoder().decode((await reader!.readMessage({ timeoutMs: 10_000 })).value!));
      };
      await read(2);
      assert.equal(state(reader).readReplica, follower);

      await fake.stopBroker(follower);
      await produceRaw(client, 'rk', 0, [{ value: 'c' }, { value: 'd' }]);
      await read(2);
      assert.deepEqual(got, ['a', 'b', 'c', 'd']);
      assert.equal(state(reader).readReplica, -1);
      assert.equal(state(reader).leader, leader);
    } finally {
      await reader?.close();
      await client.close();
      await fake.stop();
    }
  });
});
