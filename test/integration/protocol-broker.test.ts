// The generated codec against a real broker: ApiVersions (including the documented fallback when the
// broker does not know our version), Metadata and DescribeCluster decode to what the broker holds.
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Api, ErrorCode, ByteReader, ByteWriter, apiByKey } from '../../src/protocol/index.ts';
import { Client } from '../../src/index.ts';
import { Connection } from '../../src/client/connection.ts';
import { cluster, FAKE } from '../helpers/kafka.ts';

const A = () => cluster('a');

/** Sends raw request bytes and returns the raw response frame (without its size prefix). */
function roundTrip(port: number, frame: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.on('error', reject);
    s.on('connect', () => s.write(frame));
    s.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.length >= 4 && all.length >= 4 + all.readInt32BE(0)) {
        s.destroy();
        resolve(new Uint8Array(all.subarray(4, 4 + all.readInt32BE(0))));
      }
    });
    setTimeout(() => (s.destroy(), reject(new Error('no answer'))), 10_000);
  });
}

function frame(apiKey: number, apiVersion: number, headerVersion: number, body: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter();
  const at = w.reserve(4);
  w.int16(apiKey);
  w.int16(apiVersion);
  w.int32(7);
  w.nullableString('mka-test');
  if (headerVersion >= 2) w.uvarint(0);
  body(w);
  w.setInt32At(at, w.length - 4);
  return w.finish().slice();
}

describe('codec against the broker', () => {
  let client: Client;
  before(() => {
    client = new Client({ brokers: A().bootstrap, clientId: 'mka-protocol-test' });
  });
  after(() => client.close());

  it('ApiVersions v3 decodes: every API the broker lists has a sane range, and mka knows the core ones', async () => {
    const port = A().nodes[0].port;
    const raw = await roundTrip(port, frame(18, 3, 2, (w) => {
      w.compactString('mka');
      w.compactString('0.1.0');
      w.uvarint(0);
    }));
    const r = new ByteReader(raw);
    assert.equal(r.int32(), 7); // correlation id; ApiVersions' response header is v0 even in flexible versions
    const res = Api.ApiVersions.decodeResponse(r, 3);
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(r.remaining, 0, 'the whole response was consumed');
    const keys = new Map(res.apiKeys.map((k) => [k.apiKey, k]));
    for (const k of res.apiKeys) assert.ok(k.minVersion <= k.maxVersion, `range of key ${k.apiKey}`);
    for (const name of ['Produce', 'Fetch', 'ListOffsets', 'Metadata', 'ApiVersions', 'DescribeCluster'] as const) {
      const api = Api[name];
      assert.ok(keys.has(api.apiKey), `${name} is listed`);
    }
    assert.ok(keys.get(18)!.maxVersion >= 3);
  });

  it('ApiVersions with a version the broker does not know: UNSUPPORTED_VERSION and the v0 fallback list', async () => {
    const port = A().nodes[0].port;
    // Version 99 of ApiVersions: the broker answers in v0 with its own range, so a client can retry.
    const raw = await roundTrip(port, frame(18, 99, 2, (w) => {
      w.compactString('mka');
      w.compactString('0.1.0');
      w.uvarint(0);
    }));
    const r = new ByteReader(raw);
    assert.equal(r.int32(), 7);
    const res = Api.ApiVersions.decodeResponse(r, 0);
    assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    const own = res.apiKeys.find((k) => k.apiKey === 18);
    assert.ok(own && own.maxVersion >= 3, 'the broker says which ApiVersions versions it speaks');
  });

  it('a Connection negotiates the highest common version of each API', async () => {
    const n = A().nodes[0];
    const conn = await Connection.open({ host: '127.0.0.1', port: n.port, clientId: 'mka-test' });
    try {
      const metadataVersion = conn.version(Api.Metadata);
      const broker = conn.brokerVersions.get(Api.Metadata.apiKey)!;
      assert.equal(metadataVersion, Math.min(broker.max, Api.Metadata.maxVersion));
      assert.ok(metadataVersion >= 12);
    } finally {
      conn.close();
    }
  });

  it('Metadata decodes brokers, cluster id and controller; DescribeCluster agrees', async () => {
    const meta = await client.metadata({ topics: [] });
    const desc = await client.describeCluster();
    assert.equal(meta.clusterId, A().clusterId);
    assert.equal(desc.clusterId, A().clusterId);
    assert.deepEqual(meta.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
    assert.deepEqual(desc.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
    for (const b of desc.brokers) {
      assert.equal(b.host, '127.0.0.1');
      assert.equal(b.port, A().nodes.find((x) => x.id === b.nodeId)!.port);
    }
    assert.ok([1, 2, 3].includes(desc.controllerId) || desc.controllerId === -1);
  });

  it('Metadata of a topic created with 4 partitions and RF 3 shows 4 partitions with leaders and 3 replicas', async () => {
    const topic = `proto-meta-${Date.now()}`;
    await client.createTopics([{ topic, numPartitions: 4, replicationFactor: 3 }]);
    const m = await client.metadata({ topics: [topic] });
    const t = m.topics[0];
    assert.equal(t.name, topic);
    assert.equal(t.errorCode, ErrorCode.NONE);
    assert.match(t.topicId, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(t.topicId, 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.deepEqual(t.partitions.map((p) => p.partition), [0, 1, 2, 3]);
    for (const p of t.partitions) {
      assert.ok([1, 2, 3].includes(p.leader));
      assert.equal(p.replicas.length, 3);
      assert.ok(p.leaderEpoch >= 0);
    }
    await client.deleteTopics([topic]);
  });

  it('the registry knows every API key the broker lists, and negotiates the highest common version of each', async () => {
    const port = A().nodes[0].port;
    const raw = await roundTrip(port, frame(18, 3, 2, (w) => {
      w.compactString('mka');
      w.compactString('0.1.0');
      w.uvarint(0);
    }));
    const r = new ByteReader(raw);
    r.int32();
    const res = Api.ApiVersions.decodeResponse(r, 3);
    // The definitions are Kafka 4.4.0's and the brokers we test are 4.0.0-4.4.0: every key is known.
    const unknown = res.apiKeys.filter((k) => !apiByKey(k.apiKey)).map((k) => k.apiKey);
    assert.deepEqual(unknown, [], `broker APIs not in the definitions: ${unknown.join(', ')}`);
    // A real 4.x broker lists 60+ APIs; the fake lists only the ones it implements (33 today).
    assert.ok(res.apiKeys.length >= (FAKE ? 30 : 60), `${res.apiKeys.length} APIs`);
    const conn = await Connection.open({ host: '127.0.0.1', port, clientId: 'mka-test' });
    try {
      for (const k of res.apiKeys) {
        const codec = apiByKey(k.apiKey)!;
        const common = Math.min(codec.maxVersion, k.maxVersion);
        if (common < Math.max(codec.minVersion, k.minVersion)) continue; // nothing in common (none today)
        assert.equal(conn.version(codec), common, `${codec.name}: broker v${k.minVersion}-${k.maxVersion}, mka v${codec.minVersion}-${codec.maxVersion}`);
      }
    } finally {
      conn.close();
    }
  });
});
