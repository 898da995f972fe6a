// Record batches: byte layout written out by hand, round trips through every codec, batches the Java
// producer wrote (captured from the broker), legacy message sets, and every corruption the issue names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { CorruptRecordError } from '../../src/protocol/errors.ts';
import {
  BatchLayout as L,
  crc32,
  crc32c,
  decodeRecordSet,
  encodeRecordBatch,
  RecordBatchBuilder,
  stampBatch,
  type RecordInput,
} from '../../src/protocol/records/index.ts';
import { codecFor, parseCompression, type CompressionType } from '../../src/protocol/compression/index.ts';
import { javaSample } from '../helpers/java-tools.ts';

const te = new TextEncoder();
const td = new TextDecoder();
const hex = (s: string) => Uint8Array.from(s.replace(/#.*$/gm, '').match(/[0-9a-f]{2}/gi)!.map((h) => parseInt(h, 16)));
const zstdCompresses = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
const CODECS: CompressionType[] = [0, 1, 2, 3, ...(zstdCompresses ? [4 as const] : [])];

function sample(n: number, t0 = 1_700_000_000_000): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 5 === 0 ? null : te.encode(`key-${i}`),
    value: i % 7 === 3 ? null : te.encode(`value-${i}-${'x'.repeat(i % 50)}`),
    headers: i % 2 ? [{ key: 'h', value: te.encode(String(i)) }, { key: 'ñ-null', value: null }] : [],
    timestamp: t0 + ((i * 37) % 1000) - 500, // out of order: deltas are negative too
  }));
}

describe('CRC', () => {
  it('CRC-32C and CRC-32 of "123456789" are the check values of the standards', () => {
    assert.equal(crc32c(te.encode('123456789')), 0xe3069283);
    assert.equal(crc32(te.encode('123456789')), 0xcbf43926);
  });
});

describe('record batch v2', () => {
  it('encodes one record exactly as the layout in the protocol guide', async () => {
    const bytes = await encodeRecordBatch([{ key: te.encode('k'), value: te.encode('v'), timestamp: 1000 }]);
    const expected = hex(`
      0000000000000000 # baseOffset
      0000003a         # batchLength: 70 - 12
      ffffffff         # partitionLeaderEpoch
      02               # magic
      00000000         # crc (checked below)
      0000             # attributes: no compression, create time
      00000000         # lastOffsetDelta
      00000000000003e8 # baseTimestamp 1000
      00000000000003e8 # maxTimestamp
      ffffffffffffffff # producerId -1
      ffff             # producerEpoch -1
      ffffffff         # baseSequence -1
      00000001         # record count
      10               # record length 8 (zig-zag)
      00 00 00         # attributes, timestampDelta 0, offsetDelta 0
      02 6b 02 76      # key "k", value "v"
      00               # no headers
    `);
    assert.equal(bytes.length, expected.length);
    assert.deepEqual(bytes.subarray(0, 17), expected.subarray(0, 17));
    assert.deepEqual(bytes.subarray(21), expected.subarray(21));
    const crc = new DataView(bytes.buffer, bytes.byteOffset).getUint32(17);
    assert.equal(crc, crc32c(expected.subarray(21)));
  });

  for (const c of CODECS) {
    it(`round-trips keys, values, headers, nulls and timestamps (compression ${c})`, async () => {
      const input = sample(500);
      const bytes = await encodeRecordBatch(input, { compression: c, baseOffset: 1000n });
      const [batch] = await decodeRecordSet(bytes);
      assert.equal(batch.compression, c);
      assert.equal(batch.baseOffset, 1000n);
      assert.equal(batch.lastOffset, 1499n);
      assert.equal(batch.records.length, 500);
      const ts = input.map((r) => r.timestamp as number);
      assert.equal(batch.maxTimestamp, BigInt(Math.max(...ts)));
      batch.records.forEach((r, i) => {
        assert.equal(r.offset, 1000n + BigInt(i));
        assert.equal(r.timestamp.getTime(), ts[i]);
        assert.deepEqual(r.key, input[i].key);
        assert.deepEqual(r.value, input[i].value);
        assert.deepEqual(r.headers, input[i].headers);
      });
    });
  }

  it('timestamps far apart (beyond int32 ms) survive', async () => {
    const bytes = await encodeRecordBatch([
      { value: te.encode('a'), timestamp: 0 },
      { value: te.encode('b'), timestamp: 4_102_444_800_000 },
    ]);
    const [b] = await decodeRecordSet(bytes);
    assert.deepEqual(b.records.map((r) => r.timestamp.getTime()), [0, 4_102_444_800_000]);
  });

  it('stamps producer id, epoch and sequence after the fact and keeps the CRC right', async () => {
    const bytes = await encodeRecordBatch(sample(3), { compression: 3 });
    stampBatch(bytes, 4242n, 7, 99);
    const [b] = await decodeRecordSet(bytes);
    assert.equal(b.producerId, 4242n);
    assert.equal(b.producerEpoch, 7);
    assert.equal(b.baseSequence, 99);
  });

  it('transactional and log-append-time attributes are written and read', async () => {
    const bytes = await encodeRecordBatch(sample(2), { transactional: true, timestampType: 'log-append-time' });
    const [b] = await decodeRecordSet(bytes);
    assert.equal(b.isTransactional, true);
    assert.equal(b.timestampType, 'log-append-time');
    // Log-append time: every record carries the batch's max timestamp.
    assert.ok(b.records.every((r) => BigInt(r.timestamp.getTime()) === b.maxTimestamp));
  });

  it('recognises a commit marker', async () => {
    // Control record: key = version 0, type 1 (commit); value = version 0, coordinator epoch 5.
    const b = new RecordBatchBuilder({ transactional: true, producerId: 9n, producerEpoch: 1 });
    b.append(1, hex('0000 0001'), hex('0000 00000005'));
    const bytes = await b.build();
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    v.setInt16(L.ATTRIBUTES, v.getInt16(L.ATTRIBUTES) | L.CONTROL_BIT);
    v.setUint32(L.CRC, crc32c(bytes.subarray(L.CRC_FROM)));
    const [batch] = await decodeRecordSet(bytes);
    assert.equal(batch.isControl, true);
    assert.deepEqual(batch.control, { type: 'commit', typeCode: 1, coordinatorEpoch: 5 });
  });

  it('reads several batches in a row and ignores a partial batch at the end', async () => {
    const a = await encodeRecordBatch(sample(10), { baseOffset: 0n });
    const b = await encodeRecordBatch(sample(5), { baseOffset: 10n, compression: 1 });
    const c = await encodeRecordBatch(sample(8), { baseOffset: 15n });
    const set = new Uint8Array(a.length + b.length + c.length);
    set.set(a);
    set.set(b, a.length);
    set.set(c, a.length + b.length);
    for (const cut of [set.length, set.length - 1, a.length + b.length + 11, a.length + b.length + 61]) {
      const batches = await decodeRecordSet(set.subarray(0, cut));
      assert.deepEqual(batches.map((x) => x.baseOffset), cut === set.length ? [0n, 10n, 15n] : [0n, 10n]);
    }
  });
});

describe('batches written by the Java producer (captured from the broker)', () => {
  const expected = javaSample(20);
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`${codec}: every key, value, header and offset`, async () => {
      const bytes = new Uint8Array(readFileSync(new URL(`../fixtures/records/java-${codec}.bin`, import.meta.url)));
      const batches = await decodeRecordSet(bytes, { topic: 'fixture', partition: 0 });
      assert.ok(batches.every((b) => b.compression === parseCompression(codec)));
      const records = batches.flatMap((b) => b.records);
      assert.equal(records.length, 20);
      records.forEach((r, i) => {
        assert.equal(r.offset, BigInt(i));
        assert.equal(td.decode(r.key!), expected[i].key);
        assert.equal(td.decode(r.value!), expected[i].value);
        assert.deepEqual(r.headers.map((h) => [h.key, td.decode(h.value!)]), expected[i].headers);
        assert.ok(Math.abs(r.timestamp.getTime() - Date.parse('2026-11-26T00:00:00Z')) < 400 * 86_400_000);
      });
    });
  }
});

/** A legacy message: offset, size, crc, magic, attributes, [timestamp], key, value. */
function legacyMessage(offset: bigint, magic: 0 | 1, attributes: number, timestamp: bigint, key: Uint8Array | null, value: Uint8Array | null): Uint8Array {
  const body = 1 + 1 + (magic === 1 ? 8 : 0) + 4 + (key?.length ?? 0) + 4 + (value?.length ?? 0);
  const out = new Uint8Array(12 + 4 + body);
  const v = new DataView(out.buffer);
  v.setBigInt64(0, offset);
  v.setInt32(8, 4 + body);
  let p = 16;
  out[p++] = magic;
  out[p++] = attributes;
  if (magic === 1) (v.setBigInt64(p, timestamp), (p += 8));
  for (const b of [key, value]) {
    v.setInt32(p, b ? b.length : -1);
    p += 4;
    if (b) (out.set(b, p), (p += b.length));
  }
  // Independent CRC-32 where the runtime has one (node:zlib, Node >= 20.15), else crc-32.
  const z = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  v.setUint32(12, z ? z(out.subarray(16)) : crc32(out.subarray(16)));
  return out;
}
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};

describe('legacy message sets (magic 0 and 1)', () => {
  it('reads uncompressed v0 and v1 messages, null keys included', async () => {
    const set = concat(
      legacyMessage(0n, 0, 0, -1n, null, te.encode('zero')),
      legacyMessage(1n, 1, 0, 1234n, te.encode('k'), te.encode('one')),
    );
    const batches = await decodeRecordSet(set);
    assert.deepEqual(batches.map((b) => [b.magic, b.baseOffset]), [[0, 0n], [1, 1n]]);
    assert.equal(batches[0].records[0].key, null);
    assert.equal(td.decode(batches[1].records[0].value!), 'one');
    assert.equal(batches[1].records[0].timestamp.getTime(), 1234);
  });

  it('unwraps a gzip-compressed v1 wrapper with relative inner offsets', async () => {
    const inner = concat(...[0, 1, 2].map((i) => legacyMessage(BigInt(i), 1, 0, 5000n + BigInt(i), null, te.encode(`m${i}`))));
    const wrapper = legacyMessage(42n, 1, 1, 5002n, null, zlib.gzipSync(inner));
    const [b] = await decodeRecordSet(concat(wrapper, legacyMessage(43n, 1, 0, 1n, null, te.encode('next'))));
    assert.deepEqual(b.records.map((r) => [r.offset, td.decode(r.value!), r.timestamp.getTime()]), [
      [40n, 'm0', 5000],
      [41n, 'm1', 5001],
      [42n, 'm2', 5002],
    ]);
  });

  it('unwraps a snappy-compressed v0 wrapper with absolute inner offsets', async () => {
    const inner = concat(...[7, 8].map((i) => legacyMessage(BigInt(i), 0, 0, -1n, null, te.encode(`m${i}`))));
    const wrapper = legacyMessage(8n, 0, 2, -1n, null, await codecFor(2).compress(inner));
    const [b] = await decodeRecordSet(wrapper);
    assert.deepEqual(b.records.map((r) => r.offset), [7n, 8n]);
  });

  it('a bad legacy CRC is corruption', async () => {
    const m = legacyMessage(5n, 1, 0, 1n, null, te.encode('x'));
    m[m.length - 1] ^= 1;
    await assert.rejects(decodeRecordSet(m, { topic: 't', partition: 3 }), (e: unknown) => e instanceof CorruptRecordError && e.offset === 5n && e.partition === 3);
  });
});

describe('corrupt input is a CorruptRecordError naming topic, partition and offset', () => {
  const ctx = { topic: 'orders', partition: 2 };
  const isCorrupt = (offset: bigint | undefined, pattern: RegExp) => (e: unknown) =>
    e instanceof CorruptRecordError && e.topic === 'orders' && e.partition === 2 && e.offset === offset && pattern.test(e.message);

  it('bad CRC', async () => {
    const b = await encodeRecordBatch(sample(3), { baseOffset: 77n });
    b[b.length - 2] ^= 0xff;
    await assert.rejects(decodeRecordSet(b, ctx), isCorrupt(77n, /CRC/));
  });

  it('wrong magic', async () => {
    const b = await encodeRecordBatch(sample(3), { baseOffset: 77n });
    b[L.MAGIC] = 3;
    await assert.rejects(decodeRecordSet(b, ctx), isCorrupt(77n, /magic/));
  });

  it('negative batch length, and a length too short for a header', async () => {
    const b = await encodeRecordBatch(sample(3), { baseOffset: 77n });
    const v = new DataView(b.buffer, b.byteOffset);
    v.setInt32(L.BATCH_LENGTH, -5);
    await assert.rejects(decodeRecordSet(b, ctx), isCorrupt(77n, /negative/));
    v.setInt32(L.BATCH_LENGTH, 30);
    await assert.rejects(decodeRecordSet(b, ctx), isCorrupt(77n, /shorter than its/));
  });

  it('a record count that does not match the records', async () => {
    for (const count of [2, 4, 2_000_000_000, -1]) {
      const b = await encodeRecordBatch(sample(3), { baseOffset: 77n });
      const v = new DataView(b.buffer, b.byteOffset);
      v.setInt32(L.RECORD_COUNT, count);
      v.setUint32(L.CRC, crc32c(b.subarray(L.CRC_FROM)));
      await assert.rejects(decodeRecordSet(b, ctx), isCorrupt(77n, /record|count/));
    }
  });

  it('a record length that lies', async () => {
    const b = await encodeRecordBatch([{ value: te.encode('abc'), timestamp: 1 }], { baseOffset: 77n });
    b[L.HEADER_SIZE] = 0x7e; // record length 63 where 7 bytes follow
    new DataView(b.buffer, b.byteOffset).setUint32(L.CRC, crc32c(b.subarray(L.CRC_FROM)));
    await assert.rejects(decodeRecordSet(b, ctx), isCorrupt(77n, /record 0 of 1/));
  });

  for (const c of [1, 2, 3, 4] as const) {
    it(`a corrupt compressed stream (codec ${c})`, async () => {
      const b = await encodeRecordBatch(sample(50), { baseOffset: 77n, compression: zstdCompresses || c !== 4 ? c : 0 });
      if (c === 4 && !zstdCompresses) {
        // Make a zstd batch out of garbage: the decoder must refuse it.
        const v = new DataView(b.buffer, b.byteOffset);
        v.setInt16(L.ATTRIBUTES, 4);
      } else {
        for (let i = L.HEADER_SIZE + 4; i < b.length; i += 7) b[i] ^= 0x5a;
      }
      new DataView(b.buffer, b.byteOffset).setUint32(L.CRC, crc32c(b.subarray(L.CRC_FROM)));
      await assert.rejects(decodeRecordSet(b, ctx), isCorrupt(77n, /./));
    });
  }

  for (const c of CODECS.filter((x) => x !== 0)) {
    it(`a decompression bomb is refused at the cap (codec ${c})`, async () => {
      const big = new Uint8Array(4 << 20);
      const b = await encodeRecordBatch([{ value: big, timestamp: 1 }], { baseOffset: 77n, compression: c });
      assert.ok(b.length < 1 << 20, 'compresses well');
      await assert.rejects(decodeRecordSet(b, { ...ctx, maxDecompressedBytes: 1 << 20 }), isCorrupt(77n, /./));
      const [ok] = await decodeRecordSet(b, { ...ctx, maxDecompressedBytes: 8 << 20 });
      assert.equal(ok.records[0].value!.length, 4 << 20);
    });
  }

  it('a corrupt second batch fails the set; the first batch decodes on its own', async () => {
    const a = await encodeRecordBatch(sample(3), { baseOffset: 0n });
    const b = await encodeRecordBatch(sample(3), { baseOffset: 3n });
    b[b.length - 1] ^= 1;
    await assert.rejects(decodeRecordSet(concat(a, b), ctx), isCorrupt(3n, /CRC/));
    assert.equal((await decodeRecordSet(a, ctx))[0].records.length, 3);
  });
});
