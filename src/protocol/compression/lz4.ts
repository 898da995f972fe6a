// LZ4 in the standard frame format, which Kafka uses since KIP-57 (message format v1 and record
// batches). The frame is written here on top of lz4js's raw block compressor, because lz4js's own
// frame writer links blocks and uses 4 MiB blocks, and Kafka's Java reader requires independent
// blocks. Decoding is done here too, with bounds checks, so that a corrupt block or a size bomb is
// reported rather than decoded into garbage. All of it is synchronous JavaScript.
import type { CompressionCodec } from './types.ts';
import { checkLimit, corrupt, tooLarge } from './util.ts';
import { xxhash32 } from './xxhash32.ts';

interface Lz4Js {
  compressBound(n: number): number;
  compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
}

// Loaded on first use: lz4js allocates a 5 MiB scratch buffer when it is imported.
let lz4js: Promise<Lz4Js> | undefined;
function loadLz4(): Promise<Lz4Js> {
  lz4js ??= import('lz4js').then((m) => m.default);
  return lz4js;
}

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

const FLG_VERSION = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
const BLOCK_UNCOMPRESSED = 0x80000000;

/** What KafkaLZ4BlockOutputStream writes: version 01, independent blocks, no checksums, no content size; 64 KiB blocks. */
export const KAFKA_FLG = FLG_VERSION | FLG_BLOCK_INDEPENDENT;
export const KAFKA_BD = 4 << 4;
const BLOCK_MAX = 64 * 1024;
/**
 * Input per block. LZ4 decoders require the last match to start at least 12 bytes before the end
 * of their output buffer; lz4js stops looking for matches only 9 bytes before the end of the block,
 * so a block that exactly fills a 64 KiB decode buffer could be refused by liblz4 or lz4-java.
 * Staying 16 bytes short of the maximum keeps every match clear of that limit.
 */
const BLOCK_INPUT = BLOCK_MAX - 16;

function u32le(src: Uint8Array, pos: number): number {
  return (src[pos] | (src[pos + 1] << 8) | (src[pos + 2] << 16) | (src[pos + 3] << 24)) >>> 0;
}

function putU32le(dst: Uint8Array, pos: number, v: number): void {
  dst[pos] = v & 0xff;
  dst[pos + 1] = (v >>> 8) & 0xff;
  dst[pos + 2] = (v >>> 16) & 0xff;
  dst[pos + 3] = (v >>> 24) & 0xff;
}

/** The header checksum byte: the second byte of xxHash32 over the descriptor (FLG through BD). */
export function headerChecksum(descriptor: Uint8Array): number {
  return (xxhash32(descriptor, 0) >>> 8) & 0xff;
}

/**
 * Where blocks are compressed from, with lz4js's hash table: kept between calls so that neither is
 * allocated or cleared per block (clearing the 256 KiB table cost more than compressing a small
 * batch). lz4js refuses a match candidate that lies after the current position, so each block is
 * copied in *below* the previous one: every entry the table holds from earlier blocks then points
 * after the block and can never become a match across blocks (they must stay independent). The
 * table is cleared only when the window is used up, once per WINDOW bytes compressed.
 */
const WINDOW = 1024 * 1024;
let window: Uint8Array | undefined;
let hashTable: Uint32Array | undefined;
let windowBase = 0;
/** The frame being written; reused, so a frame costs one copy of its compressed size. */
let frame = new Uint8Array(0);

/** Compresses one independent block into dst (from index 0); returns the compressed size, or 0. */
function compressIndependent(lz4: Lz4Js, block: Uint8Array, dst: Uint8Array): number {
  if (!window || !hashTable) {
    window = new Uint8Array(WINDOW);
    hashTable = new Uint32Array(1 << 16);
    windowBase = WINDOW;
  }
  if (windowBase < block.length) {
    hashTable.fill(0);
    windowBase = WINDOW;
  }
  windowBase -= block.length;
  window.set(block, windowBase);
  return lz4.compressBlock(window, dst, windowBase, block.length, hashTable);
}

function encodeFrame(lz4: Lz4Js, data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / BLOCK_INPUT));
  // Worst case: every block stored uncompressed behind its 4-byte size, plus room for lz4js to write
  // up to compressBound from the last block's start before it reports a size too big to keep.
  const need = 7 + data.length + blocks * 4 + lz4.compressBound(BLOCK_INPUT) + 4;
  if (frame.length < need) frame = new Uint8Array(need);
  const out = frame;
  putU32le(out, 0, FRAME_MAGIC);
  out[4] = KAFKA_FLG;
  out[5] = KAFKA_BD;
  out[6] = headerChecksum(out.subarray(4, 6));
  let pos = 7;
  for (let start = 0; start < data.length; start += BLOCK_INPUT) {
    const block = data.subarray(start, Math.min(start + BLOCK_INPUT, data.length));
    // Compressed straight into the frame, behind the size word.
    const size = compressIndependent(lz4, block, out.subarray(pos + 4));
    if (size === 0 || size >= block.length) {
      putU32le(out, pos, (BLOCK_UNCOMPRESSED | block.length) >>> 0);
      out.set(block, pos + 4);
      pos += 4 + block.length;
    } else {
      putU32le(out, pos, size);
      pos += 4 + size;
    }
  }
  putU32le(out, pos, 0); // end mark
  pos += 4;
  const result = out.slice(0, pos);
  // A frame buffer grown for one big batch is not pinned for good.
  if (frame.length > 4 * WINDOW) frame = new Uint8Array(0);
  return result;
}

/** Output buffer that grows on demand but never past maxOutput. */
class Output {
  buf: Uint8Array;
  len = 0;
  readonly maxOutput: number;
  constructor(initial: number, maxOutput: number) {
    this.maxOutput = Math.floor(maxOutput);
    this.buf = new Uint8Array(Math.min(initial, this.maxOutput));
  }
  /** Makes room for `n` more bytes, or refuses if they would take the output past maxOutput. */
  reserve(n: number): void {
    const need = this.len + n;
    if (need > this.maxOutput) throw tooLarge('lz4', this.maxOutput);
    if (need <= this.buf.length) return;
    const grown = new Uint8Array(Math.min(this.maxOutput, Math.max(need, this.buf.length * 2)));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }
  result(): Uint8Array {
    // Trim when the slack is large, so a small batch does not pin a big buffer.
    return this.buf.length - this.len > 65536 ? this.buf.slice(0, this.len) : this.buf.subarray(0, this.len);
  }
}

/**
 * Decodes one LZ4 block of src[s, end) onto `out`. Matches may reach back to `windowStart`, which is
 * the start of the block for independent blocks and the start of the frame for linked ones.
 * `limit` is the most this block may produce (the frame's block maximum).
 */
function decodeBlock(src: Uint8Array, s: number, end: number, out: Output, windowStart: number, limit: number): void {
  out.reserve(Math.min(limit, out.maxOutput - out.len));
  const dst = out.buf;
  let d = out.len;
  const dEnd = d + limit;
  for (;;) {
    if (s >= end) throw corrupt('lz4', 'block ends without final literals');
    const token = src[s++];
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt('lz4', 'truncated literal length');
        b = src[s++];
        lit += b;
      } while (b === 255);
    }
    if (s + lit > end) throw corrupt('lz4', 'truncated literals');
    if (d + lit > dEnd) throw corrupt('lz4', 'block exceeds its maximum size');
    if (d + lit > out.maxOutput) throw tooLarge('lz4', out.maxOutput);
    if (lit < 16) {
      for (let i = 0; i < lit; i++) dst[d + i] = src[s + i];
    } else {
      dst.set(src.subarray(s, s + lit), d);
    }
    s += lit;
    d += lit;
    if (s === end) break; // the last sequence has literals only
    if (s + 2 > end) throw corrupt('lz4', 'truncated match offset');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    if (offset === 0 || offset > d - windowStart) throw corrupt('lz4', 'match offset out of range');
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt('lz4', 'truncated match length');
        b = src[s++];
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (d + len > dEnd) throw corrupt('lz4', 'block exceeds its maximum size');
    if (d + len > out.maxOutput) throw tooLarge('lz4', out.maxOutput);
    if (offset >= len && len >= 32) {
      dst.copyWithin(d, d - offset, d - offset + len);
      d += len;
    } else {
      // Overlapping matches repeat the last `offset` bytes, which copyWithin would not.
      for (let i = 0; i < len; i++, d++) dst[d] = dst[d - offset];
    }
  }
  out.len = d;
}

const BLOCK_SIZES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

/** Reads one frame starting at `pos` (after its magic) and returns the position after it. */
function decodeFrame(src: Uint8Array, pos: number, out: Output): number {
  if (pos + 3 > src.length) throw corrupt('lz4', 'truncated frame header');
  const flg = src[pos];
  const bd = src[pos + 1];
  if ((flg & 0xc0) !== FLG_VERSION) throw corrupt('lz4', `unsupported frame version ${flg >>> 6}`);
  if (flg & FLG_DICT_ID) throw corrupt('lz4', 'frames that need a dictionary are not supported');
  const blockMax = BLOCK_SIZES[(bd >>> 4) & 7];
  if (blockMax === undefined) throw corrupt('lz4', `invalid block size code ${(bd >>> 4) & 7}`);
  pos += 2;
  if (flg & FLG_CONTENT_SIZE) {
    if (pos + 8 > src.length) throw corrupt('lz4', 'truncated content size');
    const declared = u32le(src, pos) + u32le(src, pos + 4) * 2 ** 32;
    if (out.len + declared > out.maxOutput) throw tooLarge('lz4', out.maxOutput);
    pos += 8;
  }
  // The header checksum byte is skipped, not verified: Kafka before 0.10 computed it over the
  // magic as well, and such batches can still sit in old segments.
  pos += 1;
  const frameStart = out.len;
  const independent = (flg & FLG_BLOCK_INDEPENDENT) !== 0;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
  for (;;) {
    if (pos + 4 > src.length) throw corrupt('lz4', 'truncated block size');
    const word = u32le(src, pos);
    pos += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    if (size > src.length - pos - blockChecksum) throw corrupt('lz4', 'truncated block');
    if (word & BLOCK_UNCOMPRESSED) {
      if (size > blockMax) throw corrupt('lz4', 'block exceeds its maximum size');
      out.reserve(size);
      out.buf.set(src.subarray(pos, pos + size), out.len);
      out.len += size;
    } else {
      decodeBlock(src, pos, pos + size, out, independent ? out.len : frameStart, blockMax);
    }
    pos += size + blockChecksum;
  }
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (pos + 4 > src.length) throw corrupt('lz4', 'truncated content checksum');
    pos += 4;
  }
  return pos;
}

/** Decodes a sequence of LZ4 frames (skippable frames are skipped). */
export function decodeFrames(src: Uint8Array, maxOutput: number): Uint8Array {
  checkLimit(maxOutput);
  if (src.length < 4) throw corrupt('lz4', 'truncated frame');
  const out = new Output(Math.max(BLOCK_MAX, src.length * 4), maxOutput);
  let pos = 0;
  while (pos < src.length) {
    if (pos + 4 > src.length) throw corrupt('lz4', 'truncated frame magic');
    const magic = u32le(src, pos);
    pos += 4;
    if (magic === FRAME_MAGIC) {
      pos = decodeFrame(src, pos, out);
    } else if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (pos + 4 > src.length) throw corrupt('lz4', 'truncated skippable frame');
      const size = u32le(src, pos);
      pos += 4;
      if (size > src.length - pos) throw corrupt('lz4', 'truncated skippable frame');
      pos += size;
    } else {
      throw corrupt('lz4', `bad frame magic 0x${magic.toString(16)}`);
    }
  }
  return out.result();
}

export const lz4Codec: CompressionCodec = {
  name: 'lz4',
  async compress(data) {
    return encodeFrame(await loadLz4(), data);
  },
  async decompress(data, maxOutput) {
    return decodeFrames(data, maxOutput);
  },
};
