// zstd. Where the runtime's node:zlib has zstd (Node >= 22.15 / 23.8, Bun, Deno) it is used in
// both directions, off the event loop like gzip. Otherwise decompression falls back to fzstd (pure
// JavaScript, synchronous) and compression is unavailable: there is no pure-JS zstd encoder among
// mka's dependencies, so users on older runtimes plug one in with registerCodec(4, …).
import * as zlib from 'node:zlib';
import { KafkaError } from '../errors.ts';
import { callZlib, isOutputLimit, zlibOutputLimit } from './gzip.ts';
import type { CompressionCodec } from './types.ts';
import { asCorrupt, checkLimit, concatBytes, corrupt, plain, tooLarge } from './util.ts';

type ZlibCall = Parameters<typeof callZlib>[0];

/** The zstd entry points newer runtimes add to node:zlib; @types/node for Node 20 does not know them. */
interface ZlibWithZstd {
  zstdCompress?: ZlibCall;
  zstdDecompress?: ZlibCall;
  zstdDecompressSync?: (data: Uint8Array, options: zlib.ZlibOptions) => Uint8Array;
}
const zstdZlib = zlib as unknown as ZlibWithZstd;

/**
 * Deno (2.x) throws some zstd corruption errors ("Data corruption detected") from its async
 * zstdDecompress and streams as uncaught exceptions instead of passing them to the callback: the
 * promise never settles and the process dies. Its sync form reports them, so Deno decompresses
 * synchronously; that blocks the event loop for the batch, as fzstd would.
 */
const asyncZstdBroken = typeof (globalThis as { Deno?: unknown }).Deno === 'object';

function nativeDecompress(data: Uint8Array, options: zlib.ZlibOptions): Promise<Uint8Array> | undefined {
  const sync = zstdZlib.zstdDecompressSync;
  if (asyncZstdBroken && typeof sync === 'function') return Promise.resolve().then(() => sync(data, options));
  const fn = zstdZlib.zstdDecompress;
  return typeof fn === 'function' ? callZlib(fn, data, options) : undefined;
}

interface Fzstd {
  decompress(data: Uint8Array, buf?: Uint8Array): Uint8Array;
  Decompress: new (ondata?: (data: Uint8Array, final?: boolean) => unknown) => {
    push(chunk: Uint8Array, final?: boolean): unknown;
  };
}
let fzstd: Promise<Fzstd> | undefined;
function loadFzstd(): Promise<Fzstd> {
  fzstd ??= import('fzstd');
  return fzstd;
}

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX = 128 * 1024;

function u32le(src: Uint8Array, pos: number): number {
  return (src[pos] | (src[pos + 1] << 8) | (src[pos + 2] << 16) | (src[pos + 3] << 24)) >>> 0;
}

/**
 * Walks the frames and block headers without decoding anything, and returns an upper bound of the
 * decompressed size: the declared content size where a frame has one, otherwise the sum of its
 * blocks' maxima. Truncated structure is reported here, before any output is allocated.
 */
export function zstdOutputBound(src: Uint8Array): { bound: number; exact: boolean } {
  if (src.length < 4) throw corrupt('zstd', 'truncated frame');
  let bound = 0;
  let exact = true;
  let pos = 0;
  while (pos < src.length) {
    if (pos + 4 > src.length) throw corrupt('zstd', 'truncated frame magic');
    const magic = u32le(src, pos);
    pos += 4;
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (pos + 4 > src.length) throw corrupt('zstd', 'truncated skippable frame');
      const size = u32le(src, pos);
      pos += 4 + size;
      if (pos > src.length) throw corrupt('zstd', 'truncated skippable frame');
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw corrupt('zstd', `bad frame magic 0x${magic.toString(16)}`);
    if (pos >= src.length) throw corrupt('zstd', 'truncated frame header');
    const fhd = src[pos++];
    const fcsFlag = fhd >>> 6;
    const singleSegment = (fhd & 0x20) !== 0;
    if (fhd & 0x08) throw corrupt('zstd', 'reserved frame header bit set');
    const checksum = (fhd & 0x04) !== 0;
    const dictIdSize = [0, 1, 2, 4][fhd & 3];
    const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag];
    pos += (singleSegment ? 0 : 1) + dictIdSize;
    if (pos + fcsSize > src.length) throw corrupt('zstd', 'truncated frame header');
    let content = -1;
    if (fcsSize === 1) content = src[pos];
    else if (fcsSize === 2) content = (src[pos] | (src[pos + 1] << 8)) + 256;
    else if (fcsSize === 4) content = u32le(src, pos);
    else if (fcsSize === 8) content = u32le(src, pos) + u32le(src, pos + 4) * 2 ** 32;
    pos += fcsSize;
    let blocks = 0;
    for (;;) {
      if (pos + 3 > src.length) throw corrupt('zstd', 'truncated block header');
      const header = src[pos] | (src[pos + 1] << 8) | (src[pos + 2] << 16);
      pos += 3;
      const last = header & 1;
      const type = (header >>> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw corrupt('zstd', 'reserved block type');
      if (type === 0) blocks += size;
      else if (type === 1) blocks += size; // RLE: one byte repeated `size` times
      else blocks += BLOCK_MAX;
      pos += type === 1 ? 1 : size;
      if (pos > src.length) throw corrupt('zstd', 'truncated block');
      if (last) break;
    }
    if (checksum) {
      pos += 4;
      if (pos > src.length) throw corrupt('zstd', 'truncated checksum');
    }
    if (content >= 0) bound += content;
    else {
      bound += blocks;
      exact = false;
    }
  }
  return { bound, exact };
}

/** fzstd's streaming decoder, counting output as it comes so that a bomb is stopped one block past the limit. */
function streamDecompress(lib: Fzstd, data: Uint8Array, maxOutput: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new lib.Decompress((chunk) => {
    total += chunk.length;
    if (total > maxOutput) throw tooLarge('zstd', maxOutput);
    // fzstd may reuse its window buffer for later output, so each chunk is copied.
    chunks.push(chunk.slice());
  });
  stream.push(data, true);
  return concatBytes(chunks, total);
}

async function decompressPure(data: Uint8Array, bound: number, maxOutput: number): Promise<Uint8Array> {
  const lib = await loadFzstd();
  if (bound <= maxOutput) return lib.decompress(data);
  return streamDecompress(lib, data, maxOutput);
}

const NO_ZSTD_COMPRESSION = 'zstd compression is not available in this runtime (needs Node >= 22.15); register a codec with registerCodec(4, …)';

export const zstdCodec: CompressionCodec = {
  name: 'zstd',
  async compress(data) {
    const fn = zstdZlib.zstdCompress;
    if (typeof fn !== 'function') throw new KafkaError(NO_ZSTD_COMPRESSION, false);
    return plain(await callZlib(fn, data, {}));
  },
  compressUnavailable() {
    return typeof zstdZlib.zstdCompress === 'function' ? null : NO_ZSTD_COMPRESSION;
  },
  async decompress(data, maxOutput) {
    checkLimit(maxOutput);
    let out: Uint8Array;
    try {
      // The header walk refuses a declared size over the limit before anything is allocated, and
      // truncated input, which native zstd in Bun and Deno returns as a successful empty result.
      const { bound, exact } = zstdOutputBound(data);
      if (exact && bound > maxOutput) throw tooLarge('zstd', maxOutput);
      const native = nativeDecompress(data, { maxOutputLength: zlibOutputLimit(maxOutput) });
      if (native !== undefined) {
        try {
          out = plain(await native);
        } catch (err) {
          if (isOutputLimit(err)) throw tooLarge('zstd', maxOutput);
          throw err;
        }
      } else {
        out = await decompressPure(data, bound, maxOutput);
      }
    } catch (err) {
      throw asCorrupt('zstd', err);
    }
    if (out.length > maxOutput) throw tooLarge('zstd', maxOutput);
    return out;
  },
};
