// One deadline per call, from the moment the call is made. Everything a call waits for — queueing,
// metadata, dialing, each request, retries and backoff — waits on the deadline's signal, so the call
// ends by its deadline whatever the cluster does. Shared work (a metadata refresh, a dial several callers
// wait for) is never handed a caller's signal: each caller races it with its own (`raceSignal`), and
// the work goes on for the others.
import { AbortedError, KafkaError, TimeoutError } from '../protocol/errors.ts';

export interface Deadline {
  /** Monotonic time (performance.now()) at which the call times out. */
  readonly at: number;
  /** Aborts at the deadline (reason: TimeoutError) or when the caller's signal aborts (AbortedError). */
  readonly signal: AbortSignal;
  remaining(): number;
  /** Releases the timer and the listener on the caller's signal; call when the call has settled. */
  dispose(): void;
}

/**
 * A deadline `opts.timeoutMs` (else `defaultMs`) from now, also ended by `opts.signal`. `what` names
 * the call in the TimeoutError.
 */
export function deadline(opts: { signal?: AbortSignal; timeoutMs?: number }, defaultMs: number, what: string): Deadline {
  const ms = Math.max(0, opts.timeoutMs ?? defaultMs);
  const at = performance.now() + ms;
  const ctl = new AbortController();
  const parent = opts.signal;
  const onParent = () => ctl.abort(abortError(parent!, `${what} aborted`));
  const timer = setTimeout(() => ctl.abort(new TimeoutError(`${what} did not complete within ${ms} ms`)), ms);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    at,
    signal: ctl.signal,
    remaining: () => Math.max(0, at - performance.now()),
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/**
 * The error an aborted wait rejects with: the signal's reason when it is one of ours (a deadline's
 * TimeoutError, a caller's AbortedError), else an AbortedError carrying the reason.
 */
export function abortError(signal: AbortSignal, message: string): KafkaError {
  return signal.reason instanceof KafkaError ? signal.reason : new AbortedError(message, signal.reason);
}

/**
 * Waits for shared work `p` until `signal` aborts. The work is not cancelled: it settles for whoever
 * else waits on it, and its rejection is never left unhandled.
 */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, message: string): Promise<T> {
  p.catch(() => {});
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal, message));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, message));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
