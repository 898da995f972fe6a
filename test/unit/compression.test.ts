// The record-batch codecs must read what other Kafka clients write (Java's xerial snappy and LZ4
// frames, zlib's gzip and zstd), write what they read, and refuse corrupt input or size bombs with
// CorruptRecordError rather than a stray RangeError or an out-of-memory crash.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import lz4js from 'lz4js';
import snappyjs from 'snappyjs';
import {
  Compression,
  builtinCodec,
  codecFor,
  compressionName,
  parseCompression,
  registerCodec,
  xxhash32,
} from '../../src/protocol/compression/index.ts';
import type { CompressionCodec, CompressionType } from '../../src/protocol/compression/index.ts';
import { CorruptRecordError, KafkaError } from '../../src/protocol/errors.ts';

const enc = new TextEncoder();
const MiB = 1024 * 1024;
const zstdNative = typeof (zlib as unknown as { zstdCompress?: unknown }).zstdCompress === 'function';
const codecTypes = [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd] as const;
const canCompress = (t: CompressionType) => t !== Compression.Zstd || zstdNative;

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
function randomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function records(n: number): Uint8Array {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < n; i++) {
    const s = JSON.stringify({ id: i, user: `user-${i % 97}`, event: i % 3 ? 'click' : 'view', ts: 1700000000000 + i * 13 });
    parts.push(s);
    size += s.length;
  }
  return enc.encode(parts.join('\n')).subarray(0, n);
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** A zstd frame built by hand from RLE blocks of 128 KiB: `size` zero bytes, optionally declaring its content size. */
function zstdRleFrame(size: number, declareSize: boolean): Uint8Array {
  const bytes: number[] = [0x28, 0xb5, 0x2f, 0xfd];
  bytes.push(declareSize ? 0xc0 : 0x00, 0x58); // FHD (8-byte content size or none), window 2 MiB
  if (declareSize) for (let i = 0; i < 8; i++) bytes.push(i < 4 ? (size >>> (8 * i)) & 0xff : 0);
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 128 * 1024);
    left -= n;
    const header = (left === 0 ? 1 : 0) | (1 << 1) | (n << 3);
    bytes.push(header & 0xff, (header >>> 8) & 0xff, (header >>> 16) & 0xff, 0);
  }
  return Uint8Array.from(bytes);
}

async function rejectsCorrupt(p: Promise<unknown>, label: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CorruptRecordError, `${label}: expected CorruptRecordError, got ${String(err)}`);
    return true;
  });
}

describe('compression names and registry', () => {
  it('names and parses every type', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(compressionName), ['none', 'gzip', 'snappy', 'lz4', 'zstd']);
    assert.equal(compressionName(7), 'unknown(7)');
    assert.equal(parseCompression('lz4'), 3);
    assert.equal(parseCompression('ZSTD' as 'zstd'), 4);
    assert.equal(parseCompression(2), 2);
    assert.throws(() => parseCompression('brotli' as 'zstd'), KafkaError);
    assert.throws(() => parseCompression(9 as CompressionType), KafkaError);
  });

  it('codecFor refuses none and unknown types', () => {
    assert.throws(() => codecFor(0), KafkaError);
    assert.throws(() => codecFor(5 as CompressionType), KafkaError);
    assert.deepEqual(codecTypes.map((t) => codecFor(t).name), ['gzip', 'snappy', 'lz4', 'zstd']);
  });

  it('registerCodec overrides the built-in codec and can be restored', async () => {
    const original = codecFor(Compression.Snappy);
    const fake: CompressionCodec = {
      name: 'fake-snappy',
      compress: async (d) => d.slice(),
      decompress: async (d) => d.slice(),
    };
    registerCodec(Compression.Snappy, fake);
    try {
      assert.equal(codecFor(Compression.Snappy), fake);
      assert.deepEqual(await codecFor(2).compress(enc.encode('x')), enc.encode('x'));
    } finally {
      registerCodec(Compression.Snappy, builtinCodec(Compression.Snappy));
    }
    assert.equal(codecFor(Compression.Snappy), original);
    assert.throws(() => registerCodec(0 as 1, fake), KafkaError);
  });
});

describe('round trips', () => {
  const inputs: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['small', enc.encode('hello hello hello kafka')],
    ['1 MiB random', randomBytes(MiB)],
    ['1 MiB repetitive', records(MiB)],
    ['odd size across blocks', records(3 * 65536 + 7)],
  ];
  for (const type of codecTypes) {
    it(`${compressionName(type)} round-trips`, { skip: !canCompress(type) && 'no zstd compressor in this runtime' }, async () => {
      const codec = codecFor(type);
      for (const [label, data] of inputs) {
        const packed = await codec.compress(data);
        const back = await codec.decompress(packed, data.length);
        assert.equal(back.length, data.length, label);
        assert.ok(Buffer.from(back).equals(Buffer.from(data)), `${compressionName(type)} ${label}`);
        if (label === '1 MiB repetitive') assert.ok(packed.length < data.length / 3, `${label} compresses`);
      }
    });
  }

  it('zstd compression without native support says how to fix it', { skip: zstdNative && 'runtime has zstd' }, async () => {
    await assert.rejects(codecFor(4).compress(enc.encode('x')), (err: unknown) => {
      assert.ok(err instanceof KafkaError && !(err instanceof CorruptRecordError));
      assert.equal(err.retriable, false);
      assert.match(err.message, /registerCodec\(4/);
      return true;
    });
  });
});

describe('xxhash32', () => {
  it('matches the reference vectors', () => {
    assert.equal(xxhash32(new Uint8Array(0), 0), 0x02cc5d05);
    assert.equal(xxhash32(enc.encode('a'), 0), 0x550d7456);
    assert.equal(xxhash32(enc.encode('abc'), 0), 0x32d153ff);
    assert.equal(xxhash32(enc.encode('Nobody inspects the spammish repetition'), 0), 0xe2293b2f);
  });

  it('agrees with lz4js on long inputs and seeds', async () => {
    const { default: lz4xxh } = (await import('lz4js/xxh32.js' as string)) as {
      default: { hash(seed: number, src: Uint8Array, index: number, len: number): number };
    };
    for (const n of [15, 16, 17, 31, 32, 33, 1000, 65537]) {
      const data = randomBytes(n, n);
      for (const seed of [0, 1, 0x9e3779b1]) assert.equal(xxhash32(data, seed), lz4xxh.hash(seed, data, 0, n) >>> 0, `n=${n}`);
    }
  });
});

describe('lz4 frames', () => {
  it('writes the header KafkaLZ4BlockOutputStream writes', async () => {
    const frame = await codecFor(3).compress(enc.encode('hello'));
    assert.deepEqual([...frame.subarray(0, 4)], [0x04, 0x22, 0x4d, 0x18]);
    assert.equal(frame[4], 0x60);
    assert.equal(frame[5], 0x40);
    assert.equal(frame[6], (xxhash32(Uint8Array.of(0x60, 0x40), 0) >>> 8) & 0xff);
    assert.equal(frame[6], 0x82);
    assert.deepEqual([...frame.subarray(frame.length - 4)], [0, 0, 0, 0]);
  });

  it('reads lz4js frames (linked 4 MiB blocks) and lz4js reads ours', async () => {
    for (const data of [records(MiB), randomBytes(100000), enc.encode('tiny')]) {
      const theirs = lz4js.compress(data);
      assert.ok(Buffer.from(await codecFor(3).decompress(theirs, data.length)).equals(Buffer.from(data)));
      const ours = await codecFor(3).compress(data);
      assert.ok(Buffer.from(lz4js.decompress(ours)).equals(Buffer.from(data)));
    }
  });

  it('keeps blocks independent while its window and hash table are reused across calls', async () => {
    // Alike batches of many sizes, 6 MiB in all: the 1 MiB window wraps several times, and every
    // block repeats what earlier blocks held, so a match reaching across blocks would be found if
    // one were allowed. The decoder refuses a match before its block's start (independent blocks).
    const base = records(300_000);
    let total = 0;
    for (let i = 0; total < 6 * MiB; i++) {
      const size = [1, 15, 1000, 16 * 1024, 65520, 65521, 100_000, 300_000][i % 8]!;
      const data = base.subarray(i % 97, (i % 97) + size);
      const frame = await codecFor(3).compress(data);
      assert.ok(Buffer.from(await codecFor(3).decompress(frame, data.length)).equals(Buffer.from(data)), `batch ${i} of ${size} B`);
      assert.ok(Buffer.from(lz4js.decompress(frame)).equals(Buffer.from(data)), `lz4js reads batch ${i}`);
      total += size;
    }
  });

  it('honours optional frame fields and skips skippable frames', async () => {
    const payload = enc.encode('abcdefgh'.repeat(10));
    // Hand-built: FLG with block checksum, content size and content checksum; one stored block.
    const frame = [0x04, 0x22, 0x4d, 0x18, 0x40 | 0x20 | 0x10 | 0x08 | 0x04, 0x40];
    frame.push(payload.length, 0, 0, 0, 0, 0, 0, 0, 0x00 /* HC, not checked */);
    frame.push(payload.length, 0, 0, 0x80, ...payload, 1, 2, 3, 4 /* block checksum */);
    frame.push(0, 0, 0, 0, 9, 9, 9, 9 /* content checksum */);
    const skippable = [0x53, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 7, 7, 7];
    const second = await codecFor(3).compress(enc.encode('!'));
    const all = Uint8Array.from([...skippable, ...frame, ...second]);
    assert.equal(new TextDecoder().decode(await codecFor(3).decompress(all, 1000)), 'abcdefgh'.repeat(10) + '!');
  });
});

describe('snappy', () => {
  it('writes xerial framing with 32 KiB blocks', async () => {
    const out = await codecFor(2).compress(records(100000));
    assert.deepEqual([...out.subarray(0, 16)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    let blocks = 0;
    for (let pos = 16; pos < out.length; blocks++) pos += 4 + new DataView(out.buffer, out.byteOffset).getInt32(pos);
    assert.equal(blocks, 4);
  });

  it('reads a raw snappy block and snappyjs-produced xerial blocks', async () => {
    const data = records(200000);
    const raw = snappyjs.compress(data);
    assert.ok(Buffer.from(await codecFor(2).decompress(raw, data.length)).equals(Buffer.from(data)));
    assert.ok(Buffer.from(snappyjs.uncompress(raw)).equals(Buffer.from(data)));
  });
});

describe('interop with node:zlib and hand-built zstd', () => {
  it('gzip reads zlib output, including several members', async () => {
    const a = enc.encode('first member '), b = enc.encode('second member');
    const joined = Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b)]);
    assert.equal(new TextDecoder().decode(await codecFor(1).decompress(joined, 100)), 'first member second member');
  });

  it('zstd reads frames with and without a content size', async () => {
    // Written by Deno's node:zlib zstdCompressSync: no content size, and with one.
    const text = 'hello zstd '.repeat(50);
    for (const fixture of ['28b52ffd00589500005868656c6c6f207a737464200100185c152f', '28b52ffd6026019500005868656c6c6f207a737464200100185c152f']) {
      assert.equal(new TextDecoder().decode(await codecFor(4).decompress(hex(fixture), 1000)), text);
    }
    for (const declared of [false, true]) {
      const out = await codecFor(4).decompress(zstdRleFrame(300000, declared), 300000);
      assert.equal(out.length, 300000);
      assert.ok(out.every((b) => b === 0));
    }
  });

  it('zstd reads zlib zstdCompressSync output', { skip: !zstdNative && 'no zstd in node:zlib' }, async () => {
    const data = records(MiB);
    const z = zlib as unknown as { zstdCompressSync(d: Uint8Array): Uint8Array };
    assert.ok(Buffer.from(await codecFor(4).decompress(z.zstdCompressSync(data), MiB)).equals(Buffer.from(data)));
  });
});

describe('size bombs and corrupt input', () => {
  const zeros = new Uint8Array(10 * MiB);

  for (const type of codecTypes) {
    const name = compressionName(type);
    it(`${name} refuses more output than maxOutput`, async () => {
      const bombs: Uint8Array[] = [];
      if (canCompress(type)) bombs.push(await codecFor(type).compress(zeros));
      if (type === Compression.Zstd) bombs.push(zstdRleFrame(zeros.length, false), zstdRleFrame(zeros.length, true));
      if (type === Compression.Lz4) bombs.push(lz4js.compress(zeros));
      for (const bomb of bombs) {
        assert.ok(bomb.length < MiB);
        await rejectsCorrupt(codecFor(type).decompress(bomb, MiB), name);
        // The limit is inclusive.
        assert.equal((await codecFor(type).decompress(bomb, zeros.length)).length, zeros.length);
        await rejectsCorrupt(codecFor(type).decompress(bomb, zeros.length - 1), `${name} off by one`);
      }
    });

    it(`${name} refuses truncated and garbage input`, async () => {
      const codec = codecFor(type);
      const data = records(200000);
      const samples: Uint8Array[] = [new Uint8Array(0), randomBytes(1), randomBytes(1000, 7), new Uint8Array(64).fill(0xff)];
      const good = canCompress(type)
        ? await codec.compress(data)
        : zstdRleFrame(300000, false);
      for (const cut of [1, 5, 17, Math.floor(good.length / 2), good.length - 1]) samples.push(good.subarray(0, cut));
      for (const sample of samples) await rejectsCorrupt(codec.decompress(sample, 10 * MiB), `${name} ${sample.length} bytes`);
      // Flipping bytes must never escape as anything but CorruptRecordError (or decode to something).
      for (let i = 0; i < 200; i++) {
        const copy = good.slice();
        const at = (i * 7919) % copy.length;
        copy[at] ^= 1 + (i % 255);
        try {
          await codec.decompress(copy, 10 * MiB);
        } catch (err) {
          assert.ok(err instanceof CorruptRecordError, `${name} flip at ${at}: ${String(err)}`);
        }
      }
    });
  }

  it('lz4 and snappy refuse a declared length over the limit before decoding', async () => {
    // A raw snappy block claiming 2^32-1 bytes.
    await rejectsCorrupt(codecFor(2).decompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 0), MiB), 'snappy');
    const frame = Uint8Array.of(0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0);
    await rejectsCorrupt(codecFor(3).decompress(frame, MiB), 'lz4 content size');
  });
});
