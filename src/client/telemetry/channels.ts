// The one telemetry module that touches the runtime: named diagnostics_channel channels where the
// runtime has them (Node, Deno 2 and Bun 1 do), so APM agents and `subscribe()` see every client in the
// process; elsewhere a minimal in-process stand-in with the same publish/subscribe shape. Loaded through
// process.getBuiltinModule, not a static import, so that a runtime without the module still loads mka.
import type * as DiagnosticsChannel from 'node:diagnostics_channel';

/** What the seam needs of a channel: Node's Channel has it, and so does the stand-in. */
export interface EventChannel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
  subscribe(fn: (message: unknown, name: string | symbol) => void): void;
  unsubscribe(fn: (message: unknown, name: string | symbol) => void): unknown;
}

/** The part of Node's TracingChannel used for request spans. */
export interface RequestTracing {
  /** True when anything listens to one of start/end/asyncStart/asyncEnd/error. */
  readonly active: boolean;
  tracePromise<T>(fn: () => Promise<T>, context: object): Promise<T>;
}

type Dc = typeof DiagnosticsChannel;

function load(): Dc | null {
  try {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    return (p?.getBuiltinModule?.('node:diagnostics_channel') as Dc | undefined) ?? null;
  } catch {
    return null;
  }
}

const dc = load();

/** Whether events also go out on diagnostics_channel (false: only hooks and in-process subscribers). */
export const hasDiagnosticsChannel = dc !== null;

class LocalChannel implements EventChannel {
  private subs: ((message: unknown, name: string) => void)[] = [];
  constructor(private readonly name: string) {}
  get hasSubscribers(): boolean {
    return this.subs.length > 0;
  }
  publish(message: unknown): void {
    for (const s of this.subs) {
      try {
        s(message, this.name);
      } catch {
        // A subscriber's bug must not break the client.
      }
    }
  }
  subscribe(fn: (message: unknown, name: string | symbol) => void): void {
    this.subs = [...this.subs, fn];
  }
  unsubscribe(fn: (message: unknown, name: string | symbol) => void): boolean {
    const before = this.subs.length;
    this.subs = this.subs.filter((s) => s !== fn);
    return this.subs.length < before;
  }
}

export function channel(name: string): EventChannel {
  return dc ? (dc.channel(name) as unknown as EventChannel) : new LocalChannel(name);
}

export function requestTracing(name: string): RequestTracing | null {
  if (!dc || typeof dc.tracingChannel !== 'function') return null;
  const tc = dc.tracingChannel(name);
  // Bun's TracingChannel has no hasSubscribers: ask its five channels.
  const parts = [tc.start, tc.end, tc.asyncStart, tc.asyncEnd, tc.error];
  return {
    get active() {
      const own = (tc as { hasSubscribers?: boolean }).hasSubscribers;
      return own ?? parts.some((c) => c.hasSubscribers);
    },
    tracePromise: (fn, context) => tc.tracePromise(fn, context),
  };
}
