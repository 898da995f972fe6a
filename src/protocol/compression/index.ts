// Kafka record-batch compression: gzip, snappy, lz4 and zstd behind one codec interface.
export { Compression } from './types.ts';
export type { CodecType, CompressionCodec, CompressionType } from './types.ts';
export { builtinCodec, checkCanCompress, codecFor, compressionName, parseCompression, registerCodec } from './registry.ts';
export type { CompressionName } from './registry.ts';
export { xxhash32 } from './xxhash32.ts';
