// Bounds-checked reader over a Uint8Array. Every length read from the input is checked against the
// bytes that remain before anything is allocated, so a corrupt or hostile length fails fast with a
// ProtocolDecodeError. Byte fields are returned as views into the input, never copied.
import { ProtocolDecodeError } from '../errors.ts';
import { uuidToString } from './uuid.ts';
import { unzigzag32, unzigzag64 } from './varint.ts';

const decoder = new TextDecoder();

export class ByteReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  offset: number;
  readonly end: number;

  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless n more bytes are there. */
  need(n: number, what: string): void {
    if (this.end - this.offset < n) {
      throw new ProtocolDecodeError(
        `${what}: needs ${n} bytes, ${this.end - this.offset} left at offset ${this.offset}`,
        undefined,
        undefined,
        undefined,
        this.offset,
      );
    }
  }

  private fail(message: string): never {
    throw new ProtocolDecodeError(`${message} at offset ${this.offset}`, undefined, undefined, undefined, this.offset);
  }

  skip(n: number): void {
    this.need(n, 'skip');
    this.offset += n;
  }

  int8(): number {
    this.need(1, 'int8');
    return this.view.getInt8(this.offset++);
  }

  bool(): boolean {
    this.need(1, 'bool');
    return this.buf[this.offset++] !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.view.getInt16(this.offset);
    this.offset += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.view.getInt32(this.offset);
    this.offset += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  int64(): bigint {
    this.need(8, 'int64');
    const v = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return v;
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.view.getFloat64(this.offset);
    this.offset += 8;
    return v;
  }

  uuid(): string {
    this.need(16, 'uuid');
    const s = uuidToString(this.buf, this.offset);
    this.offset += 16;
    return s;
  }

  /** Unsigned varint of at most 5 bytes (values up to 2^32-1). */
  uvarint(): number {
    const b = this.buf;
    let v = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) this.fail('varint runs past the end');
      const byte = b[this.offset++];
      if (shift === 28) {
        if (byte > 0x0f) this.fail('varint longer than 32 bits');
        return (v | (byte << 28)) >>> 0;
      }
      v |= (byte & 0x7f) << shift;
      if (byte < 0x80) return v >>> 0;
      shift += 7;
    }
    return this.fail('varint longer than 5 bytes');
  }

  varint(): number {
    return unzigzag32(this.uvarint());
  }

  varlong(): bigint {
    // Most values fit in 4 varint bytes (28 bits): read those without BigInt arithmetic.
    const b = this.buf;
    let lo = 0;
    let shift = 0;
    const start = this.offset;
    for (; shift < 28; shift += 7) {
      if (this.offset >= this.end) this.fail('varlong runs past the end');
      const byte = b[this.offset++];
      lo |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        const u = lo >>> 0;
        return BigInt((u >>> 1) ^ -(u & 1));
      }
    }
    this.offset = start;
    let u = 0n;
    let s = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) this.fail('varlong runs past the end');
      const byte = b[this.offset++];
      u |= BigInt(byte & 0x7f) << s;
      if (byte < 0x80) return unzigzag64(BigInt.asUintN(64, u));
      s += 7n;
    }
    return this.fail('varlong longer than 10 bytes');
  }

  /** n bytes as a view into the input. */
  raw(n: number): Uint8Array {
    if (n < 0) this.fail(`negative length ${n}`);
    this.need(n, 'bytes');
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  private text(n: number): string {
    this.need(n, 'string');
    const b = this.buf;
    const start = this.offset;
    this.offset += n;
    // Short ASCII strings (names, ids) decode faster by hand than through TextDecoder.
    if (n <= 32) {
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = b[i];
        if (c >= 0x80) return decoder.decode(b.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decoder.decode(b.subarray(start, start + n));
  }

  string(): string {
    const n = this.int16();
    if (n < 0) this.fail(`string length ${n} where a non-null string is required`);
    return this.text(n);
  }

  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < 0) this.fail(`invalid string length ${n}`);
    return this.text(n);
  }

  compactString(): string {
    const n = this.uvarint();
    if (n === 0) this.fail('null compact string where a non-null string is required');
    return this.text(n - 1);
  }

  compactNullableString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.text(n - 1);
  }

  bytes(): Uint8Array {
    const n = this.int32();
    if (n < 0) this.fail(`bytes length ${n} where non-null bytes are required`);
    return this.raw(n);
  }

  nullableBytes(): Uint8Array | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) this.fail(`invalid bytes length ${n}`);
    return this.raw(n);
  }

  compactBytes(): Uint8Array {
    const n = this.uvarint();
    if (n === 0) this.fail('null compact bytes where non-null bytes are required');
    return this.raw(n - 1);
  }

  compactNullableBytes(): Uint8Array | null {
    const n = this.uvarint();
    return n === 0 ? null : this.raw(n - 1);
  }

  /** Zig-zag varlong as a JS number; fails beyond ±2^53 rather than lose precision. */
  varlongNumber(): number {
    const b = this.buf;
    let u = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.end) this.fail('varlong runs past the end');
      const byte = b[this.offset++];
      u += (byte & 0x7f) * mul;
      if (byte < 0x80) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      mul *= 0x80;
    }
    return this.fail('varlong beyond 2^53');
  }

  /** Record-format bytes: zig-zag varint length, -1 for null; other negatives are refused. */
  varintBytes(): Uint8Array | null {
    const n = this.varint();
    if (n === -1) return null;
    return this.raw(n);
  }

  /** Record-format string (header keys). */
  varintString(): string {
    const n = this.varint();
    if (n < 0) this.fail(`string length ${n} where a non-null string is required`);
    return this.text(n);
  }

  /** Classic array count (int32, -1 null); a count larger than the remaining bytes is refused. */
  arrayLength(): number | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) this.fail(`invalid array length ${n}`);
    if (n > this.end - this.offset) this.fail(`array of ${n} elements cannot fit in ${this.end - this.offset} bytes`);
    return n;
  }

  /** Compact array count (uvarint n+1, 0 null), checked like arrayLength. */
  compactArrayLength(): number | null {
    const n = this.uvarint();
    if (n === 0) return null;
    if (n - 1 > this.end - this.offset) this.fail(`array of ${n - 1} elements cannot fit in ${this.end - this.offset} bytes`);
    return n - 1;
  }
}
