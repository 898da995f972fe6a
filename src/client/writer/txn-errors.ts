// What an error means for a transaction: the one table, after the Java client's TransactionManager
// (KIP-98, KIP-360, KIP-588, KIP-890). Used for every transactional request's answer and for every
// failed write inside a transaction.
//  retry     — the request is tried again within its deadline (the coordinator moved or is busy).
//  abortable — the transaction cannot commit; abortTransaction() clears it and the Writer goes on.
//              `bump`: the producer's sequence state is unknown (a write timed out, a sequence was
//              refused, the coordinator bumped our epoch after a transaction timeout): the abort starts
//              a new epoch with InitProducerId(id, epoch), which the coordinator refuses if we are fenced.
//  fatal     — the Writer can never write in a transaction again (fenced, not authorized, broken state).
import { KafkaError, KafkaProtocolError, ProducerFencedError, TransactionAbortableError } from '../../protocol/errors.ts';
import { ErrorCode } from '../../protocol/messages/index.ts';

export type TxnErrorKind = { kind: 'retry' } | { kind: 'abortable'; bump: boolean } | { kind: 'fatal' };

/** Where the error came from: the transaction coordinator's answer, or a write (Produce) in the transaction. */
export type TxnErrorSource = 'coordinator' | 'produce';

const FATAL = new Set<number>([
  ErrorCode.PRODUCER_FENCED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.INVALID_TXN_STATE,
  ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  ErrorCode.INVALID_TRANSACTION_TIMEOUT,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
]);

const RETRY = new Set<number>([
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
]);

/** Sequence state lost or refused: the next transaction needs a new epoch. */
const BUMP = new Set<number>([
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.UNKNOWN_PRODUCER_ID,
  ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
]);

export function classifyTxnError(err: unknown, source: TxnErrorSource): TxnErrorKind {
  if (err instanceof ProducerFencedError) return { kind: 'fatal' };
  if (err instanceof TransactionAbortableError) return { kind: 'abortable', bump: false };
  if (err instanceof KafkaProtocolError) {
    const code = err.code;
    // Before PRODUCER_FENCED existed (EndTxn/AddPartitionsToTxn v2, InitProducerId v4), the coordinator
    // said INVALID_PRODUCER_EPOCH for a fenced producer; from a partition leader it means our epoch was
    // bumped after a transaction timeout (KIP-588), which an epoch bump recovers from.
    if (code === ErrorCode.INVALID_PRODUCER_EPOCH && source === 'coordinator') return { kind: 'fatal' };
    if (FATAL.has(code)) return { kind: 'fatal' };
    if (source === 'coordinator' && RETRY.has(code)) return { kind: 'retry' };
    return { kind: 'abortable', bump: BUMP.has(code) };
  }
  // No answer (timeout, connection lost, abort): a write may still land, so its sequence is unknown.
  if (source === 'produce') return { kind: 'abortable', bump: true };
  return err instanceof KafkaError && err.retriable ? { kind: 'retry' } : { kind: 'abortable', bump: false };
}

/** The error a coordinator's code is thrown as: fencing gets its own class. */
export function coordinatorError(code: number, detail: string): KafkaProtocolError {
  if (code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH) return new ProducerFencedError(code, detail);
  return new KafkaProtocolError(code, detail);
}
