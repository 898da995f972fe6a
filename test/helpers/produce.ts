// Raw Produce/Fetch for tests that must prove the codec on the wire without the Writer and Reader:
// one batch in, records out, straight through the generated messages and the record codec.
import type { Client } from '../../src/client/client.ts';
import { Api } from '../../src/protocol/messages/index.ts';
import { encodeRecordBatch, decodeRecordSet, type RecordBatch } from '../../src/protocol/records/index.ts';
import { parseCompression } from '../../src/protocol/compression/index.ts';
import { throwIfError, KafkaError, KafkaProtocolError } from '../../src/protocol/errors.ts';

const te = new TextEncoder();
const td = new TextDecoder();

export interface RawRecord {
  key?: string | Uint8Array | null;
  value: string | Uint8Array | null;
  timestamp?: number;
  headers?: { key: string; value: string | null }[];
}


/**
 * A topic created a moment ago may not have its leader in place on every broker yet (KRaft brokers
 * apply metadata at their own pace): refusals that say so are retried for a while, like any client.
 */
async function leaderRetry<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof KafkaProtocolError && e.invalidatesMetadata) || attempt >= 40) throw e;
      client.cluster.invalidate();
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const bytes = (v: string | Uint8Array | null | undefined): Uint8Array | null => (v == null ? null : typeof v === 'string' ? te.encode(v) : v);

/**
 * Produces records as one batch (acks=all) to a partition's leader; resolves with the base offset.
 * With skipUnsupported, resolves null when this runtime cannot compress with the codec (zstd).
 */
export async function produceRaw(
  client: Client,
  topic: string,
  partition: number,
  records: RawRecord[],
  opts: { compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'; skipUnsupported?: boolean; version?: number } = {},
): Promise<bigint | null> {
  let batch: Uint8Array;
  try {
    batch = await encodeRecordBatch(
      records.map((r) => ({
        key: bytes(r.key),
        value: bytes(r.value),
        timestamp: r.timestamp,
        headers: r.headers?.map((h) => ({ key: h.key, value: bytes(h.value) })),
      })),
      { compression: parseCompression(opts.compression ?? 'none') },
    );
  } catch (e) {
    if (opts.skipUnsupported && e instanceof KafkaError && /not available/.test(e.message)) return null;
    throw e;
  }
  return leaderRetry(client, async () => {
    const conn = await client.cluster.leaderConnection(topic, partition, 'admin');
    // Produce v13 names the topic by id: give both, the codec writes the one the version has.
    const topicId = (await client.cluster.topic(topic)).topicId;
    const res = await conn.request(
      Api.Produce,
      { acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, topicId, partitionData: [{ index: partition, records: batch }] }] },
      { version: opts.version },
    );
    const p = res.responses[0].partitionResponses[0];
    throwIfError(p.errorCode, p.errorMessage);
    return p.baseOffset;
  });
}

/** One Fetch from the partition's leader: the raw record set bytes, as the broker sent them. */
export async function fetchRecordSet(client: Client, topic: string, partition: number, offset: bigint, opts: { version?: number; maxWaitMs?: number } = {}): Promise<Uint8Array> {
  return leaderRetry(client, () => fetchOnce(client, topic, partition, offset, opts));
}

async function fetchOnce(client: Client, topic: string, partition: number, offset: bigint, opts: { version?: number; maxWaitMs?: number }): Promise<Uint8Array> {
  const t = await client.cluster.topic(topic);
  const conn = await client.cluster.leaderConnection(topic, partition, 'admin');
  const res = await conn.request(
    Api.Fetch,
    {
      replicaId: -1,
      maxWaitMs: opts.maxWaitMs ?? 500,
      minBytes: 1,
      maxBytes: 16 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, topicId: t.topicId, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 8 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1n }] }],
      forgottenTopicsData: [],
      rackId: '',
    },
    { version: opts.version },
  );
  const p = res.responses[0].partitions[0];
  throwIfError(p.errorCode);
  return p.records ?? new Uint8Array(0);
}

/** Fetches batches starting at offset until `count` records arrived. */
export async function fetchBatches(client: Client, topic: string, partition: number, offset: bigint, count: number, opts: { version?: number } = {}): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  let seen = 0;
  let next = offset;
  const deadline = Date.now() + 20_000;
  while (seen < count) {
    if (Date.now() > deadline) throw new Error(`fetchBatches: only ${seen} of ${count} records after 20 s`);
    const batches = await decodeRecordSet(await fetchRecordSet(client, topic, partition, next, opts), { topic, partition });
    for (const b of batches) {
      for (const r of b.records) if (r.offset >= next && !b.isControl) seen++;
      out.push(b);
      next = b.lastOffset + 1n;
    }
  }
  return out;
}

/** Fetches `count` records from offset; keys and values as UTF-8 strings. */
export async function fetchRaw(client: Client, topic: string, partition: number, offset: bigint, count: number): Promise<{ key: string | null; value: string | null; offset: bigint; timestamp: Date; headers: { key: string; value: string | null }[] }[]> {
  const batches = await fetchBatches(client, topic, partition, offset, count);
  const out = [];
  for (const b of batches) {
    if (b.isControl) continue;
    for (const r of b.records) {
      if (r.offset < offset) continue;
      out.push({
        key: r.key && td.decode(r.key),
        value: r.value && td.decode(r.value),
        offset: r.offset,
        timestamp: r.timestamp,
        headers: r.headers.map((h) => ({ key: h.key, value: h.value && td.decode(h.value) })),
      });
    }
  }
  return out.slice(0, count);
}
