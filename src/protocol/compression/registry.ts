// Which codec serves which compression type. A table rather than a switch so that users can plug in
// a faster (native) implementation with registerCodec.
import { KafkaError } from '../errors.ts';
import { gzipCodec } from './gzip.ts';
import { lz4Codec } from './lz4.ts';
import { snappyCodec } from './snappy.ts';
import type { CodecType, CompressionCodec, CompressionType } from './types.ts';
import { zstdCodec } from './zstd.ts';

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof NAMES)[number];

const codecs = new Map<number, CompressionCodec>([
  [1, gzipCodec],
  [2, snappyCodec],
  [3, lz4Codec],
  [4, zstdCodec],
]);

/** The codec for a compression type. None and unknown types have none. */
export function codecFor(type: CompressionType): CompressionCodec {
  const codec = codecs.get(type);
  if (codec === undefined) {
    throw new KafkaError(
      type === 0 ? 'compression type none has no codec' : `unknown compression type ${String(type)}`,
      false,
    );
  }
  return codec;
}

/** Throws (KafkaError, not retriable) when the codec registered for `type` cannot compress here. */
export function checkCanCompress(type: CompressionType): void {
  if (type === 0) return;
  const why = codecFor(type).compressUnavailable?.() ?? null;
  if (why !== null) throw new KafkaError(why, false);
}

/** Replaces the codec for a type; registering the built-in codec again (from builtinCodec) restores it. */
export function registerCodec(type: CodecType, codec: CompressionCodec): void {
  if (type !== 1 && type !== 2 && type !== 3 && type !== 4) {
    throw new KafkaError(`cannot register a codec for compression type ${String(type)}`, false);
  }
  if (typeof codec?.compress !== 'function' || typeof codec.decompress !== 'function') {
    throw new KafkaError('a codec needs compress and decompress functions', false);
  }
  codecs.set(type, codec);
}

/** The codec mka ships for a type, whatever is registered now. */
export function builtinCodec(type: CodecType): CompressionCodec {
  const codec = [gzipCodec, snappyCodec, lz4Codec, zstdCodec][type - 1];
  if (codec === undefined) throw new KafkaError(`no built-in codec for compression type ${String(type)}`, false);
  return codec;
}

export function compressionName(type: number): string {
  return NAMES[type] ?? `unknown(${type})`;
}

export function parseCompression(name: CompressionName | CompressionType): CompressionType {
  if (typeof name === 'number') {
    if (Number.isInteger(name) && name >= 0 && name <= 4) return name;
  } else if (typeof name === 'string') {
    const index = (NAMES as readonly string[]).indexOf(name.toLowerCase());
    if (index >= 0) return index as CompressionType;
  }
  throw new KafkaError(`unknown compression ${JSON.stringify(name)}`, false);
}
