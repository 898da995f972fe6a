// The Writer's view of a batch: append while open, seal once (compression may run off the event
// loop), and stamp producer id/epoch/sequence at first send, which rewrites the CRC in place.
import { RecordBatchBuilder, stampBatch, type RecordHeader } from '../../protocol/records/index.ts';
import type { CompressionType } from '../../protocol/compression/index.ts';

export interface SealedBatch {
  readonly bytes: Uint8Array;
  stamp(producerId: bigint, producerEpoch: number, baseSequence: number): void;
}

export interface OpenBatchEncoder {
  append(timestampMs: number, key: Uint8Array | null, value: Uint8Array | null, headers: readonly RecordHeader[]): void;
  seal(): Promise<SealedBatch>;
}

/** `capacity`: bytes to allocate up front; the builder doubles when the batch outgrows it. */
export function createBatchEncoder(opts: { compression: CompressionType; transactional?: boolean }, capacity = 1024): OpenBatchEncoder {
  const builder = new RecordBatchBuilder({ compression: opts.compression, transactional: opts.transactional }, capacity);
  return {
    append: (ts, key, value, headers) => builder.append(ts, key, value, headers),
    async seal() {
      const bytes = await builder.build();
      return { bytes, stamp: (id, epoch, seq) => stampBatch(bytes, id, epoch, seq) };
    },
  };
}
