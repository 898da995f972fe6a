// Throughput of the generated message codec on two responses a client decodes all the time: a Metadata
// v12 response describing 1,000 partitions (10 topics × 100, 3 replicas each) and a Fetch response of the
// highest version carrying 50 partitions of 16 KiB record blobs. Encode and decode, ops/s and MB/s.
// Run: node --import tsx bench/codec-messages.ts
import type { Encodable } from '../src/protocol/codec.ts';
import { Fetch, Metadata } from '../src/protocol/messages/index.ts';
import type { FetchResponse, MetadataResponse } from '../src/protocol/messages/index.ts';
import { ByteReader } from '../src/protocol/wire/byte-reader.ts';
import { ByteWriter } from '../src/protocol/wire/byte-writer.ts';

const uuid = (n: number) => Buffer.from(Array.from({ length: 16 }, (_, i) => (n * 37 + i * 11) & 0xff)).toString('base64url');

function metadataResponse(): Encodable<MetadataResponse> {
  const brokers = [1, 2, 3, 4, 5].map((id) => ({ nodeId: id, host: `broker-${id}.kafka.internal`, port: 9092, rack: `rack-${id % 3}` }));
  const topics = Array.from({ length: 10 }, (_, t) => ({
    errorCode: 0,
    name: `events.service-${t}.v1`,
    topicId: uuid(t + 1),
    isInternal: false,
    partitions: Array.from({ length: 100 }, (_, p) => {
      const replicas = [1 + ((p + 0) % 5), 1 + ((p + 1) % 5), 1 + ((p + 2) % 5)];
      return { errorCode: 0, partitionIndex: p, leaderId: replicas[0], leaderEpoch: 7 + (p % 3), replicaNodes: replicas, isrNodes: replicas, offlineReplicas: [] };
    }),
    topicAuthorizedOperations: -2147483648,
  }));
  return { throttleTimeMs: 0, brokers, clusterId: 'Zq3b1b7cS5uKDbjTtZtYqw', controllerId: 1, topics };
}

function fetchResponse(): Encodable<FetchResponse> {
  const blob = new Uint8Array(16 * 1024);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 131 + 7) & 0xff;
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 12345,
    responses: Array.from({ length: 5 }, (_, t) => ({
      topic: `orders-${t}`,
      topicId: uuid(100 + t),
      partitions: Array.from({ length: 10 }, (_, p) => ({
        partitionIndex: p,
        errorCode: 0,
        highWatermark: 1_000_000n + BigInt(p),
        lastStableOffset: 1_000_000n + BigInt(p),
        logStartOffset: 0n,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: blob,
      })),
    })),
  };
}

interface Result {
  opsPerSec: number;
  mbPerSec: number;
}

function time(bytesPerOp: number, fn: () => void, minMs = 1000): Result {
  for (let i = 0; i < 50; i++) fn(); // warm up: let the JIT settle
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  const opsPerSec = (n * 1000) / elapsed;
  return { opsPerSec, mbPerSec: (opsPerSec * bytesPerOp) / 1e6 };
}

function bench<T>(label: string, version: number, message: Encodable<T>, encode: (w: ByteWriter, v: number, m: Encodable<T>) => void, decode: (r: ByteReader, v: number) => T): void {
  const w = new ByteWriter(1024);
  encode(w, version, message);
  const bytes = w.finish().slice();
  let sink = 0;
  const enc = time(bytes.length, () => {
    w.reset();
    encode(w, version, message);
    sink += w.length;
  });
  const dec = time(bytes.length, () => {
    const m = decode(new ByteReader(bytes), version) as { throttleTimeMs?: number };
    sink += m.throttleTimeMs ?? 0;
  });
  if (sink < 0) console.log(sink);
  const fmt = (r: Result) => `${r.opsPerSec.toFixed(0).padStart(8)} ops/s ${r.mbPerSec.toFixed(1).padStart(8)} MB/s`;
  console.log(`${label.padEnd(48)} ${String(bytes.length).padStart(8)} B   encode ${fmt(enc)}   decode ${fmt(dec)}`);
}

console.log(`node ${process.version}`);
bench('Metadata v12 response, 10 topics × 100 partitions', 12, metadataResponse(), Metadata.encodeResponse, Metadata.decodeResponse);
bench(`Fetch v${Fetch.maxVersion} response, 50 partitions × 16 KiB`, Fetch.maxVersion, fetchResponse(), Fetch.encodeResponse, Fetch.decodeResponse);
