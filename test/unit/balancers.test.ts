// Keyed partition choice must equal other clients'. Vectors come from the algorithms' own references:
// Kafka's UtilsTest.testMurmur2 for murmur2; the FNV-1a and CRC-32 reference values for the others.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CRC32Balancer, Hash, LeastBytes, Murmur2Balancer, RoundRobin, murmur2 } from '../../src/client/writer/balancers.ts';

const enc = new TextEncoder();
const msg = (key: string | null, value = 'v') => ({ key: key === null ? null : enc.encode(key), value: enc.encode(value) });
const parts = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('balancers', () => {
  it('murmur2 equals the Java client (Kafka UtilsTest vectors)', () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [k, h] of vectors) assert.equal(murmur2(enc.encode(k)), h, k);
  });

  it('Murmur2Balancer picks toPositive(murmur2) % n, like the Java DefaultPartitioner', () => {
    const b = new Murmur2Balancer();
    // toPositive(-973932308) = -973932308 & 0x7fffffff = 1173551340; % 6 = 0
    assert.equal(b.balance(msg('21'), parts(6)), (-973932308 & 0x7fffffff) % 6);
    assert.equal(b.balance(msg('foobar'), parts(12)), (-790332482 & 0x7fffffff) % 12);
    assert.equal(b.balance(msg('abc'), parts(3)), 479470107 % 3);
  });

  it('Murmur2Balancer keeps unkeyed messages on one partition for a while, then moves', () => {
    const b = new Murmur2Balancer(10);
    const first = Array.from({ length: 10 }, () => b.balance(msg(null), parts(4)));
    assert.equal(new Set(first).size, 1);
    const next = b.balance(msg(null), parts(4));
    assert.notEqual(next, first[0]);
  });

  it('Hash is FNV-1a 32 as kafka-go computes it', () => {
    // FNV-1a 32("foobar") = 0xbf9cf968 → int32 -1080231576; % 7 = -4 → 4 (kafka-go takes the absolute value)
    assert.equal(new Hash().balance(msg("foobar"), parts(7)), 4);
    // FNV-1a 32("a") = 0xe40c292c → int32 -468965076 % 5 = -1 → 1
    assert.equal(new Hash().balance(msg('a'), parts(5)), 1);
  });

  it('CRC32Balancer is crc32(key) % n (librdkafka consistent, Sarama)', () => {
    // crc32("123456789") = 0xcbf43926 = 3421780262; % 10 = 2
    assert.equal(new CRC32Balancer().balance(msg('123456789'), parts(10)), 2);
  });

  it('RoundRobin cycles; LeastBytes evens bytes out', () => {
    const rr = new RoundRobin();
    assert.deepEqual(Array.from({ length: 5 }, () => rr.balance(msg(null), [3, 5, 7])), [3, 5, 7, 3, 5]);
    const lb = new LeastBytes();
    assert.equal(lb.balance(msg(null, 'x'.repeat(100)), [0, 1]), 0);
    assert.equal(lb.balance(msg(null, 'y'), [0, 1]), 1);
    assert.equal(lb.balance(msg(null, 'z'), [0, 1]), 1);
  });
});

// Output of the real Java client (kafka-clients 4.3.1): Utils.murmur2(key) and
// Utils.toPositive(Utils.murmur2(key)) % n for n = 1, 3, 6, 7, 12, 100, from a single-file program run as
//   java -cp "$HOME/.cache/mka/kafka/4.3.1/libs/*" Murmur.java
// (BuiltInPartitioner.partitionForKey("hello", 7) printed 4, the same as the table's n = 7 column).
const NS = [1, 3, 6, 7, 12, 100];
const JAVA_STRING_VECTORS: [string, number, number[]][] = [
  ['', 275646681, [0, 0, 3, 2, 9, 81]],
  ['a', -1563381124, [0, 1, 4, 5, 4, 24]],
  ['ab', 316155434, [0, 2, 2, 0, 2, 34]],
  ['abc', 479470107, [0, 0, 3, 4, 3, 7]],
  ['abcd', -1323649548, [0, 2, 2, 5, 8, 0]],
  ['abcde', 461995741, [0, 1, 1, 4, 1, 41]],
  ['hello', 2132663229, [0, 0, 3, 4, 9, 29]],
  ['key-0', 29210041, [0, 1, 1, 0, 1, 41]],
  ['key-1', 193331640, [0, 0, 0, 5, 0, 40]],
  ['key-42', -187086521, [0, 0, 3, 3, 3, 27]],
  ['user:1234', 1346055359, [0, 2, 5, 5, 11, 59]],
  ['ключ', 2122343024, [0, 2, 2, 4, 8, 24]],
  ['🙂', 925250799, [0, 0, 3, 4, 3, 99]],
  ['a-little-bit-longer-string', -1486304829, [0, 2, 5, 0, 11, 19]],
];
const JAVA_BYTE_VECTORS: [string, number, number[]][] = [
  ['ff', -311467685, [0, 0, 3, 5, 3, 63]],
  ['8081', 1642145146, [0, 1, 4, 5, 10, 46]],
  ['000000', 1013532917, [0, 2, 5, 5, 5, 17]],
  ['fffefdfcfb', 524068735, [0, 1, 1, 1, 7, 35]],
];
const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

/**
 * An independent, deliberately plain transcription of Kafka's Utils.murmur2 in BigInt arithmetic
 * (no Math.imul, no shifts on JS int32), so the vectors are checked by two different implementations.
 */
function murmur2Reference(data: Uint8Array): number {
  const M32 = (1n << 32n) - 1n;
  const mul = (a: bigint, b: bigint) => (a * b) & M32;
  const m = 0x5bd1e995n;
  let h = (0x9747b28cn ^ BigInt(data.length)) & M32;
  const n4 = Math.floor(data.length / 4);
  for (let i = 0; i < n4; i++) {
    let k = BigInt(data[4 * i]) + (BigInt(data[4 * i + 1]) << 8n) + (BigInt(data[4 * i + 2]) << 16n) + (BigInt(data[4 * i + 3]) << 24n);
    k = mul(k, m);
    k ^= k >> 24n;
    k = mul(k, m);
    h = mul(h, m);
    h ^= k;
  }
  const rest = data.length % 4;
  const tail = data.length - rest;
  if (rest >= 3) h ^= BigInt(data[tail + 2]) << 16n;
  if (rest >= 2) h ^= BigInt(data[tail + 1]) << 8n;
  if (rest >= 1) {
    h ^= BigInt(data[tail]);
    h = mul(h, m);
  }
  h ^= h >> 13n;
  h = mul(h, m);
  h ^= h >> 15n;
  return Number(BigInt.asIntN(32, h));
}

/** FNV-1a 32 in BigInt, straight from the definition (offset basis 2166136261, prime 16777619). */
function fnv1a32(data: Uint8Array): number {
  let h = 2166136261n;
  for (const b of data) h = ((h ^ BigInt(b)) * 16777619n) & 0xffffffffn;
  return Number(h);
}

describe('balancers against the Java client and references', () => {
  it('murmur2 and the keyed partition equal the Java client (strings as UTF-8, and raw bytes)', () => {
    const all = [
      ...JAVA_STRING_VECTORS.map(([k, h, p]) => [k, enc.encode(k), h, p] as const),
      ...JAVA_BYTE_VECTORS.map(([k, h, p]) => [k, hex(k), h, p] as const),
    ];
    const b = new Murmur2Balancer();
    for (const [name, key, hash, partitions] of all) {
      assert.equal(murmur2(key), hash, `murmur2(${name})`);
      assert.equal(murmur2Reference(key), hash, `reference murmur2(${name})`);
      NS.forEach((n, i) => assert.equal(b.balance({ key, value: null }, parts(n)), partitions[i], `${name} % ${n}`));
    }
  });

  it('murmur2 agrees with the reference on random keys of every length', () => {
    let seed = 42;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    for (let len = 0; len < 300; len++) {
      const key = Uint8Array.from({ length: len }, rnd);
      assert.equal(murmur2(key), murmur2Reference(key), `length ${len}`);
    }
  });

  it('an empty key is a key (hashed), a null key is not, for murmur2 and Hash; CRC32 treats both as none', () => {
    const empty = { key: new Uint8Array(0), value: null };
    assert.equal(new Murmur2Balancer().balance(empty, parts(7)), 2); // Java: "" → 2 for n = 7
    // FNV-1a 32("") = 0x811c9dc5 → int32 -2128831035 % 7 = -2 → 2
    assert.equal(new Hash().balance(empty, parts(7)), 2);
    const crc = new CRC32Balancer();
    const seen = new Set(Array.from({ length: 12 }, () => crc.balance(empty, parts(3))));
    assert.equal(seen.size, 3, 'empty keys spread like unkeyed ones');
    assert.equal(new CRC32Balancer(true).balance(empty, parts(3)), 0, 'consistent: crc32("") = 0');
  });

  it('Hash equals kafka-go (int32(fnv1a) % n, negated when negative) for many keys', () => {
    const h = new Hash();
    for (let i = 0; i < 500; i++) {
      const key = enc.encode(`key-${i}`);
      for (const n of [1, 2, 3, 5, 7, 12, 64]) {
        let want = (fnv1a32(key) | 0) % n;
        if (want < 0) want = -want;
        want += 0; // -0 → 0
        assert.equal(h.balance({ key, value: null }, parts(n)), want);
      }
    }
    assert.equal(fnv1a32(enc.encode('a')), 0xe40c292c);
    assert.equal(fnv1a32(enc.encode('foobar')), 0xbf9cf968);
  });

  it('CRC32Balancer is unsigned crc32(key) % n (librdkafka, Sarama consistent CRC, kafka-go)', () => {
    const b = new CRC32Balancer();
    // Reference CRC-32 (IEEE) values: "a" = 0xe8b7be43, "abc" = 0x352441c2, "hello" = 0x3610a686.
    assert.equal(b.balance(msg('a'), parts(7)), 0xe8b7be43 % 7);
    assert.equal(b.balance(msg('abc'), parts(100)), 0x352441c2 % 100);
    assert.equal(b.balance(msg('hello'), parts(12)), 0x3610a686 % 12);
  });

  it('balancers return ids from the list given (non-contiguous partitions)', () => {
    const list = [2, 5, 9];
    for (const b of [new RoundRobin(), new LeastBytes(), new Hash(), new CRC32Balancer(), new Murmur2Balancer()]) {
      for (let i = 0; i < 20; i++) assert.ok(list.includes(b.balance(msg(i % 2 ? `k${i}` : null), list)));
    }
  });
});
