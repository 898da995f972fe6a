// The shapes of decoded and to-be-encoded records, shared by the batch encoder, the decoders and the
// client. int64 values are bigint; times are Date on the way out and Date or epoch ms on the way in.
import type { CompressionType } from '../compression/index.ts';

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** One record as read from a partition. `key`/`value` are views into the fetched bytes. */
export interface KafkaRecord {
  offset: bigint;
  timestamp: Date;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

export type TimestampType = 'create-time' | 'log-append-time';

/** A transaction marker written by the coordinator: the records of its producer before it are settled. */
export interface ControlMarker {
  type: 'abort' | 'commit' | 'unknown';
  /** The raw control type (0 abort, 1 commit; others exist for KRaft-internal records). */
  typeCode: number;
  coordinatorEpoch: number;
}

/** A decoded record batch (magic 2), or a legacy message (set) presented the same way. */
export interface RecordBatch {
  baseOffset: bigint;
  /** Offset of the batch's last record, even when compaction removed it. */
  lastOffset: bigint;
  partitionLeaderEpoch: number;
  magic: 0 | 1 | 2;
  compression: CompressionType;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  /** Batch carries a delete horizon (compacted topics, KIP-534); baseTimestamp is then that horizon. */
  hasDeleteHorizon: boolean;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  records: KafkaRecord[];
  /** Set for control batches: the commit/abort marker they carry. */
  control: ControlMarker | null;
  /** Bytes of the batch on the wire (header included). */
  sizeInBytes: number;
}

/** One record to write. */
export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeader[];
  /** Create time; defaults to the time of append. */
  timestamp?: Date | number;
}
