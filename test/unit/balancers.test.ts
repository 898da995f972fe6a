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
