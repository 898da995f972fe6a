// Primitive encodings, byte for byte as the protocol guide defines them, and the reader's bounds checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolDecodeError } from '../../src/protocol/errors.ts';
import { ByteReader, ByteWriter, ZERO_UUID, uvarintSize, varintSize, varlongSize } from '../../src/protocol/wire/index.ts';

const bytes = (f: (w: ByteWriter) => void) => {
  const w = new ByteWriter(1);
  f(w);
  return [...w.finish()];
};

describe('wire: writer vectors', () => {
  it('fixed-width integers are big-endian', () => {
    assert.deepEqual(bytes((w) => w.int16(-2)), [0xff, 0xfe]);
    assert.deepEqual(bytes((w) => w.int32(0x01020304)), [1, 2, 3, 4]);
    assert.deepEqual(bytes((w) => w.int64(-1n)), [255, 255, 255, 255, 255, 255, 255, 255]);
    assert.deepEqual(bytes((w) => w.uint32(0xfffffffe)), [0xff, 0xff, 0xff, 0xfe]);
    assert.deepEqual(bytes((w) => w.float64(1)), [0x3f, 0xf0, 0, 0, 0, 0, 0, 0]);
  });

  it('varints: unsigned, zig-zag int32, zig-zag int64', () => {
    assert.deepEqual(bytes((w) => w.uvarint(300)), [0xac, 0x02]);
    assert.deepEqual(bytes((w) => w.uvarint(0xffffffff)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert.deepEqual(bytes((w) => w.varint(-1)), [0x01]);
    assert.deepEqual(bytes((w) => w.varint(1)), [0x02]);
    assert.deepEqual(bytes((w) => w.varint(-2147483648)), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert.deepEqual(bytes((w) => w.varlong(-1n)), [0x01]);
    assert.deepEqual(bytes((w) => w.varlong(-9223372036854775808n)), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    assert.equal(uvarintSize(300), 2);
    assert.equal(varintSize(-65), 2);
    assert.equal(varlongSize(2n ** 61n), 9); // zig-zag: 2^62, 63 bits
    assert.equal(varlongSize(2n ** 62n), 10);
  });

  it('strings and bytes, classic and compact, null markers', () => {
    assert.deepEqual(bytes((w) => w.string('a')), [0, 1, 0x61]);
    assert.deepEqual(bytes((w) => w.nullableString(null)), [0xff, 0xff]);
    assert.deepEqual(bytes((w) => w.compactString('a')), [0x02, 0x61]);
    assert.deepEqual(bytes((w) => w.compactNullableString(null)), [0x00]);
    assert.deepEqual(bytes((w) => w.compactString('é')), [0x03, 0xc3, 0xa9]);
    assert.deepEqual(bytes((w) => w.nullableBytes(null)), [0xff, 0xff, 0xff, 0xff]);
    assert.deepEqual(bytes((w) => w.compactBytes(new Uint8Array([9]))), [0x02, 9]);
    assert.deepEqual(bytes((w) => w.arrayLength(null)), [0xff, 0xff, 0xff, 0xff]);
    assert.deepEqual(bytes((w) => w.compactArrayLength(2)), [0x03]);
  });

  it('uuids are 16 bytes; their string form is base64url like Java Uuid.toString', () => {
    assert.deepEqual(bytes((w) => w.uuid(ZERO_UUID)), new Array(16).fill(0));
    const w = new ByteWriter();
    w.uuid('AQIDBAUGBwgJCgsMDQ4PEA');
    assert.deepEqual([...w.finish()], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    assert.equal(new ByteReader(w.finish()).uuid(), 'AQIDBAUGBwgJCgsMDQ4PEA');
  });

  it('grows without losing bytes and back-patches reserved space', () => {
    const w = new ByteWriter(1);
    const at = w.reserve(4);
    for (let i = 0; i < 10_000; i++) w.int8(i & 0x7f);
    w.setInt32At(at, w.length - 4);
    const r = new ByteReader(w.finish());
    assert.equal(r.int32(), 10_000);
    for (let i = 0; i < 10_000; i++) assert.equal(r.int8(), i & 0x7f);
  });
});

describe('wire: reader round trips and bounds', () => {
  it('reads back everything the writer writes', () => {
    const w = new ByteWriter();
    w.int8(-5); w.int16(-300); w.int32(-70000); w.int64(1n << 40n); w.uint16(65535); w.bool(true);
    w.uvarint(1 << 30); w.varint(-12345); w.varlong(-(1n << 50n)); w.varlong(7n);
    w.string('héllo'); w.nullableString(null); w.compactString('x'.repeat(200)); w.compactNullableString(null);
    w.bytes(new Uint8Array([1, 2])); w.compactNullableBytes(null);
    const r = new ByteReader(w.finish());
    assert.equal(r.int8(), -5); assert.equal(r.int16(), -300); assert.equal(r.int32(), -70000);
    assert.equal(r.int64(), 1n << 40n); assert.equal(r.uint16(), 65535); assert.equal(r.bool(), true);
    assert.equal(r.uvarint(), 1 << 30); assert.equal(r.varint(), -12345); assert.equal(r.varlong(), -(1n << 50n)); assert.equal(r.varlong(), 7n);
    assert.equal(r.string(), 'héllo'); assert.equal(r.nullableString(), null); assert.equal(r.compactString(), 'x'.repeat(200));
    assert.equal(r.compactNullableString(), null); assert.deepEqual([...r.bytes()], [1, 2]); assert.equal(r.compactNullableBytes(), null);
    assert.equal(r.remaining, 0);
  });

  it('bytes are views into the input, not copies', () => {
    const input = new Uint8Array([0, 0, 0, 2, 7, 8]);
    const b = new ByteReader(input).bytes();
    assert.equal(b.buffer, input.buffer);
    assert.equal(b.byteOffset, 4);
  });

  const bad: [string, number[], (r: ByteReader) => unknown][] = [
    ['truncated int32', [0, 0, 1], (r) => r.int32()],
    ['string longer than the input', [0, 9, 0x61], (r) => r.string()],
    ['negative string length other than -1', [0xff, 0xfe], (r) => r.nullableString()],
    ['null where non-null is required', [0xff, 0xff], (r) => r.string()],
    ['bytes length 2 GiB', [0x7f, 0xff, 0xff, 0xff], (r) => r.bytes()],
    ['array count beyond the bytes', [0x00, 0x10, 0, 0, 1, 2], (r) => r.arrayLength()],
    ['compact array count beyond the bytes', [0x90, 0x4e], (r) => r.compactArrayLength()],
    ['varint longer than 5 bytes', [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], (r) => r.uvarint()],
    ['varint cut short', [0xff], (r) => r.uvarint()],
    ['varlong longer than 10 bytes', new Array(11).fill(0xff), (r) => r.varlong()],
    ['uuid cut short', [1, 2, 3], (r) => r.uuid()],
  ];
  for (const [name, input, read] of bad) {
    it(`refuses ${name} with ProtocolDecodeError`, () => {
      assert.throws(() => read(new ByteReader(new Uint8Array(input))), ProtocolDecodeError);
    });
  }
});
