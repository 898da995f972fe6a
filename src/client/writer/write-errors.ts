// kafka-go's WriteErrors: one entry per message given to writeMessages, null where it was written.
import { KafkaError } from '../../protocol/errors.ts';

export class WriteErrors extends KafkaError {
  /** Aligned with the messages of the call: `errors[i]` is why message i failed, or null. */
  readonly errors: readonly (Error | null)[];

  constructor(errors: (Error | null)[]) {
    const failed = errors.filter((e): e is Error => e !== null);
    const kinds = [...new Set(failed.map((e) => e.message))].slice(0, 3);
    super(
      `${failed.length} of ${errors.length} messages failed: ${kinds.join('; ')}${kinds.length < new Set(failed.map((e) => e.message)).size ? '; …' : ''}`,
      failed.length > 0 && failed.every((e) => e instanceof KafkaError && e.retriable),
    );
    this.errors = errors;
  }

  /** How many messages failed. */
  count(): number {
    let n = 0;
    for (const e of this.errors) if (e) n++;
    return n;
  }
}
