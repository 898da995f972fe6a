// FakeCluster: Kafka brokers in-process, on real loopback sockets, answering through mka's generated
// codec. Several clusters per process, each with its own id. What it implements is listed in
// ApiVersions; everything else is not listed and answered UNSUPPORTED_VERSION.
import { randomBytes } from 'node:crypto';
import { apiByKey, apiByName } from '../protocol/messages/index.ts';
import { uuidToString } from '../protocol/wire/index.ts';
import type { ApiHandler, ClusterServices } from './context.ts';
import { ConsumerGroups } from './consumer-groups.ts';
import { FaultRules, type Fault, type FaultSpec } from './faults.ts';
import { ClassicGroups } from './groups.ts';
import { adminHandlers } from './handlers/admin.ts';
import { dataHandlers } from './handlers/data.ts';
import { groupHandlers } from './handlers/groups.ts';
import { SASL_MECHANISMS, saslHandlers, type SaslConfig, type SaslUser } from './sasl.ts';
import { FakeBroker, type ListenerSpec } from './server.ts';
import { ClusterState } from './state.ts';
import { FileStore } from './store.ts';
import { Transactions, txnHandlers } from './txn.ts';

export interface FakeTopic {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface FakeListener {
  /** Listener name, e.g. 'PLAINTEXT', 'SASL_PLAINTEXT', 'SSL'. */
  name: string;
  /** Clients must authenticate with SASL before anything but ApiVersions. */
  sasl?: boolean;
  /** PEM key and certificate: the listener speaks TLS. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Port per broker, in broker order; 0 or missing picks a free port (kept across restarts). */
  ports?: number[];
}

export interface FakeClusterOptions {
  /** Number of brokers (ids 1..n). Default 1. */
  brokers?: number;
  /**
   * Racks (KIP-392), as scripts/kafka.mjs sets them up: broker n is in rack `rack-n`, and a leader
   * points a fetch that names a rack to the replica in it (Kafka's RackAwareReplicaSelector).
   * Default false: no racks, every fetch served by the leader.
   */
  racks?: boolean;
  topics?: FakeTopic[];
  /** Default: a random 22-character Kafka Uuid. */
  clusterId?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Ports of the default PLAINTEXT listener, in broker order (ignored when `listeners` is given). */
  ports?: number[];
  listeners?: FakeListener[];
  /** Users and mechanisms for listeners with `sasl: true`. */
  sasl?: { users: SaslUser[]; mechanisms?: string[]; sessionLifetimeMs?: number };
  /** Highest version to list per API, by name (`{ Fetch: 11 }`); below the API's lowest version, the API is not listed. */
  apiVersions?: Record<string, number>;
  /** Per-partition memory bound in bytes (oldest batches go first). Default 64 MiB. */
  retentionBytes?: number;
  /** Metadata requests create unknown topics (auto.create.topics.enable). Default true. */
  autoCreateTopics?: boolean;
  /** Partitions of auto-created topics (num.partitions). Default 1. */
  defaultPartitions?: number;
  /** Keep topics, logs and committed offsets in this directory, and reload them on start. */
  dataDir?: string;
  /** group.min/max.session.timeout.ms. Defaults 6000 and 1800000, as Kafka. */
  groupMinSessionTimeoutMs?: number;
  groupMaxSessionTimeoutMs?: number;
  /** KIP-848: group.consumer.heartbeat.interval.ms and session.timeout.ms. Defaults 5000 and 45000. */
  consumerHeartbeatIntervalMs?: number;
  consumerSessionTimeoutMs?: number;
  /** How long a graceful stopBroker keeps answering after moving its leadership away. Default 200. */
  controlledShutdownMs?: number;
  /** After stopBroker(id, { kill: true }), how long until the broker is declared dead and its partitions move (broker.session.timeout.ms). Default 9000. */
  brokerSessionTimeoutMs?: number;
  /** Called with every request the fake could not decode or answer (it then closes that connection, as Kafka does). */
  onRequestError?: (broker: number, error: unknown) => void;
}

export interface FakeBrokerInfo {
  id: number;
  host: string;
  port: number;
  /** Port per listener name. */
  ports: Record<string, number>;
  readonly up: boolean;
  readonly frozen: boolean;
}

const TICK_MS = 50;
const KILL_SILENCE_MS = 200;

export class FakeCluster {
  readonly clusterId: string;
  readonly faults = new FaultRules();
  private readonly state: ClusterState;
  private readonly groups: ClassicGroups;
  private readonly consumerGroups: ConsumerGroups;
  private readonly brokerSet = new Map<number, FakeBroker>();
  private readonly ports = new Map<string, Map<number, number>>();
  private readonly listenerSpecs: ListenerSpec[];
  private readonly host: string;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Killed brokers waiting for their session to lapse before their partitions move. */
  private readonly fencing = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly services: ClusterServices;

  private constructor(private readonly opts: FakeClusterOptions) {
    const n = opts.brokers ?? 1;
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    this.host = opts.host ?? '127.0.0.1';
    const store = opts.dataDir ? new FileStore(opts.dataDir) : undefined;
    const saved = store?.loadMeta();
    this.clusterId = saved?.clusterId ?? opts.clusterId ?? uuidToString(randomBytes(16));
    this.state = new ClusterState({
      clusterId: this.clusterId,
      brokerIds: ids,
      retentionBytes: opts.retentionBytes ?? 64 * 1024 * 1024,
      autoCreateTopics: opts.autoCreateTopics ?? true,
      defaultPartitions: opts.defaultPartitions ?? 1,
      racks: opts.racks ?? false,
      store,
    });
    this.groups = new ClassicGroups({ minSessionTimeoutMs: opts.groupMinSessionTimeoutMs ?? 6000, maxSessionTimeoutMs: opts.groupMaxSessionTimeoutMs ?? 1_800_000 });
    this.consumerGroups = new ConsumerGroups(this.state, {
      heartbeatIntervalMs: opts.consumerHeartbeatIntervalMs ?? 5000,
      sessionTimeoutMs: opts.consumerSessionTimeoutMs ?? 45_000,
    });
    const listeners: FakeListener[] = opts.listeners ?? [{ name: 'PLAINTEXT', ports: opts.ports }];
    this.listenerSpecs = listeners.map((l) => ({ name: l.name, sasl: !!l.sasl, tls: l.tls }));
    for (const l of listeners) this.ports.set(l.name, new Map(ids.flatMap((id, i) => (l.ports?.[i] ? [[id, l.ports[i]]] : []))));

    const handlers = new Map<number, ApiHandler>();
    for (const h of [...adminHandlers(), ...dataHandlers(), ...groupHandlers(), ...txnHandlers(), ...saslHandlers()]) handlers.set(h.codec.apiKey, h);
    const caps = new Map<number, number>();
    for (const [name, v] of Object.entries(opts.apiVersions ?? {})) {
      const codec = apiByName(name);
      if (!codec) throw new TypeError(`apiVersions: no API named ${name}`);
      caps.set(codec.apiKey, v);
    }
    const maxVersion = (key: number) => Math.min(handlers.get(key)?.maxVersion ?? -1, caps.get(key) ?? Infinity);
    const sasl: SaslConfig | null = opts.sasl
      ? { users: opts.sasl.users, mechanisms: opts.sasl.mechanisms ?? SASL_MECHANISMS, sessionLifetimeMs: opts.sasl.sessionLifetimeMs ?? 0 }
      : null;
    const services: ClusterServices = (this.services = {
      state: this.state,
      groups: this.groups,
      consumerGroups: this.consumerGroups,
      transactions: new Transactions(this.state),
      sasl,
      maxVersion,
      listed: () =>
        [...handlers.values()]
          .map((h) => ({ apiKey: h.codec.apiKey, minVersion: h.minVersion, maxVersion: maxVersion(h.codec.apiKey) }))
          .filter((k) => k.maxVersion >= k.minVersion)
          .sort((a, b) => a.apiKey - b.apiKey),
    });
    for (const id of ids) {
      this.brokerSet.set(id, new FakeBroker(id, { services, handlers, faults: this.faults, host: this.host, listeners: this.listenerSpecs, ports: this.ports, onRequestError: opts.onRequestError }));
    }
    if (!saved) {
      for (const t of opts.topics ?? []) this.state.createTopic(t.name, t.partitions ?? 1, Math.min(t.replicationFactor ?? 1, n), t.configs);
    }
  }

  /** Starts every broker; resolves when all listen. */
  static async start(opts: FakeClusterOptions = {}): Promise<FakeCluster> {
    const c = new FakeCluster(opts);
    try {
      await c.startAll();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  private async startAll(): Promise<void> {
    for (const b of this.brokerSet.values()) {
      this.state.brokers.get(b.id)!.up = true;
      await b.start();
    }
    this.state.electLeaders();
    if (!this.timer) {
      this.timer = setInterval(() => {
        this.groups.tick();
        this.consumerGroups.tick();
      }, TICK_MS);
      this.timer.unref();
    }
  }

  /** host:port of every broker on the first listener. */
  get bootstrap(): string[] {
    return this.bootstrapFor(this.listenerSpecs[0].name);
  }

  bootstrapFor(listener: string): string[] {
    const ports = this.ports.get(listener);
    if (!ports) throw new TypeError(`no listener ${listener}`);
    return [...this.brokerSet.keys()].map((id) => `${this.host}:${ports.get(id)}`);
  }

  get brokers(): FakeBrokerInfo[] {
    const first = this.listenerSpecs[0].name;
    return [...this.brokerSet.values()].map((b) => {
      const ports = Object.fromEntries([...this.ports].map(([name, m]) => [name, m.get(b.id) ?? -1]));
      const state = this.state;
      return {
        id: b.id,
        host: this.host,
        port: ports[first],
        ports,
        get up() {
          return state.brokers.get(b.id)!.up;
        },
        get frozen() {
          return b.frozen;
        },
      };
    });
  }

  /** Stops every broker (sockets closed, timers cleared); the state stays, for restart(). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const t of this.fencing.values()) clearTimeout(t);
    this.fencing.clear();
    this.groups.close();
    this.services.transactions.close();
    await Promise.all([...this.brokerSet.values()].map((b) => b.stop()));
  }

  /** Stops and starts every broker on the same ports; topics, logs, offsets and groups are kept. */
  async restart(): Promise<void> {
    await this.stop();
    await this.startAll();
  }

  private broker(id: number): FakeBroker {
    const b = this.brokerSet.get(id);
    if (!b) throw new RangeError(`no broker ${id} in this cluster`);
    return b;
  }

  /**
   * Takes a broker down: its partitions get new leaders among live replicas, then its connections close.
   * Like Kafka's controlled shutdown, a graceful stop keeps answering for `controlledShutdownMs` after
   * leadership has moved (clients in flight are told NOT_LEADER_OR_FOLLOWER); `kill` closes at once.
   */
  async stopBroker(id: number, opts: { kill?: boolean } = {}): Promise<void> {
    const b = this.broker(id);
    if (opts.kill) {
      // Requests that reach a process just before it dies are never answered: the fake answers in
      // microseconds, so it stops answering a moment before its sockets go, or no client would see
      // anything in flight fail.
      b.freeze();
      await new Promise((r) => setTimeout(r, KILL_SILENCE_MS));
      await b.stop();
      b.thaw();
      // A dead broker is noticed when its session lapses: until then metadata still names it leader.
      clearTimeout(this.fencing.get(id));
      const t = setTimeout(() => {
        this.fencing.delete(id);
        if (!b.running) this.state.setBrokerUp(id, false);
      }, this.opts.brokerSessionTimeoutMs ?? 9000);
      t.unref();
      this.fencing.set(id, t);
      return;
    }
    this.state.setBrokerUp(id, false);
    const grace = this.opts.controlledShutdownMs ?? 200;
    if (grace > 0) await new Promise((r) => setTimeout(r, grace));
    await b.stop();
  }

  async startBroker(id: number): Promise<void> {
    clearTimeout(this.fencing.get(id));
    this.fencing.delete(id);
    await this.broker(id).start();
    this.state.setBrokerUp(id, true);
  }

  /** The broker keeps its sockets open but reads and answers nothing until thawed (a hung process). */
  freezeBroker(id: number): void {
    this.broker(id).freeze();
  }

  thawBroker(id: number): void {
    this.broker(id).thaw();
  }

  freeze(): void {
    for (const b of this.brokerSet.values()) b.freeze();
  }

  thaw(): void {
    for (const b of this.brokerSet.values()) b.thaw();
  }

  /** Adds a fault rule; see FaultSpec. */
  inject(spec: FaultSpec): Fault {
    return this.faults.add(spec);
  }

  /** Makes `broker` the leader of a partition (a new leader epoch), as a reassignment or election would. */
  moveLeader(topic: string, partition: number, broker: number): void {
    const t = this.state.topics.get(topic);
    if (!t || !t.partitions[partition]) throw new RangeError(`no partition ${topic}/${partition}`);
    this.broker(broker);
    this.state.moveLeader(t, partition, broker);
  }

  createTopic(t: FakeTopic): void {
    const rf = Math.min(t.replicationFactor ?? 1, this.brokerSet.size);
    if (this.state.topics.has(t.name)) throw new Error(`topic ${t.name} exists`);
    this.state.createTopic(t.name, t.partitions ?? 1, rf, t.configs);
  }

  /** A partition's leader, epoch, log start and end offsets (for assertions). */
  partition(topic: string, partition: number): { leader: number; leaderEpoch: number; logStartOffset: bigint; endOffset: bigint; bytes: number } {
    const p = this.state.topics.get(topic)?.partitions[partition];
    if (!p) throw new RangeError(`no partition ${topic}/${partition}`);
    return { leader: p.leader, leaderEpoch: p.leaderEpoch, logStartOffset: p.log.logStartOffset, endOffset: p.log.endOffset, bytes: p.log.size };
  }

  /** The offset a group committed for a partition, or undefined. */
  committed(group: string, topic: string, partition: number): bigint | undefined {
    return this.state.offsets.get(group)?.get(`${topic}\u0000${partition}`)?.offset;
  }

  /** Incremental fetch sessions (KIP-227) a broker holds open. */
  fetchSessions(broker: number): number {
    const b = this.state.brokers.get(broker);
    if (!b) throw new RangeError(`no broker ${broker}`);
    return b.fetchSessions.size;
  }

  /** Names of the APIs the cluster lists in ApiVersions. */
  get apis(): string[] {
    return this.services.listed().map((k) => apiByKey(k.apiKey)!.name);
  }
}
