// Helpers shared by the codecs: one way to report corrupt input, one way to report a size bomb.
import { CorruptRecordError } from '../errors.ts';

export function corrupt(codec: string, detail: string, cause?: unknown): CorruptRecordError {
  const err = new CorruptRecordError(`${codec}: corrupt compressed data: ${detail}`);
  if (cause !== undefined) err.cause = cause;
  return err;
}

export function tooLarge(codec: string, maxOutput: number): CorruptRecordError {
  return new CorruptRecordError(`${codec}: decompressed data exceeds the limit of ${maxOutput} bytes`);
}

/** Re-throws our own errors untouched and wraps anything a library threw (RangeError, TypeError, …). */
export function asCorrupt(codec: string, err: unknown): CorruptRecordError {
  if (err instanceof CorruptRecordError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return corrupt(codec, message, err);
}

export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let size = total ?? 0;
  if (total === undefined) for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/** A Buffer from node:zlib seen as a plain Uint8Array: Buffer#slice shares memory where Uint8Array#slice copies, and callers expect the latter. */
export function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function checkLimit(maxOutput: number): void {
  if (!(maxOutput >= 0)) throw new RangeError(`maxOutput must be a non-negative number, got ${maxOutput}`);
}
