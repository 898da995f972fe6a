// Growable byte writer for Kafka's primitive types. Capacity doubles, so writing n bytes costs O(n)
// copies in all; finish() hands out a view, not a copy. Web-standard APIs only.
import { ProtocolEncodeError } from '../errors.ts';
import { uuidFromString } from './uuid.ts';
import { zigzag32, zigzag64 } from './varint.ts';

const encoder = new TextEncoder();

/** UTF-8 length of a JavaScript string, without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else n += 2;
  }
  return n;
}

export class ByteWriter {
  buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  reset(): void {
    this.pos = 0;
  }

  /** The bytes written so far, as a view (valid until the next write or reset). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Skips n bytes to be filled in later; returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  setInt32At(offset: number, v: number): void {
    this.view.setInt32(offset, v);
  }

  setUint32At(offset: number, v: number): void {
    this.view.setUint32(offset, v);
  }

  setInt16At(offset: number, v: number): void {
    this.view.setInt16(offset, v);
  }

  int8(v: number): void {
    this.ensure(1);
    this.view.setInt8(this.pos, v);
    this.pos += 1;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  int64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  uuid(v: string): void {
    this.ensure(16);
    uuidFromString(v, this.buf, this.pos);
    this.pos += 16;
  }

  /** Unsigned varint, 0 ≤ v < 2^32. */
  uvarint(v: number): void {
    this.ensure(5);
    v >>>= 0;
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
  }

  /** Zig-zag varint of an int32. */
  varint(v: number): void {
    this.uvarint(zigzag32(v));
  }

  /** Zig-zag varlong of an int64. */
  varlong(v: bigint): void {
    let u = zigzag64(v);
    if (u < 0x80000000n) return this.uvarint(Number(u));
    this.ensure(10);
    const b = this.buf;
    while (u >= 0x80n) {
      b[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    b[this.pos++] = Number(u);
  }

  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Writes the UTF-8 of s, whose byte length is already known. */
  private utf8(s: string, bytes: number): void {
    this.ensure(bytes);
    if (bytes === s.length) {
      const b = this.buf;
      for (let i = 0; i < s.length; i++) b[this.pos + i] = s.charCodeAt(i);
    } else {
      encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + bytes));
    }
    this.pos += bytes;
  }

  string(v: string): void {
    const n = utf8Length(v);
    if (n > 0x7fff) throw new ProtocolEncodeError(`string of ${n} bytes exceeds the int16 length limit`);
    this.int16(n);
    this.utf8(v, n);
  }

  nullableString(v: string | null): void {
    if (v === null) this.int16(-1);
    else this.string(v);
  }

  compactString(v: string): void {
    const n = utf8Length(v);
    this.uvarint(n + 1);
    this.utf8(v, n);
  }

  compactNullableString(v: string | null): void {
    if (v === null) this.uvarint(0);
    else this.compactString(v);
  }

  bytes(v: Uint8Array): void {
    this.int32(v.length);
    this.raw(v);
  }

  nullableBytes(v: Uint8Array | null): void {
    if (v === null) this.int32(-1);
    else this.bytes(v);
  }

  compactBytes(v: Uint8Array): void {
    this.uvarint(v.length + 1);
    this.raw(v);
  }

  compactNullableBytes(v: Uint8Array | null): void {
    if (v === null) this.uvarint(0);
    else this.compactBytes(v);
  }

  /** Zig-zag varlong of an integer held in a JS number (|v| < 2^53): record timestamps without BigInt. */
  varlongNumber(v: number): void {
    if (v >= -0x40000000 && v < 0x40000000) return this.varint(v);
    let u = v >= 0 ? v * 2 : -v * 2 - 1;
    this.ensure(10);
    const b = this.buf;
    while (u >= 0x80) {
      b[this.pos++] = (u % 0x80) | 0x80;
      u = Math.floor(u / 0x80);
    }
    b[this.pos++] = u;
  }

  /** Record-format bytes: zig-zag varint length (-1 for null), then the bytes. */
  varintBytes(v: Uint8Array | null): void {
    if (v === null) return this.varint(-1);
    this.varint(v.length);
    this.raw(v);
  }

  /** Record-format string (header keys): zig-zag varint byte length, then UTF-8. */
  varintString(v: string): void {
    const n = utf8Length(v);
    this.varint(n);
    this.utf8(v, n);
  }

  /** Classic array length: int32, -1 for null. */
  arrayLength(n: number | null): void {
    this.int32(n === null ? -1 : n);
  }

  /** Compact array length: uvarint n+1, 0 for null. */
  compactArrayLength(n: number | null): void {
    this.uvarint(n === null ? 0 : n + 1);
  }
}
