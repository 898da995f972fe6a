// Sizes and zig-zag transforms of Kafka's variable-length integers (protobuf encoding), for code that
// must know an encoded size before writing (record lengths are written before the record).

export function zigzag32(v: number): number {
  return ((v << 1) ^ (v >> 31)) >>> 0;
}

export function unzigzag32(v: number): number {
  return (v >>> 1) ^ -(v & 1);
}

export function zigzag64(v: bigint): bigint {
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

export function unzigzag64(v: bigint): bigint {
  return (v >> 1n) ^ -(v & 1n);
}

/** Bytes of an unsigned varint holding v (0 ≤ v < 2^32). */
export function uvarintSize(v: number): number {
  v >>>= 0;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/** Bytes of a zig-zag varint holding the int32 v. */
export function varintSize(v: number): number {
  return uvarintSize(zigzag32(v));
}

/** Bytes of a zig-zag varlong holding the int64 v. */
export function varlongSize(v: bigint): number {
  let u = zigzag64(v);
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}
