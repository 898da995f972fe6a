// Record batches (magic 2, written and read) and legacy message sets (magic 0/1, read).
export * from './types.ts';
export { RecordBatchBuilder, encodeRecordBatch, stampBatch, estimateRecordSize, type BatchOptions } from './batch-encoder.ts';
export { decodeRecordSet, decodeBatchV2, DEFAULT_MAX_DECOMPRESSED, type RecordSetContext } from './batch-decoder.ts';
export { crc32c, crc32 } from './crc.ts';
export * as BatchLayout from './batch-layout.ts';
