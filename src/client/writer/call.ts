// One writeMessages call: its messages' outcomes, and its deadline. The deadline runs from the moment
// the call is made, through admission, metadata, connecting, retries and backoff; when it passes (or
// the caller's signal fires) the call ends at once, whatever the cluster does. The Writer decides what
// ending means for each message (removed from the accumulator, or already on the wire: outcome unknown).
import { AbortedError, KafkaError, TimeoutError } from '../../protocol/errors.ts';
import type { WriteResult, WriterMessage } from './config.ts';
import { WriteErrors } from './write-errors.ts';

/** Options for one writeMessages call, given as its last argument. */
export interface WriteOptions {
  /** Ends the call: messages still queued are removed and fail with AbortedError. */
  signal?: AbortSignal;
  /** This call's deadline, from now; default the writer's writeTimeoutMs. */
  timeoutMs?: number;
}

/** Where a message of a call is, as far as ending the call early is concerned. */
export interface CallSlot {
  /** The message is in a produce request already handed to a connection. */
  readonly sent: boolean;
  /** Takes a queued message out of the accumulator; it will never be sent. */
  remove(): void;
  /** The call stopped waiting for this message. */
  forget(): void;
}

export type EndReason = 'timeout' | 'abort' | 'shutdown';

/** Longest timer Node keeps (about 24.8 days); a longer deadline is no deadline. */
const MAX_TIMER_MS = 0x7fffffff;

export class WriteCall {
  readonly errors: (Error | null)[];
  readonly results: (WriteResult | null)[];
  /** Message i is settled (written or failed). */
  readonly done: Uint8Array;
  /** Message i was in a produce request whose outcome the call did not wait for. */
  readonly sent: boolean[];
  /** Where each admitted message sits; null until admitted. */
  readonly slots: (CallSlot | null)[];
  /** Index of the next message admission will look at. */
  next = 0;
  failed = false;
  /** Admission queued (or refused) every message before the call ended. */
  wasAdmitted = false;
  /** Why the call ended before every message had an outcome, if it did. */
  endReason: EndReason | null = null;
  /** Topics whose metadata was looked up for this call: still unknown afterwards means they do not exist. */
  readonly lookedUp = new Set<string>();
  readonly deadline: number;
  /** Resolves once every message has an outcome. */
  readonly settled: Promise<void>;
  /** Resolves once admission has finished with the call (all queued or failed), or the call ended. */
  readonly admitted: Promise<void>;
  private left: number;
  private resolveSettled!: () => void;
  private resolveAdmitted!: () => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort: (() => void) | undefined;

  constructor(
    readonly messages: readonly WriterMessage[],
    readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    /** Ends the call (the Writer's policy: remove what is queued, report what is on the wire). */
    end: (call: WriteCall, reason: EndReason) => void,
    private readonly onSettled: (call: WriteCall) => void,
  ) {
    const n = messages.length;
    this.errors = new Array(n).fill(null);
    this.results = new Array(n).fill(null);
    this.done = new Uint8Array(n);
    this.sent = new Array(n).fill(false);
    this.slots = new Array(n).fill(null);
    this.left = n;
    this.deadline = performance.now() + timeoutMs;
    this.settled = new Promise<void>((r) => (this.resolveSettled = r));
    this.admitted = new Promise<void>((r) => (this.resolveAdmitted = r));
    if (timeoutMs < MAX_TIMER_MS) this.timer = setTimeout(() => end(this, 'timeout'), Math.max(0, timeoutMs));
    if (signal) {
      this.onAbort = () => end(this, 'abort');
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  get ended(): boolean {
    return this.left === 0;
  }

  /** Records message i's outcome; later outcomes for it are ignored (the first one was reported). */
  settle(i: number, err: Error | null, result: WriteResult | null): void {
    if (this.done[i]) return;
    this.done[i] = 1;
    this.slots[i]?.forget();
    if (err) {
      this.errors[i] = err;
      this.failed = true;
    } else {
      this.results[i] = result;
    }
    if (--this.left === 0) this.finish();
  }

  /** Message i failed; `sent`: it was in a request that may have written it. */
  fail(i: number, err: Error, sent: boolean): void {
    if (this.done[i]) return;
    this.sent[i] = sent;
    this.settle(i, err, null);
  }

  /** Every message without an outcome fails now: queued ones are removed, sent ones are reported as such. */
  endEarly(reason: EndReason, cause?: unknown): void {
    if (this.ended) return;
    this.endReason = reason;
    // One error per fate, shared by the messages: a large call must not pay a stack trace per message.
    const errors: [KafkaError | null, KafkaError | null] = [null, null];
    for (let i = 0; i < this.messages.length; i++) {
      if (this.done[i]) continue;
      const slot = this.slots[i];
      const sent = slot?.sent ?? false;
      if (slot && !sent) slot.remove();
      this.sent[i] = sent;
      this.settle(i, (errors[+sent] ??= this.endError(reason, sent, cause)), null);
    }
  }

  markAdmitted(): void {
    if (!this.ended) this.wasAdmitted = true;
    this.resolveAdmitted();
  }

  toError(): WriteErrors {
    return new WriteErrors(this.errors, this.sent, this.results);
  }

  private endError(reason: EndReason, sent: boolean, cause: unknown): KafkaError {
    const fate = sent ? 'it was sent and its outcome is unknown' : 'it was not sent';
    if (reason === 'timeout') {
      const why = cause instanceof Error ? ` (last trouble: ${cause.message})` : '';
      return new TimeoutError(`not acknowledged within ${this.timeoutMs} ms; ${fate}${why}`);
    }
    if (reason === 'abort') return new AbortedError(`writeMessages aborted before the message was acknowledged; ${fate}`, this.signal?.reason ?? cause);
    return new AbortedError(`writer closed before the message was acknowledged; ${fate}`, cause);
  }

  private finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    this.resolveAdmitted();
    this.resolveSettled();
    this.onSettled(this);
  }
}

/** Splits writeMessages' arguments: an options object may come last (a message always has `value`). */
export function parseWriteArgs<M extends object>(args: (M | WriteOptions)[]): { messages: M[]; opts: WriteOptions } {
  const last = args[args.length - 1];
  if (last !== undefined && isWriteOptions(last)) return { messages: args.slice(0, -1) as M[], opts: last };
  return { messages: args as M[], opts: {} };
}

function isWriteOptions(x: object): x is WriteOptions {
  return x !== null && typeof x === 'object' && !('value' in x) && ('signal' in x || 'timeoutMs' in x);
}

/** Waits for `p` until the call ends; then resolves false (the shared work `p` goes on for others). */
export function untilEnded<T>(call: WriteCall, p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  p.catch(() => {});
  return Promise.race([p.then((value) => ({ ok: true as const, value })), call.settled.then(() => ({ ok: false as const }))]);
}
