// The batch-outcome classifier: which failures are retried, split, call for a new producer epoch, or
// fail the batch's messages. No broker: the rules are a pure function.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyBatchError, partitionOutcome, type BatchSituation } from '../../src/client/writer/outcome.ts';
import { AbortedError, ConnectionError, KafkaError, KafkaProtocolError, TimeoutError } from '../../src/protocol/errors.ts';
import { ErrorCode } from '../../src/protocol/messages/index.ts';

const base: BatchSituation = {
  idempotent: true,
  numbered: true,
  attempts: 0,
  maxAttempts: 10,
  messages: 10,
  abandoned: false,
  earlierOutstanding: false,
  shuttingDown: false,
};
const broker = (code: number) => new KafkaProtocolError(code);

describe('batch outcome classifier', () => {
  it('leader moves and lost connections: retried, counted, metadata refreshed, same producer epoch', () => {
    for (const err of [broker(ErrorCode.NOT_LEADER_OR_FOLLOWER), new ConnectionError('reset'), new TimeoutError('no answer'), broker(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]) {
      assert.deepEqual(classifyBatchError(err, base), { kind: 'retry', countAttempt: true, resetProducer: false, refreshMetadata: true }, err.message);
    }
    // Retriable without a stale view: no refresh.
    assert.deepEqual(classifyBatchError(broker(ErrorCode.NOT_ENOUGH_REPLICAS), base), { kind: 'retry', countAttempt: true, resetProducer: false, refreshMetadata: false });
  });

  it('too large: split while there is more than one message; a single message fails', () => {
    assert.deepEqual(classifyBatchError(broker(ErrorCode.MESSAGE_TOO_LARGE), base), { kind: 'split' });
    assert.deepEqual(classifyBatchError(broker(ErrorCode.RECORD_LIST_TOO_LARGE), base), { kind: 'split' });
    assert.deepEqual(classifyBatchError(broker(ErrorCode.MESSAGE_TOO_LARGE), { ...base, messages: 1 }), { kind: 'fail', resetProducer: true });
    assert.deepEqual(classifyBatchError(broker(ErrorCode.MESSAGE_TOO_LARGE), { ...base, messages: 1, idempotent: false }), { kind: 'fail', resetProducer: false });
  });

  it('lost producer state and sequence gaps: a new epoch, then retry', () => {
    for (const code of [ErrorCode.UNKNOWN_PRODUCER_ID, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER]) {
      assert.deepEqual(classifyBatchError(broker(code), base), { kind: 'retry', countAttempt: true, resetProducer: true, refreshMetadata: false });
    }
  });

  it('out of order behind an earlier batch that is being resent: wait for it, no attempt counted, no new epoch', () => {
    const s = { ...base, earlierOutstanding: true, attempts: 9 };
    assert.deepEqual(classifyBatchError(broker(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), s), { kind: 'retry', countAttempt: false, resetProducer: false, refreshMetadata: false });
  });

  it('non-retriable errors fail; a numbered batch that fails leaves a gap: new epoch', () => {
    assert.deepEqual(classifyBatchError(broker(ErrorCode.TOPIC_AUTHORIZATION_FAILED), base), { kind: 'fail', resetProducer: true });
    assert.deepEqual(classifyBatchError(broker(ErrorCode.INVALID_RECORD), { ...base, numbered: false }), { kind: 'fail', resetProducer: false });
    assert.deepEqual(classifyBatchError(new KafkaError('bug', false), base), { kind: 'fail', resetProducer: true });
  });

  it('attempts run out: the last allowed attempt fails', () => {
    assert.equal(classifyBatchError(broker(ErrorCode.NOT_LEADER_OR_FOLLOWER), { ...base, attempts: 8 }).kind, 'retry');
    assert.deepEqual(classifyBatchError(broker(ErrorCode.NOT_LEADER_OR_FOLLOWER), { ...base, attempts: 9 }), { kind: 'fail', resetProducer: true });
  });

  it('abandoned (every call ended) or shutting down: fail at once, even where a retry or split would help', () => {
    for (const s of [{ ...base, abandoned: true }, { ...base, shuttingDown: true }]) {
      assert.deepEqual(classifyBatchError(new TimeoutError('late'), s), { kind: 'fail', resetProducer: true });
      assert.deepEqual(classifyBatchError(broker(ErrorCode.MESSAGE_TOO_LARGE), s), { kind: 'fail', resetProducer: true });
    }
    assert.deepEqual(classifyBatchError(new AbortedError(), { ...base, abandoned: true, numbered: false }), { kind: 'fail', resetProducer: false });
  });

  it('partition answers: none written, a duplicate is written with no offset, others are typed errors', () => {
    assert.deepEqual(partitionOutcome(ErrorCode.NONE, 42n, 't/0'), { kind: 'written', baseOffset: 42n });
    assert.deepEqual(partitionOutcome(ErrorCode.DUPLICATE_SEQUENCE_NUMBER, 42n, 't/0'), { kind: 'written', baseOffset: -1n });
    const o = partitionOutcome(ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n, 't/0: moved');
    assert.ok(o.kind === 'error' && o.error.code === ErrorCode.NOT_LEADER_OR_FOLLOWER && /moved/.test(o.error.message));
  });
});
