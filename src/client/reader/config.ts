// Reader configuration, after kafka-go's ReaderConfig. Defaults follow kafka-go where it has one;
// the bounded queue (messages and bytes) is mka's answer to consumers that run out of memory.
import { KafkaError } from '../../protocol/errors.ts';
import type { ClusterConfig } from '../cluster.ts';

/** Start at the first offset still in the log (kafka-go FirstOffset). */
export const FirstOffset = -2n;
/** Start at the end of the log: only messages written from now on (kafka-go LastOffset). */
export const LastOffset = -1n;

export type AssignorName = 'range' | 'roundrobin' | 'cooperative-sticky';
export type IsolationLevel = 'read_uncommitted' | 'read_committed';
export type OffsetOutOfRangePolicy = 'earliest' | 'latest' | 'error';
export type GroupProtocol = 'classic' | 'consumer';

export interface ReaderConfig extends ClusterConfig {
  /** The partition reader's topic; in group mode, a single topic to subscribe to (else groupTopics). */
  topic?: string;
  /**
   * The partition to read when there is no group. May be left out only for a topic with one partition:
   * on a topic with several, the first read fails and says so (set partition, or groupId to share them).
   */
  partition?: number;
  groupId?: string;
  groupTopics?: string[];
  /**
   * Where reading starts: an offset, FirstOffset, LastOffset, or a Date (the first message at or after
   * it; the log end when there is none). In group mode, where partitions without a committed offset start.
   */
  startOffset?: bigint | Date;
  minBytes?: number;
  /** Largest fetch response asked for. */
  maxBytes?: number;
  /** Largest share of a fetch response for one partition. */
  partitionMaxBytes?: number;
  /** How long the broker may hold a fetch while it has less than minBytes. */
  maxWaitMs?: number;
  isolationLevel?: IsolationLevel;
  /** 0: readMessage commits before it returns (kafka-go). Otherwise commits go out on this interval. */
  commitIntervalMs?: number;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Static membership (KIP-345): a restart within the session timeout keeps the assignment. */
  groupInstanceId?: string;
  /** In order of preference. */
  assignors?: AssignorName[];
  /**
   * 'classic' (default): JoinGroup/SyncGroup with client-side assignors. 'consumer' (KIP-848): the
   * broker assigns; sessionTimeoutMs, heartbeatIntervalMs and assignors then come from the broker.
   */
  groupProtocol?: GroupProtocol;
  /** Messages fetched ahead of the caller, at most. */
  queueCapacity?: number;
  /** Bytes (keys, values, headers) fetched ahead of the caller, at most. */
  queueBytes?: number;
  offsetOutOfRange?: OffsetOutOfRangePolicy;
  readBackoffMinMs?: number;
  readBackoffMaxMs?: number;
  /** Attempts for retriable failures of group and offset calls, the first included. */
  maxAttempts?: number;
  /**
   * Incremental fetch sessions (KIP-227, default true): each fetch names only partitions whose
   * position changed, and the broker answers only partitions with news, so idle partitions cost nothing.
   */
  fetchSessions?: boolean;
  /**
   * The rack (availability zone) this reader runs in, sent with every fetch (KIP-392). A cluster with
   * `replica.selector.class` set then points the reader to a replica in its rack, which it reads from
   * until that replica answers with an error; then it goes back to the leader.
   */
  rack?: string;
  /**
   * The liveness watchdog (on by default): how long a partition may go without progress while the
   * broker has data for it (or without any fetch answer beyond maxWaitMs) before the reader fetches it
   * afresh on a new connection. 0 turns the watchdog off. Heartbeats failing for sessionTimeoutMs make
   * the member give up its partitions and rejoin, whatever this is (unless 0).
   */
  stallWindowMs?: number;
  /**
   * Copy each message's key, value and header values out of the fetched bytes (default false). A
   * message's bytes are views into its decompressed batch (up to maxBytes), so keeping one message,
   * or only its key, keeps the whole batch in memory; with copyBytes a kept message holds only its own
   * bytes, at the price of a copy per message.
   */
  copyBytes?: boolean;
}

export interface ResolvedReaderConfig {
  cluster: ClusterConfig;
  topic: string;
  partition: number;
  /** False when partition was left out (and 0 is assumed): a multi-partition topic is then an error. */
  partitionGiven: boolean;
  groupId: string | null;
  groupTopics: string[];
  /** An offset, FirstOffset or LastOffset; LastOffset while startTime is to be looked up. */
  startOffset: bigint;
  startTime: Date | null;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
  maxWaitMs: number;
  isolationLevel: 0 | 1;
  commitIntervalMs: number;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  groupInstanceId: string | null;
  assignors: AssignorName[];
  groupProtocol: GroupProtocol;
  queueCapacity: number;
  queueBytes: number;
  offsetOutOfRange: OffsetOutOfRangePolicy;
  readBackoffMinMs: number;
  readBackoffMaxMs: number;
  maxAttempts: number;
  fetchSessions: boolean;
  rack: string;
  stallWindowMs: number;
  copyBytes: boolean;
  requestTimeoutMs: number;
  clientId: string;
}

const invalid = (msg: string) => new KafkaError(`ReaderConfig: ${msg}`, false);

function positiveInt(name: string, v: number | undefined, dflt: number, min = 1): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min) throw invalid(`${name} must be an integer >= ${min}, got ${v}`);
  return x;
}

export function resolveConfig(c: ReaderConfig): ResolvedReaderConfig {
  const {
    topic, partition, groupId, groupTopics, startOffset, minBytes, maxBytes, partitionMaxBytes, maxWaitMs, isolationLevel,
    commitIntervalMs, sessionTimeoutMs, rebalanceTimeoutMs, heartbeatIntervalMs, groupInstanceId, assignors, groupProtocol,
    queueCapacity, queueBytes, offsetOutOfRange, readBackoffMinMs, readBackoffMaxMs, maxAttempts, fetchSessions, rack, stallWindowMs, copyBytes, ...cluster
  } = c;
  if (!cluster.brokers?.length) throw invalid('brokers is empty');
  if (groupId) {
    if (partition !== undefined) throw invalid('partition cannot be set together with groupId');
    if (topic && groupTopics?.length) throw invalid('set topic or groupTopics, not both');
    if (!topic && !groupTopics?.length) throw invalid('a group reader needs topic or groupTopics');
  } else {
    if (!topic) throw invalid('topic is required without groupId');
    if (groupTopics?.length) throw invalid('groupTopics needs groupId');
    if (groupInstanceId) throw invalid('groupInstanceId needs groupId');
  }
  if (groupProtocol !== undefined && groupProtocol !== 'classic' && groupProtocol !== 'consumer') throw invalid(`unknown groupProtocol ${groupProtocol}`);
  const start = startOffset ?? FirstOffset;
  if (start instanceof Date) {
    if (Number.isNaN(start.getTime())) throw invalid('startOffset is an invalid Date');
  } else if (typeof start !== 'bigint' || (start < 0n && start !== FirstOffset && start !== LastOffset)) {
    throw invalid(`startOffset must be an offset (>= 0n), FirstOffset, LastOffset or a Date, got ${String(start)}`);
  }
  const names = assignors ?? ['range', 'roundrobin'];
  if (!names.length) throw invalid('assignors is empty');
  for (const n of names) if (!['range', 'roundrobin', 'cooperative-sticky'].includes(n)) throw invalid(`unknown assignor ${n}`);
  const session = positiveInt('sessionTimeoutMs', sessionTimeoutMs, 45_000);
  const heartbeat = positiveInt('heartbeatIntervalMs', heartbeatIntervalMs, 3_000);
  if (heartbeat >= session) throw invalid('heartbeatIntervalMs must be below sessionTimeoutMs');
  const maxB = positiveInt('maxBytes', maxBytes, 10 * 1024 * 1024);
  const backoffMin = positiveInt('readBackoffMinMs', readBackoffMinMs, 100);
  return {
    cluster,
    topic: topic ?? '',
    partition: groupId ? -1 : positiveInt('partition', partition, 0, 0),
    partitionGiven: partition !== undefined,
    groupId: groupId || null,
    groupTopics: groupId ? (groupTopics?.length ? [...new Set(groupTopics)] : [topic!]) : [],
    startOffset: start instanceof Date ? LastOffset : start,
    startTime: start instanceof Date ? start : null,
    minBytes: positiveInt('minBytes', minBytes, 1),
    maxBytes: maxB,
    partitionMaxBytes: positiveInt('partitionMaxBytes', partitionMaxBytes, Math.min(maxB, 1024 * 1024)),
    maxWaitMs: positiveInt('maxWaitMs', maxWaitMs, 500, 0),
    isolationLevel: (isolationLevel ?? 'read_uncommitted') === 'read_committed' ? 1 : 0,
    commitIntervalMs: positiveInt('commitIntervalMs', commitIntervalMs, 0, 0),
    sessionTimeoutMs: session,
    rebalanceTimeoutMs: positiveInt('rebalanceTimeoutMs', rebalanceTimeoutMs, 60_000),
    heartbeatIntervalMs: heartbeat,
    groupInstanceId: groupInstanceId || null,
    assignors: [...new Set(names)],
    groupProtocol: groupProtocol ?? 'classic',
    queueCapacity: positiveInt('queueCapacity', queueCapacity, 1000),
    queueBytes: positiveInt('queueBytes', queueBytes, 16 * 1024 * 1024),
    offsetOutOfRange: offsetOutOfRange ?? 'earliest',
    readBackoffMinMs: backoffMin,
    readBackoffMaxMs: Math.max(backoffMin, positiveInt('readBackoffMaxMs', readBackoffMaxMs, 1_000)),
    maxAttempts: positiveInt('maxAttempts', maxAttempts, 5),
    fetchSessions: fetchSessions ?? true,
    rack: rack ?? '',
    stallWindowMs: positiveInt('stallWindowMs', stallWindowMs, 15_000, 0),
    copyBytes: copyBytes ?? false,
    requestTimeoutMs: cluster.requestTimeoutMs ?? 30_000,
    clientId: cluster.clientId ?? 'mka',
  };
}
