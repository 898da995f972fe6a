// The single-cluster engine: bootstrap, a metadata cache refreshed when stale or after an error that
// invalidates it, connections routed to the right broker, and the retry policy around requests.
// Writer, Reader and Client are built on one Cluster each; nothing here is shared between clusters.
import { Api, ErrorCode, type ApiCodec, type Encodable, type MetadataResponse } from '../protocol/messages/index.ts';
import { ClosedError, ConnectionError, KafkaError, KafkaProtocolError } from '../protocol/errors.ts';
import type { Connection } from './connection.ts';
import { ClusterMetadata, type BrokerInfo, type PartitionInfo, type TopicInfo } from './metadata.ts';
import { ConnectionPool, type PoolHooks, type Purpose } from './pool.ts';
import { deadline, raceSignal, type Deadline } from './deadline.ts';
import { DEFAULT_RETRY, invalidatesMetadata, withRetry, type RetryOptions } from './retry.ts';
import type { SaslConfig } from './sasl/index.ts';
import type { TlsConfig } from './transport.ts';
import { Telemetry } from './telemetry/telemetry.ts';
import type { TelemetryHooks } from './telemetry/events.ts';

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
  /**
   * The deadline of one call that names no `timeoutMs` of its own: queueing, metadata, dialing,
   * every attempt and backoff included. Default 30000.
   */
  callTimeoutMs?: number;
  /**
   * When no broker of the cluster could be reached for this long, the brokers learnt from metadata are
   * forgotten and the bootstrap addresses are resolved and dialled afresh (KIP-899). A broker answering
   * REBOOTSTRAP_REQUIRED triggers the same at once. Default 300000 (the Java client's).
   */
  rebootstrapTriggerMs?: number;
  /**
   * Called whenever any broker of the cluster answers any request: evidence that the cluster is alive
   * even while single calls are slow (MultiWriter's health tracker listens here).
   */
  onAnswer?: () => void;
  /** Reconnect backoff bounds. */
  reconnectBackoffMinMs?: number;
  reconnectBackoffMaxMs?: number;
  maxInFlight?: number;
  maxResponseBytes?: number;
  /** When set, brokers of any other cluster are refused (guards against mixed bootstrap lists). */
  expectedClusterId?: string;
  /**
   * Hooks that receive this client's telemetry events (connections, requests, produce batches,
   * fetches, rebalances). The same events also go out on diagnostics_channel (`mka:*`) where the
   * runtime has it. Hooks run inline: keep them quick.
   */
  telemetry?: TelemetryHooks;
  /** This client's name in telemetry events and metric labels. Default: clientId. */
  name?: string;
}

export type { BrokerInfo, PartitionInfo, TopicInfo };

export interface CallOptions {
  signal?: AbortSignal;
  /** The whole call's deadline from the moment it is made, retries included (default: callTimeoutMs). */
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
  /** Where this cluster's users report what they do (see telemetry/telemetry.ts). */
  readonly telemetry: Telemetry;
  private meta: ClusterMetadata | null = null;
  private refreshing: Promise<ClusterMetadata> | null = null;
  /** Topics whose metadata the users of this cluster asked for; refreshed together. */
  private readonly interest = new Set<string>();
  private readonly bootstrap: { host: string; port: number }[];
  private closed = false;
  /** Since when every dial of anyConnection failed; null while some broker answers. */
  private unreachableSince: number | null = null;
  /** How many times the cluster went back to its bootstrap addresses. */
  rebootstraps = 0;

  /** hooks: observers of the pool (a Reader's or Writer's dial stats). */
  constructor(config: ClusterConfig, hooks: PoolHooks = {}) {
    if (!config.brokers?.length) throw new KafkaError('no bootstrap brokers given', false);
    this.config = config;
    this.bootstrap = config.brokers.map(parseBroker);
    this.retry = { ...DEFAULT_RETRY, ...config.retry };
    this.telemetry = new Telemetry(config.name ?? config.clientId ?? 'mka', config.telemetry);
    this.pool = new ConnectionPool(
      {
        clientId: config.clientId ?? 'mka',
        tls: config.tls,
        sasl: config.sasl,
        connectTimeoutMs: config.connectTimeoutMs,
        requestTimeoutMs: config.requestTimeoutMs,
        maxInFlight: config.maxInFlight,
        maxResponseBytes: config.maxResponseBytes,
        onAnswer: config.onAnswer,
        telemetry: this.telemetry,
      },
      { backoffMinMs: config.reconnectBackoffMinMs ?? 100, backoffMaxMs: config.reconnectBackoffMaxMs ?? 10_000 },
      hooks,
    );
  }

  get metadataMaxAgeMs(): number {
    return this.config.metadataMaxAgeMs ?? 300_000;
  }

  get callTimeoutMs(): number {
    return this.config.callTimeoutMs ?? 30_000;
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
          const conn = await this.pool.get(c.host, c.port, purpose, opts.signal, { noWait });
          this.unreachableSince = null;
          return conn;
        } catch (e) {
          if (isRebootstrapRequired(e)) return this.rebootstrapAndFail(e);
          if (e instanceof KafkaError && !e.retriable) throw e; // a wrong password is wrong everywhere
          last = e;
          if (opts.signal?.aborted) throw e;
        }
      }
    }
    const now = performance.now();
    this.unreachableSince ??= now;
    if (known.length && now - this.unreachableSince >= (this.config.rebootstrapTriggerMs ?? 300_000)) {
      this.rebootstrap();
    }
    throw last instanceof Error ? last : new ConnectionError('no broker reachable');
  }

  async brokerConnection(nodeId: number, purpose: Purpose = 'control', opts: CallOptions = {}): Promise<Connection> {
    this.checkOpen();
    let b = this.meta?.brokers.get(nodeId);
    if (!b) b = (await this.refreshMetadata(opts)).brokers.get(nodeId);
    if (!b) throw new ConnectionError(`broker ${nodeId} is not in the cluster's metadata`, true);
    const clusterId = this.meta?.clusterId;
    try {
      return await this.pool.get(b.host, b.port, purpose, opts.signal, { expect: clusterId ? { clusterId, nodeId } : undefined });
    } catch (e) {
      if (isRebootstrapRequired(e)) return this.rebootstrapAndFail(e);
      throw e;
    }
  }

  /** Closes the connection to a broker for one purpose, if open (one that stopped answering). */
  closeConnection(nodeId: number, purpose: Purpose): void {
    const b = this.meta?.brokers.get(nodeId);
    if (b) this.pool.closeConnection(b.host, b.port, purpose);
  }

  /**
   * Forgets every broker address learnt from metadata (and their connections): the next call starts
   * again from the bootstrap list, whose host names are resolved again when dialled. For a cluster
   * whose brokers all moved, or an address that now belongs to another broker (KIP-899, KIP-1242).
   */
  rebootstrap(): void {
    this.rebootstraps++;
    this.unreachableSince = null;
    const m = this.meta;
    if (!m) return;
    for (const b of m.brokers.values()) this.pool.closeBroker(b.host, b.port);
    this.meta = new ClusterMetadata(m.clusterId, -1, new Map(), m.topics, -Infinity);
  }

  private rebootstrapAndFail(cause: unknown): never {
    this.rebootstrap();
    // Retriable: the retry that follows asks the bootstrap addresses.
    throw new ConnectionError(`rebootstrapping: ${cause instanceof Error ? cause.message : String(cause)}`, true, { cause });
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
    const dl = deadline(opts, this.callTimeoutMs, 'Metadata');
    try {
      // Not shared: the caller's own deadline bounds it.
      if (opts.topics === null || opts.autoCreate) return await this.fetchMetadata(opts.topics === null ? null : [...this.interest], opts.autoCreate ?? false, dl);
      // One refresh serves every caller; it runs on its own deadline, so a caller that gives up (or
      // aborts) leaves it running for the others.
      let p = this.refreshing;
      if (!p) {
        const own = deadline({}, this.callTimeoutMs, 'Metadata');
        p = this.fetchMetadata([...this.interest], false, own).finally(() => {
          own.dispose();
          if (this.refreshing === p) this.refreshing = null;
        });
        this.refreshing = p;
      }
      return await raceSignal(p, dl.signal, 'Metadata aborted');
    } finally {
      dl.dispose();
    }
  }

  private async fetchMetadata(topics: string[] | null, autoCreate: boolean, dl: Deadline): Promise<ClusterMetadata> {
    const signal = dl.signal;
    const res = await withRetry(async () => {
      const conn = await this.anyConnection('control', { signal });
      const r = await conn.request(
        Api.Metadata,
        {
          topics: topics === null ? null : topics.map((name) => ({ name })),
          allowAutoTopicCreation: autoCreate,
          includeTopicAuthorizedOperations: false,
        },
        { signal },
      );
      if (r.errorCode === ErrorCode.REBOOTSTRAP_REQUIRED) this.rebootstrapAndFail(new KafkaProtocolError(r.errorCode, `Metadata from ${conn.remote}`));
      return r;
    }, { ...this.retry, signal, until: Math.min(dl.at, this.retryUntil()) });
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
    opts: CallOptions & { check?: (res: Res) => void; retryUntil?: number; version?: (conn: Connection) => number } = {},
  ): Promise<Res> {
    // The route may make calls of its own (FindCoordinator): they get the caller's signal and
    // timeout, not this call's response check.
    const dl = deadline(opts, this.callTimeoutMs, api.name);
    const signal = dl.signal;
    try {
      return await withRetry(
        async () => {
          // Nested calls (FindCoordinator, a metadata refresh) end by this call's deadline too.
          const conn = await route({ signal, timeoutMs: dl.remaining() });
          const req = typeof body === 'function' ? (body as (c: Connection) => Encodable<Req>)(conn) : body;
          // An explicit timeoutMs also bounds the request itself (a JoinGroup or CreateTopics the broker
          // holds that long); without one the connection's requestTimeoutMs applies.
          const res = await conn.request(api, req, { signal, timeoutMs: opts.timeoutMs, version: opts.version?.(conn) });
          opts.check?.(res);
          return res;
        },
        {
          ...this.retry,
          signal,
          until: Math.min(dl.at, opts.retryUntil ?? this.retryUntil()),
          onRetry: (err) => {
            if (invalidatesMetadata(err) || err instanceof ConnectionError) this.invalidate();
          },
        },
      );
    } finally {
      dl.dispose();
    }
  }

  /** When a retry loop starting now gives up, at the latest (retryTimeoutMs, default 30 s). */
  private retryUntil(): number {
    return performance.now() + (this.config.retryTimeoutMs ?? 30_000);
  }

  /** Ends every reconnect backoff now (see ConnectionPool.redialNow). */
  redialNow(): void {
    this.pool.redialNow();
  }

  close(): void {
    this.closed = true;
    this.pool.close();
  }
}

function isRebootstrapRequired(e: unknown): boolean {
  return e instanceof KafkaProtocolError && e.code === ErrorCode.REBOOTSTRAP_REQUIRED;
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
