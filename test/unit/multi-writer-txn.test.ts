// MultiWriter and transactions: a transaction lives on one cluster, so a transactional config is
// refused in every mode, before any socket is opened.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MultiWriter, RWMode } from '../../src/multi/index.ts';
import { KafkaError } from '../../src/protocol/errors.ts';

describe('MultiWriter with a transactional config', () => {
  for (const mode of [RWMode.Backup, RWMode.MultiRW, RWMode.Mirror]) {
    it(`${mode}: refused with a clear error`, () => {
      const configs = [
        { brokers: ['127.0.0.1:1'], topic: 't', transactionalId: 'tid' },
        { brokers: ['127.0.0.1:2'], topic: 't' },
      ];
      assert.throws(() => new MultiWriter(mode, configs), (e: unknown) => e instanceof KafkaError && !e.retriable && /transaction lives on one cluster/.test(e.message));
    });
  }
});
