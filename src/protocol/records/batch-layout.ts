// Byte layout of a record batch of magic 2 (Kafka's DefaultRecordBatch): fixed offsets of the header
// fields, and the attribute bits. The encoder, the decoder and the idempotent re-stamping all use it.
export const BASE_OFFSET = 0;
export const BATCH_LENGTH = 8;
/** Bytes before (and including) the batch length field; batchLength counts the bytes after them. */
export const LOG_OVERHEAD = 12;
/** Default bound on one batch's decompressed size: a small compressed batch cannot claim gigabytes. */
export const DEFAULT_MAX_DECOMPRESSED = 128 * 1024 * 1024;
export const PARTITION_LEADER_EPOCH = 12;
export const MAGIC = 16;
export const CRC = 17;
/** The CRC covers everything from the attributes to the end of the batch. */
export const CRC_FROM = 21;
export const ATTRIBUTES = 21;
export const LAST_OFFSET_DELTA = 23;
export const BASE_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
export const PRODUCER_ID = 43;
export const PRODUCER_EPOCH = 51;
export const BASE_SEQUENCE = 53;
export const RECORD_COUNT = 57;
export const HEADER_SIZE = 61;

export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_BIT = 0x08;
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;
export const DELETE_HORIZON_BIT = 0x40;

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;
