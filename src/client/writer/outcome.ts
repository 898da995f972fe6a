// What to do with a batch the broker refused, or whose request failed: retry it, split it, start a new
// producer epoch, or fail its messages. A pure function of the error and the batch's situation, so the
// rules can be tested without a broker.
import { ConnectionError, KafkaError, KafkaProtocolError, TimeoutError } from '../../protocol/errors.ts';
import { ErrorCode } from '../../protocol/messages/index.ts';
import { invalidatesMetadata } from '../retry.ts';

export interface BatchSituation {
  /** Idempotent producer: sequences are stamped on the batches. */
  idempotent: boolean;
  /** The batch carries a sequence number (it was sent in the current epoch). */
  numbered: boolean;
  /** Failed attempts counted before this one. */
  attempts: number;
  maxAttempts: number;
  /** Messages in the batch. */
  messages: number;
  /** Every call with a message in the batch has already ended (deadline, abort): nobody waits for it. */
  abandoned: boolean;
  /** A batch of the same partition sent before this one is in flight or waiting to be resent. */
  earlierOutstanding: boolean;
  /** The writer gave up (close aborted): nothing is retried. */
  shuttingDown: boolean;
  /**
   * In a transaction a new epoch cannot start mid-way (it would abort the transaction): a batch whose
   * retry needs one fails instead, and the transaction becomes abortable.
   */
  transactional?: boolean;
}

export type BatchAction =
  /** Halve the batch, keeping its place and its sequence range; a single message cannot be split. */
  | { kind: 'split' }
  | {
      kind: 'retry';
      /** The failure counts as an attempt (not so when the batch was refused only because an earlier one is missing). */
      countAttempt: boolean;
      /** Start a new producer epoch before anything more is sent (the broker lost or refused our sequence state). */
      resetProducer: boolean;
      refreshMetadata: boolean;
    }
  | {
      kind: 'fail';
      /** The batch's sequence numbers will never be written: later batches need a new epoch. */
      resetProducer: boolean;
    };

export function classifyBatchError(err: Error, s: BatchSituation): BatchAction {
  const code = err instanceof KafkaProtocolError ? err.code : ErrorCode.NONE;
  const gap = s.idempotent && s.numbered;
  if (s.abandoned || s.shuttingDown) return { kind: 'fail', resetProducer: gap };
  if ((code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE) && s.messages > 1) return { kind: 'split' };
  const producerLost = code === ErrorCode.UNKNOWN_PRODUCER_ID || code === ErrorCode.INVALID_PRODUCER_EPOCH;
  const outOfOrder = code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER;
  // Refused only because the broker has not seen an earlier batch of ours yet: not this batch's fault.
  const behindRetry = outOfOrder && s.earlierOutstanding;
  const retriable = (err instanceof KafkaError && err.retriable) || producerLost || outOfOrder;
  const attempts = behindRetry ? s.attempts : s.attempts + 1;
  if (!retriable || attempts >= s.maxAttempts) return { kind: 'fail', resetProducer: gap };
  const resetProducer = (outOfOrder && !behindRetry) || producerLost;
  if (s.transactional && resetProducer) return { kind: 'fail', resetProducer: true };
  return {
    kind: 'retry',
    countAttempt: !behindRetry,
    resetProducer,
    refreshMetadata:
      invalidatesMetadata(err) || err instanceof ConnectionError || err instanceof TimeoutError || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  };
}

export type PartitionOutcome = { kind: 'written'; baseOffset: bigint } | { kind: 'error'; error: KafkaProtocolError };

/** A partition's answer in a Produce response. A duplicate was written by an earlier attempt: success, offset unknown. */
export function partitionOutcome(errorCode: number, baseOffset: bigint, detail: string): PartitionOutcome {
  if (errorCode === ErrorCode.NONE) return { kind: 'written', baseOffset };
  if (errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) return { kind: 'written', baseOffset: -1n };
  return { kind: 'error', error: new KafkaProtocolError(errorCode, detail) };
}
