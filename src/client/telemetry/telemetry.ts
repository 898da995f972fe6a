// The telemetry seam: one emitter per client, one topic per event kind. A topic publishes to the
// client's own hook (the `telemetry` config) and to its process-wide channel. Call sites check `on`
// before they build an event, so with nobody listening an event costs one property read:
//
//   if (tel.request.on) tel.request.emit({ ... });
//
// Stats, metrics and tracing adapters all subscribe here; nothing else in the client counts for them.
import { channel, requestTracing, type EventChannel, type RequestTracing } from './channels.ts';
import type {
  ConnectionEvent,
  FailoverEvent,
  FetchEvent,
  HealthChangeEvent,
  ProduceBatchEvent,
  RebalanceEvent,
  RequestEvent,
  TelemetryEvent,
  TelemetryHooks,
} from './events.ts';

/** The diagnostics_channel names; request spans also go out on TracingChannel `mka:request`. */
export const CHANNELS = {
  connection: 'mka:connection',
  request: 'mka:request',
  produce: 'mka:produce',
  fetch: 'mka:fetch',
  rebalance: 'mka:rebalance',
  health: 'mka:health',
  failover: 'mka:failover',
} as const;

type Kind = keyof typeof CHANNELS;

interface EventOf {
  connection: ConnectionEvent;
  request: RequestEvent;
  produce: ProduceBatchEvent;
  fetch: FetchEvent;
  rebalance: RebalanceEvent;
  health: HealthChangeEvent;
  failover: FailoverEvent;
}

const HOOK: { [K in Kind]: keyof TelemetryHooks } = {
  connection: 'onConnection',
  request: 'onRequest',
  produce: 'onProduce',
  fetch: 'onFetch',
  rebalance: 'onRebalance',
  health: 'onHealthChange',
  failover: 'onFailover',
};

// Process-wide, created once: Node keeps channels by name, the stand-in needs one object per name.
const channels = Object.fromEntries(Object.entries(CHANNELS).map(([k, name]) => [k, channel(name)])) as Record<Kind, EventChannel>;
const tracing: RequestTracing | null = requestTracing(CHANNELS.request);

/** One event kind of one client. */
export class TelemetryTopic<E extends TelemetryEvent> {
  constructor(
    private readonly ch: EventChannel,
    private readonly hook: ((e: E) => void) | undefined,
    private readonly client: string,
  ) {}

  /** Someone listens: build the event. */
  get on(): boolean {
    return this.hook !== undefined || this.ch.hasSubscribers;
  }

  /** Stamps the client's name on the event and hands it to the hook and the channel. */
  emit(e: Omit<E, 'client'>): void {
    const ev = e as E;
    ev.client = this.client;
    if (this.hook) {
      try {
        this.hook(ev);
      } catch {
        // A hook's bug must not break the client.
      }
    }
    if (this.ch.hasSubscribers) this.ch.publish(ev);
  }
}

export class Telemetry {
  readonly connection: TelemetryTopic<ConnectionEvent>;
  readonly request: TelemetryTopic<RequestEvent>;
  readonly produce: TelemetryTopic<ProduceBatchEvent>;
  readonly fetch: TelemetryTopic<FetchEvent>;
  readonly rebalance: TelemetryTopic<RebalanceEvent>;
  readonly health: TelemetryTopic<HealthChangeEvent>;
  readonly failover: TelemetryTopic<FailoverEvent>;
  /** TracingChannel `mka:request` (null on runtimes without it): spans around each request. */
  readonly tracing: RequestTracing | null = tracing;

  constructor(
    readonly client: string,
    hooks: TelemetryHooks = {},
  ) {
    const topic = <K extends Kind>(k: K): TelemetryTopic<EventOf[K]> => {
      const h = hooks[HOOK[k]] as ((e: EventOf[K]) => void) | undefined;
      return new TelemetryTopic<EventOf[K]>(channels[k], h ? (e) => h.call(hooks, e) : undefined, client);
    };
    this.connection = topic('connection');
    this.request = topic('request');
    this.produce = topic('produce');
    this.fetch = topic('fetch');
    this.rebalance = topic('rebalance');
    this.health = topic('health');
    this.failover = topic('failover');
  }
}

/**
 * Subscribes hooks to the events of every client in the process (through the channels), without
 * passing them in each config. Returns the function that unsubscribes them.
 */
export function subscribe(hooks: TelemetryHooks): () => void {
  const subs: [EventChannel, (m: unknown) => void][] = [];
  for (const k of Object.keys(CHANNELS) as Kind[]) {
    const h = hooks[HOOK[k]] as ((e: unknown) => void) | undefined;
    if (!h) continue;
    const fn = (m: unknown) => h.call(hooks, m);
    channels[k].subscribe(fn);
    subs.push([channels[k], fn]);
  }
  return () => {
    for (const [ch, fn] of subs.splice(0)) ch.unsubscribe(fn);
  };
}
