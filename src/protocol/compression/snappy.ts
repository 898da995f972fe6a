// snappy as the Java client writes it: snappy-java's "xerial" stream framing around raw snappy
// blocks. Compression uses snappyjs. Decompression uses the small decoder below rather than
// snappyjs's, because that one accepts a block cut at an element boundary and ignores writes past
// the declared length, and a corrupt batch must be reported, not decoded into zeros.
// Both directions are synchronous JavaScript on the event loop; blocks stay small (32 KiB of input)
// so that each step is short.
import type { CompressionCodec } from './types.ts';
import { checkLimit, concatBytes, corrupt, tooLarge } from './util.ts';

interface SnappyJs {
  compress(data: Uint8Array): Uint8Array;
}

let snappyjs: Promise<SnappyJs> | undefined;
function loadSnappy(): Promise<SnappyJs> {
  snappyjs ??= import('snappyjs').then((m) => m.default);
  return snappyjs;
}

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const XERIAL_HEADER = 16; // magic, int32 version, int32 compatible version
/** snappy-java's default block size, which the Java producer uses. */
const XERIAL_BLOCK = 32 * 1024;

export function isXerial(data: Uint8Array): boolean {
  if (data.length < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** The uncompressed length a raw snappy block declares (its leading uvarint), read before anything is allocated. */
function readLength(src: Uint8Array, start: number, end: number): { length: number; pos: number } {
  let result = 0;
  let pos = start;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw corrupt('snappy', 'truncated block length');
    const b = src[pos++];
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (result > 0xffffffff) break;
      return { length: result, pos };
    }
  }
  throw corrupt('snappy', 'invalid block length');
}

/** Decodes one raw snappy block of src[start, end), refusing more than `budget` bytes of output. */
export function decodeRawBlock(src: Uint8Array, start: number, end: number, budget: number, maxOutput: number): Uint8Array {
  const header = readLength(src, start, end);
  const n = header.length;
  if (n > budget) throw tooLarge('snappy', maxOutput);
  const dst = new Uint8Array(n);
  let s = header.pos;
  let d = 0;
  while (s < end) {
    const tag = src[s++];
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (s + extra > end) throw corrupt('snappy', 'truncated literal length');
        len = 0;
        for (let i = extra - 1; i >= 0; i--) len = len * 256 + src[s + i];
        s += extra;
      }
      len += 1;
      if (s + len > end) throw corrupt('snappy', 'truncated literal');
      if (d + len > n) throw corrupt('snappy', 'literal overruns declared length');
      if (len < 16) {
        for (let i = 0; i < len; i++) dst[d + i] = src[s + i];
      } else {
        dst.set(src.subarray(s, s + len), d);
      }
      s += len;
      d += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (s + 1 > end) throw corrupt('snappy', 'truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[s];
      s += 1;
    } else if (kind === 2) {
      if (s + 2 > end) throw corrupt('snappy', 'truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[s] | (src[s + 1] << 8);
      s += 2;
    } else {
      if (s + 4 > end) throw corrupt('snappy', 'truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[s] | (src[s + 1] << 8) | (src[s + 2] << 16) | (src[s + 3] << 24)) >>> 0;
      s += 4;
    }
    if (offset === 0 || offset > d) throw corrupt('snappy', 'copy offset out of range');
    if (d + len > n) throw corrupt('snappy', 'copy overruns declared length');
    if (offset >= len && len >= 32) {
      dst.copyWithin(d, d - offset, d - offset + len);
      d += len;
    } else {
      // Overlapping copies repeat the last `offset` bytes, which copyWithin would not.
      for (let i = 0; i < len; i++, d++) dst[d] = dst[d - offset];
    }
  }
  if (d !== n) throw corrupt('snappy', `block decoded to ${d} bytes, declared ${n}`);
  return dst;
}

function readInt32BE(src: Uint8Array, pos: number): number {
  return ((src[pos] << 24) | (src[pos + 1] << 16) | (src[pos + 2] << 8) | src[pos + 3]) >>> 0;
}

function decodeXerial(data: Uint8Array, maxOutput: number): Uint8Array {
  if (data.length < XERIAL_HEADER) throw corrupt('snappy', 'truncated xerial header');
  const chunks: Uint8Array[] = [];
  let total = 0;
  let pos = XERIAL_HEADER;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw corrupt('snappy', 'truncated xerial block length');
    const size = readInt32BE(data, pos);
    pos += 4;
    if (size > data.length - pos) throw corrupt('snappy', 'truncated xerial block');
    const block = decodeRawBlock(data, pos, pos + size, maxOutput - total, maxOutput);
    chunks.push(block);
    total += block.length;
    pos += size;
  }
  return chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks, total);
}

export const snappyCodec: CompressionCodec = {
  name: 'snappy',
  async compress(data) {
    const snappy = await loadSnappy();
    const blocks: Uint8Array[] = [];
    let size = XERIAL_HEADER;
    for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK) {
      const block = snappy.compress(data.subarray(pos, Math.min(pos + XERIAL_BLOCK, data.length)));
      blocks.push(block);
      size += 4 + block.length;
    }
    const out = new Uint8Array(size);
    out.set(XERIAL_MAGIC, 0);
    const view = new DataView(out.buffer);
    view.setInt32(8, 1); // version
    view.setInt32(12, 1); // oldest version that can read this
    let pos = XERIAL_HEADER;
    for (const block of blocks) {
      view.setInt32(pos, block.length);
      out.set(block, pos + 4);
      pos += 4 + block.length;
    }
    return out;
  },
  async decompress(data, maxOutput) {
    checkLimit(maxOutput);
    if (isXerial(data)) return decodeXerial(data, maxOutput);
    return decodeRawBlock(data, 0, data.length, maxOutput, maxOutput);
  },
};
