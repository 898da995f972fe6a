// Another client than mka against mka/testing: kafkajs produces to and consumes (in a group) from a
// fake cluster, so the fake is not shaped around mka's own habits.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { FakeCluster } from '../../src/testing/index.ts';

describe('kafkajs against a FakeCluster', () => {
  let cluster: FakeCluster | undefined;
  after(async () => {
    await cluster?.stop();
  });

  it('produces with acks=all, consumes every message once in a consumer group, commits', { timeout: 60_000 }, async () => {
    cluster = await FakeCluster.start({ brokers: 3, topics: [{ name: 'kjs', partitions: 3, replicationFactor: 3 }] });
    const kafka = new Kafka({ clientId: 'kjs-test', brokers: cluster.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 6}`, value: `v${i}` }));
    const acks = await producer.send({ topic: 'kjs', acks: -1, messages: sent });
    assert.ok(acks.every((a) => a.errorCode === 0));
    await producer.disconnect();
    let endOffsets = 0n;
    for (let p = 0; p < 3; p++) endOffsets += cluster.partition('kjs', p).endOffset;
    assert.equal(endOffsets, 60n);

    const consumer = kafka.consumer({ groupId: 'kjs-group', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'kjs', fromBeginning: true });
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message.value!.toString());
          if (got.length === sent.length) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();
    assert.deepEqual([...got].sort(), sent.map((m) => m.value).sort());
    let committed = 0n;
    for (let p = 0; p < 3; p++) committed += cluster.committed('kjs-group', 'kjs', p) ?? 0n;
    assert.equal(committed, 60n, 'kafkajs committed every partition to its end');
  });
});
