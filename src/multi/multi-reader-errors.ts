// The error a MultiReader's readMessage throws when a cluster's group did not take a commit. The
// messages ride on it: they were read and will not come again from this reader, so dropping them with
// the error would lose them silently.
import { KafkaError } from '../protocol/errors.ts';
import type { Message } from '../client/reader/index.ts';

export class MultiReadCommitError<M extends Message = Message> extends KafkaError {
  constructor(
    /** The cluster whose group refused or did not answer the commit. */
    readonly cluster: number,
    /** The messages readMessage would have returned from that cluster, not committed. */
    readonly messages: readonly M[],
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`cluster ${cluster}: ${messages.length} message(s) read but not committed: ${why}`, cause instanceof KafkaError && cause.retriable, { cause });
  }
}
