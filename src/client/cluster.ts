// The single-cluster engine: bootstrap, a metadata cache refreshed when stale or after an error that
// invalidates it, connections routed to the right broker, and the retry policy around requests.
// Writer, Reader and Client are built on one Cluster each; nothing here is shared between clusters.
import { Api, ErrorCode, type ApiCodec, type Encodable, type MetadataResponse } from '../protocol/messages/index.ts';
import { ClosedError, ConnectionError, KafkaError, KafkaProtocolError } from '../protocol/errors.ts';
import type { Connection } from './connection.ts';
import { ClusterMetadata, type BrokerInfo, type PartitionInfo, type TopicInfo } from './metadata.ts';
import { ConnectionPool, type PoolHooks, type Purpose } from './pool.ts';
import { DEFAULT_RETRY, invalidatesMetadata, withRetry, type RetryOptions } from './retry.ts';
import type { SaslConfig } from './sasl/index.ts';
import type { TlsConfig } from './transport.ts';

export interface ClusterConfig {
  /** Bootstrap addresses, "host:port". Any one that answers is enough. */
  brokers: string[];
  clientId?: string;
  tls?: TlsConfig | boolean;
  sasl?: SaslConfig;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Metadata older than this is refreshed before it is used. */
  metadataMaxAgeMs?: number;
  /** Attempts and backoff of the retry policy for retriable errors. */
  retry?: Partial<RetryOptions>;
  /**
   * A call whose failures are retriable keeps retrying (with backoff) until this much time has passed,
   * even beyond `retry.attempts`: long enough to ride out a crashed broker being fenced (about 10 s).
   * Default 30000; 0 leaves only the attempt count.
   */
  retryTimeoutMs?: number;
  /** Reconnect backoff bounds. */
  reconnectBackoffMinMs?: number;
  reconnectBackoffMaxMs?: number;
  maxInFlight?: number;
  maxResponseBytes?: number;
  /** When set, brokers of any other cluster are refused (guards against mixed bootstrap lists). */
  expectedClusterId?: string;
}

export type { BrokerInfo, PartitionInfo, TopicInfo };

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export function parseBroker(addr: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(addr.trim());
  if (!m) throw new KafkaError(`broker address "${addr}" is not host:port`, false);
  return { host: m[1], port: Number(m[2]) };
}

export class Cluster {
  readonly config: ClusterConfig;
  readonly pool: ConnectionPool;
  readonly retry: RetryOptions;
  private meta: ClusterMetadata | null = null;
  private refreshing: Promise<ClusterMetadata> | null = null;
  /** Topics whose metadata the users of this cluster asked for; refreshed together. */
  private readonly interest = new Set<string>();
  private readonly bootstrap: { host: string; port: number }[];
  private closed = false;

  /** hooks: observers of the pool (a Reader's or Writer's dial stats). */
  constructor(config: ClusterConfig, hooks: PoolHooks = {}) {
    if (!config.brokers?.length) throw new KafkaError('no bootstrap brokers given', false);
    this.config = config;
    this.bootstrap = config.brokers.map(parseBroker);
    this.retry = { ...DEFAULT_RETRY, ...config.retry };
    this.pool = new ConnectionPool(
      {
        clientId: config.clientId ?? 'mka',
        tls: config.tls,
        sasl: config.sasl,
        connectTimeoutMs: config.connectTimeoutMs,
        requestTimeoutMs: config.requestTimeoutMs,
        maxInFlight: config.maxInFlight,
        maxResponseBytes: config.maxResponseBytes,
      },
      { backoffMinMs: config.reconnectBackoffMinMs ?? 100, backoffMaxMs: config.reconnectBackoffMaxMs ?? 10_000 },
      hooks,
    );
  }

  get metadataMaxAgeMs(): number {
    return this.config.metadataMaxAgeMs ?? 300_000;
  }

  /** The last metadata seen, without refreshing. */
  get current(): ClusterMetadata | null {
    return this.meta;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('client closed');
  }

  // ------------------------------------------------------------------------------------ connections

  /** A connection to any broker: a known one first, then each bootstrap address in turn. */
  async anyConnection(purpose: Purpose = 'control', opts: CallOptions = {}): Promise<Connection> {
    this.checkOpen();
    const known = this.meta ? [...this.meta.brokers.values()].map((b) => ({ host: b.host, port: b.port })) : [];
    const candidates = [...shuffle(known), ...shuffle([...this.bootstrap])];
    let last: unknown;
    // First pass skips brokers in reconnect backoff; only when every broker failed is one waited for.
    for (const noWait of [true, false]) {
      for (const c of noWait ? candidates : candidates.slice(0, 1)) {
        try {
          return await this.pool.get(c.host, c.port, purpose, opts.signal, { noWait });
        } catch (e) {
          if (e instanceof KafkaError && !e.retriable) throw e; // a wrong password is wrong everywhere
          last = e;
          if (opts.signal?.aborted) throw e;
        }
      }
    }
    throw last instanceof Error ? last : new ConnectionError('no broker reachable');
  }

  async brokerConnection(nodeId: number, purpose: Purpose = 'control', opts: CallOptions = {}): Promise<Connection> {
    this.checkOpen();
    let b = this.meta?.brokers.get(nodeId);
    if (!b) b = (await this.refreshMetadata(opts)).brokers.get(nodeId);
    if (!b) throw new ConnectionError(`broker ${nodeId} is not in the cluster's metadata`, true);
    return this.pool.get(b.host, b.port, purpose, opts.signal);
  }

  async leaderConnection(topic: string, partition: number, purpose: Purpose, opts: CallOptions = {}): Promise<Connection> {
    const p = await this.partition(topic, partition, opts);
    if (p.leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}/${partition} has no leader`);
    return this.brokerConnection(p.leader, purpose, opts);
  }

  // --------------------------------------------------------------------------------------- metadata

  /**
   * Fetches metadata for the topics of interest (plus `topics`). Concurrent calls share one request.
   * `topics: null` asks for every topic in the cluster.
   */
  async refreshMetadata(opts: CallOptions & { topics?: string[] | null; autoCreate?: boolean } = {}): Promise<ClusterMetadata> {
    this.checkOpen();
    for (const t of opts.topics ?? []) this.interest.add(t);
    if (opts.topics === null) return this.fetchMetadata(null, false, opts);
    if (this.refreshing && !opts.autoCreate) return this.refreshing;
    const p = this.fetchMetadata([...this.interest], opts.autoCreate ?? false, opts);
    this.refreshing = p;
    try {
      return await p;
    } finally {
      if (this.refreshing === p) this.refreshing = null;
    }
  }

  private async fetchMetadata(topics: string[] | null, autoCreate: boolean, opts: CallOptions): Promise<ClusterMetadata> {
    const res = await withRetry(async () => {
      const conn = await this.anyConnection('control', opts);
      return conn.request(
        Api.Metadata,
        {
          topics: topics === null ? null : topics.map((name) => ({ name })),
          allowAutoTopicCreation: autoCreate,
          includeTopicAuthorizedOperations: false,
        },
        { signal: opts.signal, timeoutMs: opts.timeoutMs },
      );
    }, { ...this.retry, signal: opts.signal, until: performance.now() + (this.config.retryTimeoutMs ?? 30_000) });
    this.checkClusterId(res);
    const next = ClusterMetadata.fromResponse(res, this.meta ?? undefined, topics === null);
    // Brokers that left the cluster keep no sockets open.
    for (const old of this.meta?.brokers.values() ?? []) {
      const now = next.brokers.get(old.nodeId);
      if (!now || now.host !== old.host || now.port !== old.port) this.pool.closeBroker(old.host, old.port);
    }
    this.meta = next;
    return next;
  }

  private checkClusterId(res: MetadataResponse): void {
    const id = res.clusterId ?? null;
    const expected = this.config.expectedClusterId ?? this.meta?.clusterId ?? null;
    if (expected && id && id !== expected) {
      throw new KafkaError(
        `broker answered for cluster ${id}, but this client is bound to cluster ${expected}: ` +
          'the bootstrap list mixes brokers of different clusters',
        false,
      );
    }
  }

  /** Metadata that is no older than metadataMaxAgeMs and knows `topics`. */
  async metadata(topics: string[] = [], opts: CallOptions & { autoCreate?: boolean } = {}): Promise<ClusterMetadata> {
    const m = this.meta;
    const fresh = m && performance.now() - m.fetchedAt < this.metadataMaxAgeMs;
    if (fresh && topics.every((t) => this.interest.has(t) && m.topics.has(t) && m.topics.get(t)!.errorCode === ErrorCode.NONE)) return m;
    return this.refreshMetadata({ ...opts, topics });
  }

  async topic(topic: string, opts: CallOptions & { autoCreate?: boolean } = {}): Promise<TopicInfo> {
    const m = await this.metadata([topic], opts);
    const t = m.topics.get(topic);
    if (!t) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} not in metadata`);
    if (t.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(t.errorCode, `topic ${topic}`);
    return t;
  }

  async partition(topic: string, partition: number, opts: CallOptions = {}): Promise<PartitionInfo> {
    const t = await this.topic(topic, opts);
    const p = t.partitions.find((x) => x.partition === partition);
    if (!p) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${topic}/${partition} does not exist`);
    return p;
  }

  /** Marks metadata stale so the next use refreshes it (after NOT_LEADER and friends). */
  invalidate(): void {
    if (this.meta) {
      this.meta = new ClusterMetadata(this.meta.clusterId, this.meta.controllerId, this.meta.brokers, this.meta.topics, -Infinity);
    }
  }

  // --------------------------------------------------------------------------------------- requests

  /**
   * Sends a request to the broker chosen by `route`, retrying retriable failures with the cluster's
   * policy; errors that invalidate metadata refresh it before the next attempt.
   */
  async call<Req, Res>(
    route: (opts: CallOptions) => Promise<Connection>,
    api: ApiCodec<Req, Res>,
    body: Encodable<Req> | ((conn: Connection) => Encodable<Req>),
    opts: CallOptions & { check?: (res: Res) => void; retryUntil?: number } = {},
  ): Promise<Res> {
    // The route may make calls of its own (FindCoordinator): they get the caller's signal and
    // timeout, not this call's response check.
    const { check: _check, retryUntil: _until, ...routeOpts } = opts;
    return withRetry(
      async () => {
        const conn = await route(routeOpts);
        const req = typeof body === 'function' ? (body as (c: Connection) => Encodable<Req>)(conn) : body;
        const res = await conn.request(api, req, { signal: opts.signal, timeoutMs: opts.timeoutMs });
        opts.check?.(res);
        return res;
      },
      {
        ...this.retry,
        signal: opts.signal,
        until: opts.retryUntil ?? performance.now() + (this.config.retryTimeoutMs ?? 30_000),
        onRetry: (err) => {
          if (invalidatesMetadata(err) || err instanceof ConnectionError) this.invalidate();
        },
      },
    );
  }

  close(): void {
    this.closed = true;
    this.pool.close();
  }
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
