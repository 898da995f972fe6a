// kafka-go's WriteErrors: one entry per message given to writeMessages, null where it was written.
import { KafkaError } from '../../protocol/errors.ts';
import type { WriteResult } from './config.ts';

export class WriteErrors extends KafkaError {
  /** Aligned with the messages of the call: `errors[i]` is why message i failed, or null. */
  readonly errors: readonly (Error | null)[];
  /**
   * Aligned with the messages: true when message i failed after it was sent in a produce request whose
   * outcome is unknown (it may have been written: a copy written elsewhere may be a duplicate); false
   * when it was certainly not written (or was written: `errors[i]` null).
   */
  readonly sent: readonly boolean[];
  /** Aligned with the messages: where message i was written (`errors[i]` null), else null. */
  readonly results: readonly (WriteResult | null)[];

  constructor(errors: (Error | null)[], sent?: readonly boolean[], results?: readonly (WriteResult | null)[]) {
    const failed = errors.filter((e): e is Error => e !== null);
    const kinds = [...new Set(failed.map((e) => e.message))].slice(0, 3);
    super(
      `${failed.length} of ${errors.length} messages failed: ${kinds.join('; ')}${kinds.length < new Set(failed.map((e) => e.message)).size ? '; …' : ''}`,
      failed.length > 0 && failed.every((e) => e instanceof KafkaError && e.retriable),
    );
    this.errors = errors;
    this.sent = sent ?? errors.map(() => false);
    this.results = results ?? errors.map(() => null);
  }

  /** How many messages failed. */
  count(): number {
    let n = 0;
    for (const e of this.errors) if (e) n++;
    return n;
  }
}
