// gzip through node:zlib. The callback forms run on the libuv threadpool, so compressing or inflating
// a large batch does not block the event loop (the *Sync forms would).
import * as zlib from 'node:zlib';
import type { CompressionCodec } from './types.ts';
import { asCorrupt, checkLimit, plain, tooLarge } from './util.ts';

type ZlibCall = (
  data: Uint8Array,
  options: zlib.ZlibOptions,
  callback: (err: Error | null, out: Uint8Array) => void,
) => void;

/** Promise wrapper written out by hand because util.promisify's custom hooks differ between Node, Bun and Deno. */
export function callZlib(fn: ZlibCall, data: Uint8Array, options: zlib.ZlibOptions): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    fn(data, options, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** zlib reports an exceeded maxOutputLength as ERR_BUFFER_TOO_LARGE (a RangeError); everything else is bad input. */
export function isOutputLimit(err: unknown): boolean {
  return (
    err instanceof Error &&
    ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
  );
}

/** zlib refuses maxOutputLength 0 and values above its buffer limit, so the option is clamped and the result re-checked. */
export function zlibOutputLimit(maxOutput: number): number {
  const max = (zlib.constants as { MAX_LENGTH?: number }).MAX_LENGTH ?? 2 ** 31 - 1;
  return Math.max(1, Math.min(Math.floor(maxOutput), max));
}

export const gzipCodec: CompressionCodec = {
  name: 'gzip',
  async compress(data) {
    return plain(await callZlib(zlib.gzip as ZlibCall, data, {}));
  },
  async decompress(data, maxOutput) {
    checkLimit(maxOutput);
    let out: Uint8Array;
    try {
      // gunzip reads concatenated members, which some producers write.
      out = await callZlib(zlib.gunzip as ZlibCall, data, { maxOutputLength: zlibOutputLimit(maxOutput) });
    } catch (err) {
      if (isOutputLimit(err)) throw tooLarge('gzip', maxOutput);
      throw asCorrupt('gzip', err);
    }
    if (out.length > maxOutput) throw tooLarge('gzip', maxOutput);
    return plain(out);
  },
};
