// What a fake cluster knows: brokers (up, frozen), topics and partitions (leader, epoch, replicas, log),
// committed offsets and producer ids. One log per partition serves whichever broker leads it: replication
// is not simulated, so the high watermark is the log end and acks=all means "appended (and persisted)".
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../protocol/messages/index.ts';
import { uuidToString } from '../protocol/wire/index.ts';
import { FetchSessionCache } from './fetch-sessions.ts';
import { PartitionLog, type StoredBatch } from './log.ts';
import type { FileStore, PersistedMeta } from './store.ts';

export const TOPIC_CONFIG_DEFAULTS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'compression.type': 'producer',
  'max.message.bytes': '1048588',
  'message.timestamp.type': 'CreateTime',
  'min.insync.replicas': '1',
  'retention.bytes': '-1',
  'retention.ms': '604800000',
  'segment.bytes': '1073741824',
};

/** The last batches of one producer on one partition: enough to spot a retried duplicate (Kafka keeps 5). */
export interface ProducerState {
  epoch: number;
  recent: { firstSeq: number; lastSeq: number; baseOffset: bigint; appendTime: bigint }[];
}

export interface PartitionState {
  index: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  log: PartitionLog;
  producers: Map<bigint, ProducerState>;
  /** Transactions with data here and no marker yet: producer id → first offset. */
  openTxns: Map<bigint, bigint>;
  /** Aborted transactions (for read_committed fetches), oldest first. */
  aborted: { producerId: bigint; firstOffset: bigint; lastOffset: bigint }[];
}

/** The last stable offset: below the first open transaction, else the high watermark. */
export function lastStableOffset(p: PartitionState): bigint {
  let lso = p.log.endOffset;
  for (const first of p.openTxns.values()) if (first < lso) lso = first;
  return lso;
}

export interface TopicState {
  name: string;
  id: string;
  configs: Map<string, string>;
  partitions: PartitionState[];
}

export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

export interface BrokerState {
  id: number;
  up: boolean;
  /** Its incremental fetch sessions (KIP-227). */
  readonly fetchSessions: FetchSessionCache;
}

export interface StateOptions {
  clusterId: string;
  brokerIds: number[];
  /** Per-partition memory bound, whatever a topic's retention.bytes says. */
  retentionBytes: number;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  /** Broker n is in rack `rack-n`, and leaders name a replica in the fetcher's rack. */
  racks?: boolean;
  store?: FileStore;
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const RECENT_BATCHES = 5;

export function newUuid(): string {
  return uuidToString(randomBytes(16));
}

export class ClusterState {
  readonly clusterId: string;
  readonly brokers: Map<number, BrokerState>;
  readonly topics = new Map<string, TopicState>();
  readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private nextProducerId = 1000n;
  private leaderCursor = 0;
  private readonly topicListeners = new Set<() => void>();

  constructor(private readonly opts: StateOptions) {
    this.clusterId = opts.clusterId;
    this.brokers = new Map(opts.brokerIds.map((id) => [id, { id, up: true, fetchSessions: new FetchSessionCache() }]));
    const saved = opts.store?.loadMeta();
    if (saved) this.restore(saved);
  }

  get autoCreateTopics(): boolean {
    return this.opts.autoCreateTopics;
  }

  get defaultPartitions(): number {
    return this.opts.defaultPartitions;
  }

  liveBrokers(): number[] {
    return [...this.brokers.values()].filter((b) => b.up).map((b) => b.id).sort((a, b) => a - b);
  }

  topicById(id: string): TopicState | undefined {
    for (const t of this.topics.values()) if (t.id === id) return t;
    return undefined;
  }

  /** Called after topics or partitions change (KIP-848 groups recompute their assignments). */
  onTopicsChanged(fn: () => void): () => void {
    this.topicListeners.add(fn);
    return () => this.topicListeners.delete(fn);
  }

  private topicsChanged(): void {
    this.persist();
    for (const fn of [...this.topicListeners]) fn();
  }

  private effectiveRetention(configs: Map<string, string>): number {
    const own = Number(configs.get('retention.bytes') ?? '-1');
    return own >= 0 ? Math.min(own, this.opts.retentionBytes) : this.opts.retentionBytes;
  }

  private newPartition(topicId: string, index: number, replicas: number[], configs: Map<string, string>): PartitionState {
    const log = new PartitionLog(this.effectiveRetention(configs), this.opts.store?.logSink(topicId, index));
    return { index, leader: replicas[0], leaderEpoch: 0, replicas, log, producers: new Map(), openTxns: new Map(), aborted: [] };
  }

  /** Replicas for a new partition: `rf` brokers, the first (the leader) rotating so leaders spread. */
  private placeReplicas(rf: number): number[] {
    const ids = [...this.brokers.keys()].sort((a, b) => a - b);
    const live = this.liveBrokers();
    const first = live.length ? live[this.leaderCursor++ % live.length] : ids[0];
    const start = ids.indexOf(first);
    return Array.from({ length: rf }, (_, i) => ids[(start + i) % ids.length]);
  }

  validateNewTopic(name: string, numPartitions: number, rf: number): number {
    if (!LEGAL_TOPIC.test(name) || name === '.' || name === '..') return ErrorCode.INVALID_TOPIC_EXCEPTION;
    if (this.topics.has(name)) return ErrorCode.TOPIC_ALREADY_EXISTS;
    if (numPartitions < 1) return ErrorCode.INVALID_PARTITIONS;
    if (rf < 1 || rf > this.brokers.size) return ErrorCode.INVALID_REPLICATION_FACTOR;
    return ErrorCode.NONE;
  }

  createTopic(name: string, numPartitions: number, rf: number, configs: Record<string, string> = {}, assignments?: number[][]): TopicState {
    const id = newUuid();
    const cfg = new Map(Object.entries(configs));
    const partitions = Array.from({ length: numPartitions }, (_, i) =>
      this.newPartition(id, i, assignments?.[i]?.length ? assignments[i] : this.placeReplicas(rf), cfg),
    );
    const topic: TopicState = { name, id, configs: cfg, partitions };
    this.topics.set(name, topic);
    this.electLeaders();
    this.topicsChanged();
    return topic;
  }

  deleteTopic(name: string): void {
    const t = this.topics.get(name);
    if (!t) return;
    this.topics.delete(name);
    for (const g of this.offsets.values()) for (const k of [...g.keys()]) if (k.startsWith(`${name}\u0000`)) g.delete(k);
    this.opts.store?.removeTopic(t.id, t.partitions.length);
    this.topicsChanged();
  }

  addPartitions(t: TopicState, count: number): void {
    const rf = t.partitions[0]?.replicas.length ?? 1;
    for (let i = t.partitions.length; i < count; i++) t.partitions.push(this.newPartition(t.id, i, this.placeReplicas(rf), t.configs));
    this.electLeaders();
    this.topicsChanged();
  }

  setTopicConfig(t: TopicState, name: string, value: string | null): void {
    if (value === null) t.configs.delete(name);
    else t.configs.set(name, value);
    const retention = this.effectiveRetention(t.configs);
    for (const p of t.partitions) p.log.setRetentionBytes(retention);
    this.persist();
  }

  topicConfig(t: TopicState, name: string): string {
    return t.configs.get(name) ?? TOPIC_CONFIG_DEFAULTS[name] ?? '';
  }

  /**
   * Gives every partition whose leader is down a live replica as leader (a new epoch), as the controller
   * does when a broker leaves; a partition with no live replica has no leader (-1) until one returns.
   */
  electLeaders(): void {
    let changed = false;
    for (const t of this.topics.values()) {
      for (const p of t.partitions) {
        if (p.leader !== -1 && this.brokers.get(p.leader)?.up) continue;
        const next = p.replicas.find((r) => this.brokers.get(r)?.up) ?? -1;
        if (next === p.leader) continue;
        p.leader = next;
        p.leaderEpoch++;
        changed = true;
      }
    }
    if (changed) this.persist();
  }

  moveLeader(t: TopicState, partition: number, to: number): void {
    const p = t.partitions[partition];
    if (!p.replicas.includes(to)) p.replicas = [to, ...p.replicas.slice(0, -1)];
    p.leader = to;
    p.leaderEpoch++;
    this.persist();
  }

  /** A broker's rack (null without racks). */
  rackOf(id: number): string | null {
    return this.opts.racks ? `rack-${id}` : null;
  }

  setBrokerUp(id: number, up: boolean): void {
    const b = this.brokers.get(id);
    if (!b) throw new Error(`no broker ${id}`);
    b.up = up;
    if (!up) b.fetchSessions.clear();
    this.electLeaders();
  }

  allocateProducerId(): bigint {
    const id = this.nextProducerId++;
    this.persist();
    return id;
  }

  /** Coordinator of a group or transactional id: a live broker chosen by a stable hash of the key. */
  coordinatorFor(key: string): number {
    const live = this.liveBrokers();
    if (!live.length) return -1;
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
    return live[Math.abs(h) % live.length];
  }

  groupOffsets(group: string): Map<string, CommittedOffset> {
    let g = this.offsets.get(group);
    if (!g) this.offsets.set(group, (g = new Map()));
    return g;
  }

  commitOffset(group: string, topic: string, partition: number, c: CommittedOffset): void {
    this.groupOffsets(group).set(offsetKey(topic, partition), c);
  }

  /**
   * The idempotent producer check of one batch, with Kafka's answers: a retried batch among the last
   * five gets its first offset back, an old epoch is fenced, a gap in sequence numbers is refused.
   */
  checkSequence(p: PartitionState, b: StoredBatch): { error: number } | { duplicate: bigint; appendTime: bigint } | null {
    if (b.producerId < 0n || b.baseSequence < 0) return null;
    const s = p.producers.get(b.producerId);
    if (!s) return b.baseSequence === 0 ? null : { error: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
    if (b.producerEpoch < s.epoch) return { error: ErrorCode.INVALID_PRODUCER_EPOCH };
    if (b.producerEpoch > s.epoch) return b.baseSequence === 0 ? null : { error: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
    const dup = s.recent.find((r) => r.firstSeq === b.baseSequence && r.lastSeq === b.lastSequence);
    if (dup) return { duplicate: dup.baseOffset, appendTime: dup.appendTime };
    const last = s.recent[s.recent.length - 1];
    const expected = last ? (last.lastSeq === 0x7fffffff ? 0 : last.lastSeq + 1) : 0;
    return b.baseSequence === expected ? null : { error: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
  }

  recordSequence(p: PartitionState, b: StoredBatch, appendTime: bigint): void {
    if (b.producerId < 0n || b.baseSequence < 0) return;
    let s = p.producers.get(b.producerId);
    if (!s || s.epoch !== b.producerEpoch) p.producers.set(b.producerId, (s = { epoch: b.producerEpoch, recent: [] }));
    s.recent.push({ firstSeq: b.baseSequence, lastSeq: b.lastSequence, baseOffset: b.baseOffset, appendTime });
    if (s.recent.length > RECENT_BATCHES) s.recent.shift();
  }

  // ------------------------------------------------------------------------------------ persistence

  persist(): void {
    const store = this.opts.store;
    if (!store) return;
    const meta: PersistedMeta = {
      clusterId: this.clusterId,
      nextProducerId: String(this.nextProducerId),
      topics: [...this.topics.values()].map((t) => ({
        name: t.name,
        id: t.id,
        configs: Object.fromEntries(t.configs),
        partitions: t.partitions.map((p) => ({
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          logStartOffset: String(p.log.logStartOffset),
        })),
      })),
      offsets: [...this.offsets].flatMap(([group, m]) =>
        [...m].map(([k, c]) => {
          const [topic, partition] = k.split('\u0000');
          return { group, topic, partition: Number(partition), offset: String(c.offset), leaderEpoch: c.leaderEpoch, metadata: c.metadata };
        }),
      ),
    };
    store.saveMeta(meta);
  }

  private restore(meta: PersistedMeta): void {
    const store = this.opts.store!;
    this.nextProducerId = BigInt(meta.nextProducerId);
    for (const t of meta.topics) {
      const configs = new Map(Object.entries(t.configs));
      const partitions = t.partitions.map((pp, i) => {
        const p = this.newPartition(t.id, i, pp.replicas, configs);
        p.leader = pp.leader;
        p.leaderEpoch = pp.leaderEpoch;
        const batches = store.loadLog(t.id, i);
        p.log.restore(batches, BigInt(pp.logStartOffset));
        // Producer state is rebuilt from the batch headers, as Kafka does from its log after a crash.
        for (const b of batches) this.recordSequence(p, b, b.maxTimestamp);
        return p;
      });
      this.topics.set(t.name, { name: t.name, id: t.id, configs, partitions });
    }
    for (const o of meta.offsets) {
      this.commitOffset(o.group, o.topic, o.partition, { offset: BigInt(o.offset), leaderEpoch: o.leaderEpoch, metadata: o.metadata });
    }
  }
}

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
