// Writer configuration, after kafka-go's WriterConfig, with the defaults that its users asked for:
// acks=all and idempotence on, a linger of a few milliseconds instead of a second.
import type { ClusterConfig } from '../cluster.ts';
import type { Balancer } from './balancers.ts';
import { KafkaError } from '../../protocol/errors.ts';
import { Murmur2Balancer } from './balancers.ts';

import { checkCanCompress, parseCompression, type CompressionName } from '../../protocol/compression/index.ts';

/** none: no answer awaited (0); leader: the leader wrote it (1); all: every in-sync replica has it (-1). */
export type RequiredAcks = 'none' | 'leader' | 'all';

export const ACKS: Record<RequiredAcks, number> = { none: 0, leader: 1, all: -1 };

export interface WriterMessage {
  /** Required when the writer has no topic; refused when it has one (as kafka-go does). */
  topic?: string;
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: { key: string; value: Uint8Array | string | null }[];
  /** Record timestamp; default: now. */
  time?: Date;
  /** The partition to write to; the writer's balancer picks one when this is left out. */
  partition?: number;
}

/** Where a message landed. */
export interface WriteResult {
  topic: string;
  partition: number;
  /** -1n when the broker did not say (acks=none, or a retried duplicate). */
  offset: bigint;
}

export interface WriterConfig extends ClusterConfig {
  topic?: string;
  balancer?: Balancer;
  /** Attempts per batch for retriable errors, the first included (kafka-go MaxAttempts). */
  maxAttempts?: number;
  writeBackoffMinMs?: number;
  writeBackoffMaxMs?: number;
  /** Messages per partition batch. */
  batchSize?: number;
  /** Bytes per partition batch (before compression). */
  batchBytes?: number;
  /** Longest a message waits for its batch to fill (linger); 0 sends what one burst of calls queued at once. */
  batchTimeoutMs?: number;
  /** Produce timeout given to the broker, and the request timeout. */
  writeTimeoutMs?: number;
  requiredAcks?: RequiredAcks;
  /** Idempotent producer (exactly-once per partition across retries); needs acks=all. */
  idempotent?: boolean;
  /** writeMessages returns once messages are queued; `completion` receives every outcome. */
  async?: boolean;
  completion?: (messages: readonly WriterMessage[], error: Error | null, results: readonly (WriteResult | null)[]) => void;
  compression?: CompressionName;
  /** Ask the broker to create unknown topics (its auto.create.topics.enable must allow it). */
  allowAutoTopicCreation?: boolean;
  /** Batches in flight per partition; order is kept under retries. At most 5 with idempotence. */
  maxInFlightPerPartition?: number;
  /** Queued bytes beyond which writeMessages waits (backpressure). */
  maxBufferedBytes?: number;
  /**
   * Makes the Writer transactional: writes only inside beginTransaction()…commitTransaction() (or
   * transaction(fn)), visible to read_committed readers on commit only. One live Writer per id: a new
   * one fences the older. Needs idempotence (acks=all).
   */
  transactionalId?: string;
  /** How long the coordinator lets a transaction stay open before aborting it (transaction.timeout.ms). */
  transactionTimeoutMs?: number;
  /**
   * The highest transaction version to use (default 2: KIP-890 part 2 where the cluster has it). 1 keeps
   * the older protocol (AddPartitionsToTxn, Produce ≤ v11) on any cluster: tests use it to prove both.
   */
  maxTransactionVersion?: 1 | 2;
}

export type ResolvedWriterConfig = Required<
  Pick<
    WriterConfig,
    | 'maxAttempts' | 'writeBackoffMinMs' | 'writeBackoffMaxMs' | 'batchSize' | 'batchBytes' | 'batchTimeoutMs'
    | 'writeTimeoutMs' | 'requiredAcks' | 'idempotent' | 'async' | 'compression' | 'allowAutoTopicCreation'
    | 'maxInFlightPerPartition' | 'maxBufferedBytes' | 'balancer'
  >
> & WriterConfig;

export function resolveWriterConfig(c: WriterConfig): ResolvedWriterConfig {
  // A compression this runtime cannot do fails here, not on every write.
  checkCanCompress(parseCompression(c.compression ?? 'none'));
  const requiredAcks = c.requiredAcks ?? 'all';
  // Checked at run time too: a JavaScript caller passing kafka-go's -1 got acks undefined on the wire,
  // which the broker took for acks=0, so no write was ever acknowledged.
  if (!Object.hasOwn(ACKS, requiredAcks)) {
    throw new KafkaError(`requiredAcks must be 'none', 'leader' or 'all', not ${JSON.stringify(requiredAcks)}`, false);
  }
  const idempotent = (c.idempotent ?? true) && requiredAcks === 'all';
  if (c.transactionalId !== undefined) {
    if (!c.transactionalId) throw new KafkaError('transactionalId must be a non-empty string', false);
    if (!idempotent) throw new KafkaError('a transactional Writer needs idempotence: requiredAcks "all" and idempotent not false', false);
  }
  return {
    ...c,
    maxAttempts: c.maxAttempts ?? 10,
    writeBackoffMinMs: c.writeBackoffMinMs ?? 100,
    writeBackoffMaxMs: c.writeBackoffMaxMs ?? 1000,
    batchSize: c.batchSize ?? 1000,
    batchBytes: c.batchBytes ?? 1024 * 1024,
    batchTimeoutMs: c.batchTimeoutMs ?? 5,
    writeTimeoutMs: c.writeTimeoutMs ?? 30_000,
    requiredAcks,
    idempotent,
    async: c.async ?? false,
    compression: c.compression ?? 'none',
    allowAutoTopicCreation: c.allowAutoTopicCreation ?? false,
    maxInFlightPerPartition: Math.min(c.maxInFlightPerPartition ?? 5, idempotent ? 5 : Infinity),
    maxBufferedBytes: c.maxBufferedBytes ?? 64 * 1024 * 1024,
    balancer: c.balancer ?? new Murmur2Balancer(),
  };
}
