// The transaction error table (txn-errors.ts): which errors retry, which make the transaction
// abortable (and which of those need a new epoch), which are fatal; and the transactional Writer's
// refusals that need no broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/messages/index.ts';
import { AbortedError, KafkaError, KafkaProtocolError, ProducerFencedError, TimeoutError, TransactionAbortableError, TransactionStateError } from '../../src/protocol/errors.ts';
import { Writer } from '../../src/client/writer/index.ts';
import { classifyTxnError, coordinatorError } from '../../src/client/writer/txn-errors.ts';

const code = (c: number) => new KafkaProtocolError(c);

describe('transaction error classes', () => {
  it('fencing and authorization are fatal, from the coordinator and from a write alike', () => {
    for (const src of ['coordinator', 'produce'] as const) {
      for (const c of [ErrorCode.PRODUCER_FENCED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.INVALID_TXN_STATE, ErrorCode.INVALID_PRODUCER_ID_MAPPING]) {
        assert.deepEqual(classifyTxnError(code(c), src), { kind: 'fatal' }, `${c} from ${src}`);
      }
    }
    assert.deepEqual(classifyTxnError(new ProducerFencedError(ErrorCode.PRODUCER_FENCED), 'produce'), { kind: 'fatal' });
  });

  it('INVALID_PRODUCER_EPOCH: fenced from the coordinator (older versions), an epoch bump from a partition leader (KIP-588)', () => {
    assert.deepEqual(classifyTxnError(code(ErrorCode.INVALID_PRODUCER_EPOCH), 'coordinator'), { kind: 'fatal' });
    assert.deepEqual(classifyTxnError(code(ErrorCode.INVALID_PRODUCER_EPOCH), 'produce'), { kind: 'abortable', bump: true });
    assert.ok(coordinatorError(ErrorCode.INVALID_PRODUCER_EPOCH, 'x') instanceof ProducerFencedError);
    assert.ok(coordinatorError(ErrorCode.PRODUCER_FENCED, 'x') instanceof ProducerFencedError);
    assert.ok(!(coordinatorError(ErrorCode.CONCURRENT_TRANSACTIONS, 'x') instanceof ProducerFencedError));
  });

  it('a busy or moved coordinator is retried; the same codes from a write abort the transaction', () => {
    for (const c of [ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]) {
      assert.deepEqual(classifyTxnError(code(c), 'coordinator'), { kind: 'retry' });
    }
    assert.deepEqual(classifyTxnError(code(ErrorCode.TRANSACTION_ABORTABLE), 'coordinator'), { kind: 'abortable', bump: false });
    assert.deepEqual(classifyTxnError(code(ErrorCode.TOPIC_AUTHORIZATION_FAILED), 'produce'), { kind: 'abortable', bump: false });
  });

  it('a write without an answer (timeout, abort) or with a refused sequence needs a new epoch', () => {
    assert.deepEqual(classifyTxnError(new TimeoutError(), 'produce'), { kind: 'abortable', bump: true });
    assert.deepEqual(classifyTxnError(new AbortedError(), 'produce'), { kind: 'abortable', bump: true });
    assert.deepEqual(classifyTxnError(code(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), 'produce'), { kind: 'abortable', bump: true });
    assert.deepEqual(classifyTxnError(code(ErrorCode.UNKNOWN_PRODUCER_ID), 'produce'), { kind: 'abortable', bump: true });
    assert.deepEqual(classifyTxnError(new TransactionAbortableError('x'), 'produce'), { kind: 'abortable', bump: false });
    assert.deepEqual(classifyTxnError(new TimeoutError(), 'coordinator'), { kind: 'retry' });
  });
});

describe('transactional Writer: configuration and calls in the wrong state (no broker needed)', () => {
  it('transactionalId needs acks all and idempotence; an empty one is refused', () => {
    assert.throws(() => new Writer({ brokers: ['127.0.0.1:1'], transactionalId: 't', requiredAcks: 'leader' }), KafkaError);
    assert.throws(() => new Writer({ brokers: ['127.0.0.1:1'], transactionalId: 't', idempotent: false }), KafkaError);
    assert.throws(() => new Writer({ brokers: ['127.0.0.1:1'], transactionalId: '' }), KafkaError);
  });

  it('transaction calls on a plain Writer, and writes outside a transaction on a transactional one, reject with TransactionStateError', async () => {
    const plain = new Writer({ brokers: ['127.0.0.1:1'], topic: 't' });
    await assert.rejects(plain.beginTransaction(), TransactionStateError);
    await assert.rejects(plain.commitTransaction(), TransactionStateError);
    await assert.rejects(plain.sendOffsets({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }, []), TransactionStateError);
    assert.equal(plain.transactionState, null);
    const txn = new Writer({ brokers: ['127.0.0.1:1'], topic: 't', transactionalId: 'tid' });
    await assert.rejects(txn.writeMessages({ value: 'x' }), TransactionStateError);
    await assert.rejects(txn.commitTransaction(), TransactionStateError);
    await assert.rejects(txn.abortTransaction(), TransactionStateError);
    assert.equal(txn.transactionState, 'uninitialized');
    await Promise.all([plain.close(), txn.close()]);
  });
});
