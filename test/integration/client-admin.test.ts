// Every admin call of Client against cluster A.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Api, Client, ErrorCode, KafkaProtocolError } from '../../src/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { produceRaw } from '../helpers/produce.ts';
import { eventually } from '../helpers/eventually.ts';

describe('Client admin calls', () => {
  let client: Client;
  before(() => {
    client = new Client({ brokers: cluster('a').bootstrap, clientId: 'mka-admin-test' });
  });
  after(() => client.close());

  it('creates, lists, grows and deletes topics', async () => {
    const topic = uniqueTopic('admin');
    await client.createTopics([{ topic, numPartitions: 2, replicationFactor: 3, configs: { 'retention.ms': '3600000' } }]);
    // Each broker learns of the new topic from the metadata log on its own; listTopics may ask another
    // broker than the one createTopics waited on.
    assert.ok((await eventually(() => client.listTopics(), (l) => l.includes(topic))).includes(topic));
    await assert.rejects(client.createTopics([{ topic, numPartitions: 2 }]), (e: unknown) => e instanceof KafkaProtocolError && e.type === 'TOPIC_ALREADY_EXISTS');
    await client.createTopics([{ topic, numPartitions: 2 }], { ifNotExists: true });
    await client.createPartitions(topic, 5);
    await client.waitForLeaders([topic]);
    const m = await eventually(() => client.metadata({ topics: [topic] }), (x) => x.topics[0].partitions.length === 5);
    assert.equal(m.topics[0].partitions.length, 5);
    await client.deleteTopics([topic]);
    // Deletion is asynchronous on the controller; the listing catches up.
    const left = await eventually(() => client.listTopics(), (l) => !l.includes(topic), 30_000);
    assert.ok(!left.includes(topic));
    await client.deleteTopics([topic], { ifExists: true });
  });

  it('describes the cluster', async () => {
    const d = await client.describeCluster();
    assert.equal(d.clusterId, cluster('a').clusterId);
    assert.equal(d.brokers.length, 3);
  });

  it('lists offsets: earliest, latest, by timestamp; deleteRecords moves the log start', async () => {
    const topic = uniqueTopic('offsets');
    await client.createTopics([{ topic, numPartitions: 1, replicationFactor: 3 }]);
    const empty = await client.listOffsets(topic, 'latest');
    assert.equal(empty.get(0)!.offset, 0n);
    const t0 = Date.now();
    // 10 records with timestamps t0 + i*1000 ms.
    await produceRaw(client, topic, 0, Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, timestamp: t0 + i * 1000 })));
    assert.equal((await client.listOffsets(topic, 'earliest')).get(0)!.offset, 0n);
    assert.equal((await client.listOffsets(topic, 'latest')).get(0)!.offset, 10n);
    const at = (await client.listOffsets(topic, new Date(t0 + 4500))).get(0)!;
    assert.equal(at.offset, 5n);
    assert.equal(at.timestamp!.getTime(), t0 + 5000);
    const none = (await client.listOffsets(topic, new Date(t0 + 60_000))).get(0)!;
    assert.equal(none.offset, -1n);
    const low = await client.deleteRecords(topic, { 0: 4n });
    assert.equal(low.get(0), 4n);
    assert.equal((await client.listOffsets(topic, 'earliest')).get(0)!.offset, 4n);
    await client.deleteTopics([topic]);
  });

  it('describes and alters topic configs', async () => {
    const topic = uniqueTopic('configs');
    await client.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    await client.alterConfigs({ type: 'topic', name: topic }, { 'retention.ms': '123456' });
    const c = await eventually(() => client.describeConfigs({ type: 'topic', name: topic }, { keys: ['retention.ms', 'cleanup.policy'] }), (x) => x['retention.ms'].value === '123456');
    assert.equal(c['retention.ms'].value, '123456');
    assert.equal(c['retention.ms'].isDefault, false);
    assert.equal(c['cleanup.policy'].value, 'delete');
    await client.alterConfigs({ type: 'topic', name: topic }, { 'retention.ms': null });
    const back = await eventually(() => client.describeConfigs({ type: 'topic', name: topic }, { keys: ['retention.ms'] }), (x) => x['retention.ms'].value === '604800000');
    assert.equal(back['retention.ms'].value, '604800000');
    const broker = await client.describeConfigs({ type: 'broker', name: '1' }, { keys: ['num.partitions'] });
    assert.equal(broker['num.partitions'].value, '1');
    await client.deleteTopics([topic]);
  });

  it('commits and fetches group offsets; lists and describes the group', async () => {
    const topic = uniqueTopic('groups');
    const group = uniqueTopic('group');
    await client.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]);
    await client.commitOffsets(group, [
      { topic, partition: 0, offset: 5n, metadata: 'm0' },
      { topic, partition: 2, offset: 7n },
    ]);
    const got = await client.fetchOffsets(group, [{ topic }]);
    const by = new Map(got.map((o) => [o.partition, o]));
    assert.equal(by.get(0)!.offset, 5n);
    assert.equal(by.get(0)!.metadata, 'm0');
    assert.equal(by.get(1)!.offset, -1n);
    assert.equal(by.get(2)!.offset, 7n);
    const all = await client.fetchOffsets(group);
    assert.deepEqual(all.map((o) => `${o.topic}/${o.partition}=${o.offset}`).sort(), [`${topic}/0=5`, `${topic}/2=7`]);
    const groups = await client.listGroups();
    assert.ok(groups.some((g) => g.groupId === group));
    const [d] = await client.describeGroups([group]);
    assert.equal(d.groupId, group);
    assert.equal(d.state, 'Empty');
    assert.equal(d.members.length, 0);
    await client.deleteTopics([topic]);
  });

  it('raw request(): any API, to any broker', async () => {
    const res = await client.request(Api.DescribeCluster, { includeClusterAuthorizedOperations: false }, { broker: 2 });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(res.clusterId, cluster('a').clusterId);
  });

  it('a mixed bootstrap list is caught by the cluster id check', async () => {
    const c = new Client({ brokers: cluster('b').bootstrap, expectedClusterId: cluster('a').clusterId, retry: { attempts: 1 } });
    try {
      await assert.rejects(c.listTopics(), /mixes brokers of different clusters/);
    } finally {
      await c.close();
    }
  });
});
