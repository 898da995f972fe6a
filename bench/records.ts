// Record-batch throughput: CRC-32C, batch encode and decode (100-byte values, uncompressed and lz4),
// and kafkajs's record-batch decoder on the same bytes for comparison (dev dependency, bench only).
//   node --import tsx bench/records.ts
import { createRequire } from 'node:module';
import { codecFor } from '../src/protocol/compression/index.ts';
import { crc32c, decodeRecordSet, RecordBatchBuilder } from '../src/protocol/records/index.ts';
import { callsPerSecond } from './compare/drivers.ts';

const require = createRequire(import.meta.url);
const KafkaJsDecoder = require('kafkajs/src/protocol/decoder');
const kafkajsBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder');
const { CompressionTypes, CompressionCodecs } = require('kafkajs');

/** Calls per second of fn over `ms` after a warm-up (the side-by-side benchmark's timing loop). */
const rate = (fn: () => unknown, ms = 1500): Promise<number> => callsPerSecond(ms, fn);

const RECORDS = 1000;
const value = new Uint8Array(100);
for (let i = 0; i < value.length; i++) value[i] = 97 + ((i * 7) % 26);
const keys = Array.from({ length: RECORDS }, (_, i) => new TextEncoder().encode(`key-${i}`));
const t0 = Date.now();

async function encode(compression: 0 | 3): Promise<Uint8Array> {
  const b = new RecordBatchBuilder({ compression }, 128 * 1024);
  for (let i = 0; i < RECORDS; i++) b.append(t0 + i, keys[i], value);
  return b.build();
}

// kafkajs has no built-in lz4: give it ours, so both sides pay the same decompression.
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async () => {
    throw new Error('unused');
  },
  decompress: async (buf: Buffer) => Buffer.from(await codecFor(3).decompress(buf, 64 << 20)),
});

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rows: string[][] = [];

const crcBuf = new Uint8Array(1 << 20).map((_, i) => i * 31);
const crcRate = await rate(() => crc32c(crcBuf));
rows.push(['CRC-32C, 1 MiB buffer', `${fmt(crcRate)} MiB/s`, '', '']);

for (const [name, c] of [['uncompressed', 0], ['lz4', 3]] as const) {
  const bytes = await encode(c);
  const enc = (await rate(() => encode(c))) * RECORDS;
  const dec = (await rate(() => decodeRecordSet(bytes))) * RECORDS;
  const decNoCrc = (await rate(() => decodeRecordSet(bytes, { verifyCrc: false }))) * RECORDS;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const kjs = (await rate(() => kafkajsBatchDecoder(new KafkaJsDecoder(buf)))) * RECORDS;
  rows.push([`batch of ${RECORDS} × 100 B, ${name} (${bytes.length} B)`, `encode ${fmt(enc)} rec/s`, `decode ${fmt(dec)} rec/s (${fmt(decNoCrc)} without CRC)`, `kafkajs decode ${fmt(kjs)} rec/s → mka ${(dec / kjs).toFixed(2)}× (${(decNoCrc / kjs).toFixed(2)}× like for like: kafkajs skips the CRC)`]);
}

console.log(`node ${process.version}, ${new Date().toISOString()}`);
for (const r of rows) console.log(r.filter(Boolean).join(' | '));
