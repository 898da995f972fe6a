// Checksums of the two record formats: CRC-32C (Castagnoli) for batches of magic 2, CRC-32 (IEEE) for
// the legacy messages of magic 0 and 1. `crc-32` returns signed ints; Kafka's fields are unsigned.
import CRC32 from 'crc-32';
import CRC32C from 'crc-32/crc32c.js';

/** CRC-32C of bytes, as the unsigned value a record batch header stores. */
export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}

/** CRC-32 (IEEE) of bytes, as legacy message headers store it. */
export function crc32(bytes: Uint8Array): number {
  return CRC32.buf(bytes) >>> 0;
}
