// Retrying, in one place for what is shared: each error's `retriable` flag (from Kafka's error table for
// broker errors), `backoff()` (exponential with full jitter) and `withRetry()`, the loop of single
// requests (every Cluster/Client call: metadata, admin, offsets, coordinator lookups). Callers say what
// to do between attempts (refresh metadata, pick another broker); the policy decides whether and when.
// Three loops retry in their own terms, on the same flag and backoff, because a retry means something
// else there:
//   produce  writer/outcome.ts decides per partition (retry, split, fail); writer/sender.ts re-queues
//            the batch with its sequence numbers, until each message's write deadline;
//   fetch    reader/fetcher.ts takes a partition out on NOT_LEADER_OR_FOLLOWER and the like, refreshes
//            metadata and fetches it again after a backoff;
//   groups   reader/group/*membership.ts rejoin after a backoff.
import { KafkaError, KafkaProtocolError } from '../protocol/errors.ts';
import { abortError } from './deadline.ts';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  signal?: AbortSignal;
  /**
   * Monotonic time (performance.now()) until which retriable errors are retried even after
   * `attempts`: for calls bounded by a deadline (a write's timeout) rather than a count.
   */
  until?: number;
  /** Called before each new attempt with the error that ended the last one. */
  onRetry?: (err: KafkaError, attempt: number) => void | Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, backoffMinMs: 100, backoffMaxMs: 1000 };

export function isRetriable(err: unknown): err is KafkaError {
  return err instanceof KafkaError && err.retriable;
}

export function invalidatesMetadata(err: unknown): boolean {
  return err instanceof KafkaProtocolError && err.invalidatesMetadata;
}

/** Delay before attempt n (1-based retries): uniform in [min, min(max, min * 2^n)]. */
export function backoff(n: number, minMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(n, 20));
  return minMs + Math.random() * Math.max(0, cap - minMs);
}

/** Resolves after ms, or rejects with AbortedError when the signal fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, 'aborted'));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal!, 'aborted'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const outOfAttempts = attempt >= opts.attempts && !(opts.until !== undefined && performance.now() < opts.until);
      if (!isRetriable(err) || outOfAttempts || opts.signal?.aborted) throw err;
      await opts.onRetry?.(err, attempt);
      await sleep(backoff(attempt, opts.backoffMinMs, opts.backoffMaxMs), opts.signal);
    }
  }
}
