// Helpers of the Reader integration tests: producing to a partition whose leader may still be
// settling, waiting for a condition, and a consumer loop that fetches, "processes" and commits.
import { Client } from '../../src/client/client.ts';
import { ClosedError, KafkaError, KafkaProtocolError, TimeoutError } from '../../src/protocol/errors.ts';
import type { Reader } from '../../src/client/reader/index.ts';
import { produceRaw as produceOnce } from './produce.ts';

/** produceRaw that also rides out any retriable refusal (a partition just created, a leader moving). */
export async function produceRetrying(...args: Parameters<typeof produceOnce>): ReturnType<typeof produceOnce> {
  const client: Client = args[0];
  for (let i = 0; ; i++) {
    try {
      return await produceOnce(...args);
    } catch (e) {
      if (!(e instanceof KafkaError && e.retriable) || i >= 20) throw e;
      client.cluster.invalidate();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Polls cond every 50 ms; throws naming `what` after timeoutMs. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const keyOf = (t: { topic: string; partition: number }) => `${t.topic}/${t.partition}`;

/**
 * A consumer loop: fetch, record `partition:offset` in processed, commit. A commit refused by the
 * group (a partition that moved) is counted in refused, not fatal. Ends when the reader closes.
 */
export function consume(r: Reader, processed: Set<string>, refused: { n: number }): Promise<void> {
  return (async () => {
    for (;;) {
      try {
        const m = await r.fetchMessage({ timeoutMs: 500 });
        processed.add(`${m.partition}:${m.offset}`);
        await r.commitMessages(m).catch((e) => {
          if (e instanceof KafkaProtocolError) refused.n++;
          else if (!(e instanceof ClosedError)) throw e;
        });
      } catch (e) {
        if (e instanceof TimeoutError) continue;
        if (e instanceof ClosedError) return;
        throw e;
      }
    }
  })();
}
