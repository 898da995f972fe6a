// Client: admin calls and a raw request() for one cluster. Each call finds the right broker (any,
// partition leader, group coordinator), retries retriable failures with the cluster's one policy, and
// turns error codes into typed errors.
import { Api, ErrorCode, type ApiCodec, type Encodable } from '../protocol/messages/index.ts';
import { KafkaError, KafkaProtocolError, throwIfError, TimeoutError } from '../protocol/errors.ts';
import { deadline } from './deadline.ts';
import { sleep } from './retry.ts';
import { groupCall } from './group-call.ts';
import { Cluster, type CallOptions, type ClusterConfig, type BrokerInfo, type TopicInfo } from './cluster.ts';
import { Coordinators } from './coordinator.ts';
import { allTopicIds, topicIds } from './topic-ids.ts';
import { EARLIEST, LATEST, listPartitionOffsets, type PartitionOffset } from './list-offsets.ts';

export type { PartitionOffset } from './list-offsets.ts';

export type ClientConfig = ClusterConfig;

export interface CreateTopicSpec {
  topic: string;
  /** Default: the broker's num.partitions. */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Explicit replica assignment: partition → broker ids. */
  assignments?: Record<number, number[]>;
  configs?: Record<string, string>;
}

/** Where to look up an offset: the log start, the log end, or the first offset at or after a time. */
export type OffsetSpec = 'earliest' | 'latest' | Date;

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** -1n when the group has no committed offset for the partition. */
  offset: bigint;
  metadata: string | null;
  leaderEpoch: number;
}

export interface ConfigEntry {
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  sensitive: boolean;
  source: number;
}

export type ConfigResource = { type: 'topic' | 'broker'; name: string };

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: string;
  type: string;
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Uint8Array; assignment: Uint8Array }[];
}

const RESOURCE_TYPE = { topic: 2, broker: 4 } as const;
/**
 * The timeout a request body gives the broker for its own work (CreateTopics, ListOffsets, ...): what
 * is left of the call, less a margin for the answer to travel back before the call's deadline.
 */
function brokerTimeout(opts: Required<CallOptions>): number {
  return Math.max(0, Math.floor(opts.timeoutMs - Math.min(1000, opts.timeoutMs / 10)));
}

// DescribeConfigs ConfigSource: DEFAULT_CONFIG (the broker's built-in default).
const CONFIG_SOURCE_DEFAULT = 5;

export class Client {
  /** The engine: metadata, connections, retry. Writer and Reader use the same class, one per cluster. */
  readonly cluster: Cluster;
  readonly coordinators: Coordinators;

  constructor(config: ClientConfig) {
    this.cluster = new Cluster(config);
    this.coordinators = new Coordinators(this.cluster);
  }

  // ----------------------------------------------------------------------------------------- cluster

  async describeCluster(opts: CallOptions = {}): Promise<{ clusterId: string; controllerId: number; brokers: BrokerInfo[] }> {
    const res = await this.cluster.call((o) => this.cluster.anyConnection('admin', o), Api.DescribeCluster, { includeClusterAuthorizedOperations: false }, opts);
    throwIfError(res.errorCode, res.errorMessage);
    return {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: res.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack ?? null })),
    };
  }

  /** Metadata for the given topics (all topics when omitted). */
  async metadata(opts: CallOptions & { topics?: string[] } = {}): Promise<{ clusterId: string | null; controllerId: number; brokers: BrokerInfo[]; topics: TopicInfo[] }> {
    const m = await this.cluster.refreshMetadata({ ...opts, topics: opts.topics ?? null });
    const topics = opts.topics ? opts.topics.map((t) => m.topics.get(t)).filter((t): t is TopicInfo => !!t) : [...m.topics.values()];
    return { clusterId: m.clusterId, controllerId: m.controllerId, brokers: [...m.brokers.values()], topics };
  }

  /** Names of the cluster's topics, internal ones left out. */
  async listTopics(opts: CallOptions = {}): Promise<string[]> {
    const m = await this.cluster.refreshMetadata({ ...opts, topics: null });
    return [...m.topics.values()].filter((t) => !t.internal).map((t) => t.name).sort();
  }

  // ------------------------------------------------------------------------------------------ topics

  /**
   * Creates topics; resolves once every partition of each has a leader (unless waitForLeaders is false).
   * A topic that exists already is an error (TOPIC_ALREADY_EXISTS) unless ifNotExists is set.
   */
  async createTopics(
    topics: CreateTopicSpec[],
    opts: CallOptions & { validateOnly?: boolean; ifNotExists?: boolean; waitForLeaders?: boolean } = {},
  ): Promise<void> {
    return this.within(opts, 'createTopics', (o) => this.createTopicsWithin(topics, { ...opts, ...o }));
  }

  private async createTopicsWithin(
    topics: CreateTopicSpec[],
    opts: Required<CallOptions> & { validateOnly?: boolean; ifNotExists?: boolean; waitForLeaders?: boolean },
  ): Promise<void> {
    const timeoutMs = brokerTimeout(opts);
    const res = await this.cluster.call((o) => this.cluster.anyConnection('admin', o), Api.CreateTopics, {
      topics: topics.map((t) => ({
        name: t.topic,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: Object.entries(t.assignments ?? {}).map(([p, ids]) => ({ partitionIndex: Number(p), brokerIds: ids })),
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs,
      validateOnly: opts.validateOnly ?? false,
    }, opts);
    for (const t of res.topics) {
      if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && opts.ifNotExists) continue;
      throwIfError(t.errorCode, `${t.name}: ${t.errorMessage ?? ''}`);
    }
    if (opts.validateOnly || opts.waitForLeaders === false) return;
    await this.waitForLeadersWithin(topics.map((t) => t.topic), opts);
  }

  private async everyBrokerSees(topics: string[], minPartitions: number, nodes: number[], opts: CallOptions): Promise<boolean> {
    const answers = await Promise.all(
      nodes.map(async (node) => {
        try {
          // A stopped broker must not hold the caller for long.
          const quick = { signal: opts.signal, timeoutMs: 5_000 };
          const conn = await this.cluster.brokerConnection(node, 'admin', quick);
          const res = await conn.request(Api.Metadata, { topics: topics.map((name) => ({ name })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, quick);
          return topics.every((name) => {
            const t = res.topics.find((x) => x.name === name);
            return t && t.errorCode === ErrorCode.NONE && t.partitions.length >= minPartitions && t.partitions.every((p) => p.leaderId >= 0);
          });
        } catch {
          return true; // an unreachable broker answers nobody: it does not hold the others back
        }
      }),
    );
    return answers.every(Boolean);
  }

  /**
   * Polls metadata until every partition of every topic has a leader (with minPartitions: until there
   * are that many), as every broker sees it: brokers learn of changes from the metadata log with a delay.
   */
  async waitForLeaders(topics: string[], opts: CallOptions & { minPartitions?: number } = {}): Promise<void> {
    return this.within(opts, 'waitForLeaders', (o) => this.waitForLeadersWithin(topics, { ...opts, ...o }));
  }

  private async waitForLeadersWithin(topics: string[], opts: Required<CallOptions> & { minPartitions?: number }): Promise<void> {
    const deadline = performance.now() + opts.timeoutMs;
    const want = Math.max(1, opts.minPartitions ?? 1);
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const m = await this.cluster.refreshMetadata({ signal: opts.signal, timeoutMs: deadline - performance.now(), topics });
      const ready = topics.every((name) => {
        const t = m.topics.get(name);
        return t && t.errorCode === ErrorCode.NONE && t.partitions.length >= want && t.partitions.every((p) => p.leader >= 0);
      });
      // Every broker learns of a change from the metadata log on its own: done once all of them see it,
      // so that whichever broker the next call asks knows the topic.
      if (ready && (await this.everyBrokerSees(topics, want, [...m.brokers.keys()], opts))) return;
      if (performance.now() + delay > deadline) throw new TimeoutError(`topics ${topics.join(', ')} have no leaders yet`);
      await sleep(delay, opts.signal);
    }
  }

  async deleteTopics(topics: string[], opts: CallOptions & { ifExists?: boolean } = {}): Promise<void> {
    return this.within(opts, 'deleteTopics', (o) => this.deleteTopicsWithin(topics, { ...opts, ...o }));
  }

  private async deleteTopicsWithin(topics: string[], opts: Required<CallOptions> & { ifExists?: boolean }): Promise<void> {
    const timeoutMs = brokerTimeout(opts);
    const res = await this.cluster.call((o) => this.cluster.anyConnection('admin', o), Api.DeleteTopics, (conn) =>
      conn.version(Api.DeleteTopics) >= 6
        ? { topics: topics.map((name) => ({ name })), timeoutMs }
        : { topicNames: topics, timeoutMs },
    opts);
    for (const r of res.responses) {
      if (r.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && opts.ifExists) continue;
      throwIfError(r.errorCode, `${r.name ?? r.topicId}: ${r.errorMessage ?? ''}`);
    }
    this.cluster.invalidate();
  }

  /** Raises a topic's partition count to `count`. */
  async createPartitions(topic: string, count: number, opts: CallOptions & { validateOnly?: boolean } = {}): Promise<void> {
    return this.within(opts, 'createPartitions', (o) => this.createPartitionsWithin(topic, count, { ...opts, ...o }));
  }

  private async createPartitionsWithin(topic: string, count: number, opts: Required<CallOptions> & { validateOnly?: boolean }): Promise<void> {
    const timeoutMs = brokerTimeout(opts);
    const res = await this.cluster.call((o) => this.cluster.anyConnection('admin', o), Api.CreatePartitions, {
      topics: [{ name: topic, count, assignments: null }],
      timeoutMs,
      validateOnly: opts.validateOnly ?? false,
    }, opts);
    for (const r of res.results) throwIfError(r.errorCode, `${r.name}: ${r.errorMessage ?? ''}`);
    this.cluster.invalidate();
    if (!opts.validateOnly) await this.waitForLeadersWithin([topic], { ...opts, minPartitions: count });
  }

  // ----------------------------------------------------------------------------------------- offsets

  /**
   * Offsets of a topic's partitions (all partitions when none are named): the log start ('earliest'),
   * the log end ('latest', the high watermark; the last stable offset with readCommitted), or the
   * first offset whose timestamp is at or after a Date (-1n when there is none).
   */
  async listOffsets(
    topic: string,
    spec: OffsetSpec,
    opts: CallOptions & { partitions?: number[]; readCommitted?: boolean } = {},
  ): Promise<Map<number, PartitionOffset>> {
    return this.within(opts, 'listOffsets', (o) => this.listOffsetsWithin(topic, spec, { ...opts, ...o }));
  }

  private async listOffsetsWithin(
    topic: string,
    spec: OffsetSpec,
    opts: Required<CallOptions> & { partitions?: number[]; readCommitted?: boolean },
  ): Promise<Map<number, PartitionOffset>> {
    const partitions = opts.partitions ?? (await this.cluster.topic(topic, opts)).partitions.map((p) => p.partition);
    const timestamp = spec instanceof Date ? BigInt(spec.getTime()) : spec === 'earliest' ? EARLIEST : LATEST;
    return listPartitionOffsets(this.cluster, topic, partitions, timestamp, { ...opts, brokerTimeoutMs: brokerTimeout(opts) });
  }

  /** Deletes records before the given offsets; resolves with each partition's new log start offset. */
  async deleteRecords(topic: string, before: Record<number, bigint>, opts: CallOptions = {}): Promise<Map<number, bigint>> {
    return this.within(opts, 'deleteRecords', (o) => this.deleteRecordsWithin(topic, before, o));
  }

  private async deleteRecordsWithin(topic: string, before: Record<number, bigint>, opts: Required<CallOptions>): Promise<Map<number, bigint>> {
    const partitions = Object.keys(before).map(Number);
    const out = new Map<number, bigint>();
    await Promise.all(
      (await this.singlePartitions(topic, partitions, opts)).map(async (parts) => {
        const res = await this.cluster.call(
          (o) => this.cluster.leaderConnection(topic, parts[0], 'admin', o),
          Api.DeleteRecords,
          { topics: [{ name: topic, partitions: parts.map((p) => ({ partitionIndex: p, offset: before[p] })) }], timeoutMs: brokerTimeout(opts) },
          { ...opts, check: (r) => r.topics.forEach((rt) => rt.partitions.forEach((p) => throwIfError(p.errorCode, `${topic}/${p.partitionIndex}`))) },
        );
        for (const rt of res.topics) for (const p of rt.partitions) out.set(p.partitionIndex, p.lowWatermark);
      }),
    );
    return out;
  }

  /**
   * One request per partition, each routed to that partition's leader afresh on every retry: a group
   * of partitions formed for one leader goes stale when leadership moves apart, and would be retried
   * against a broker that leads only some of them.
   */
  private async singlePartitions(topic: string, partitions: number[], opts: CallOptions): Promise<number[][]> {
    await this.byLeader(topic, partitions, opts); // checks that every partition exists
    return partitions.map((p) => [p]);
  }

  private async byLeader(topic: string, partitions: number[], opts: CallOptions): Promise<Map<number, number[]>> {
    const t = await this.cluster.topic(topic, opts);
    const groups = new Map<number, number[]>();
    for (const p of partitions) {
      const info = t.partitions.find((x) => x.partition === p);
      if (!info) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${topic}/${p} does not exist`);
      const list = groups.get(info.leader) ?? [];
      list.push(p);
      groups.set(info.leader, list);
    }
    return groups;
  }

  // ----------------------------------------------------------------------------------------- configs

  async describeConfigs(resource: ConfigResource, opts: CallOptions & { keys?: string[] } = {}): Promise<Record<string, ConfigEntry>> {
    const route = resource.type === 'broker'
      ? (o: CallOptions) => this.cluster.brokerConnection(Number(resource.name), 'admin', o)
      : (o: CallOptions) => this.cluster.anyConnection('admin', o);
    const res = await this.cluster.call(route, Api.DescribeConfigs, {
      resources: [{ resourceType: RESOURCE_TYPE[resource.type], resourceName: resource.name, configurationKeys: opts.keys ?? null }],
      includeSynonyms: false,
      includeDocumentation: false,
    }, opts);
    const out: Record<string, ConfigEntry> = {};
    for (const r of res.results) {
      throwIfError(r.errorCode, `${resource.type} ${resource.name}: ${r.errorMessage ?? ''}`);
      for (const c of r.configs) {
        out[c.name] = {
          value: c.value,
          readOnly: c.readOnly,
          isDefault: c.configSource === CONFIG_SOURCE_DEFAULT,
          sensitive: c.isSensitive,
          source: c.configSource ?? -1,
        };
      }
    }
    return out;
  }

  /** Sets (string) or resets to default (null) configuration keys of a topic or broker. */
  async alterConfigs(resource: ConfigResource, changes: Record<string, string | null>, opts: CallOptions & { validateOnly?: boolean } = {}): Promise<void> {
    const route = resource.type === 'broker'
      ? (o: CallOptions) => this.cluster.brokerConnection(Number(resource.name), 'admin', o)
      : (o: CallOptions) => this.cluster.anyConnection('admin', o);
    const res = await this.cluster.call(route, Api.IncrementalAlterConfigs, {
      resources: [{
        resourceType: RESOURCE_TYPE[resource.type],
        resourceName: resource.name,
        configs: Object.entries(changes).map(([name, value]) => ({ name, configOperation: value === null ? 1 : 0, value })),
      }],
      validateOnly: opts.validateOnly ?? false,
    }, opts);
    for (const r of res.responses) throwIfError(r.errorCode, `${resource.type} ${resource.name}: ${r.errorMessage ?? ''}`);
  }

  // ------------------------------------------------------------------------------------------ groups

  /** Every group of the cluster: each broker lists the groups it coordinates. */
  async listGroups(opts: CallOptions = {}): Promise<GroupListing[]> {
    const m = await this.cluster.metadata([], opts);
    const lists = await Promise.all(
      [...m.brokers.keys()].map((id) =>
        this.cluster.call((o) => this.cluster.brokerConnection(id, 'admin', o), Api.ListGroups, { statesFilter: [], typesFilter: [] }, opts),
      ),
    );
    const out: GroupListing[] = [];
    for (const res of lists) {
      throwIfError(res.errorCode);
      for (const g of res.groups) out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState ?? '', type: g.groupType ?? '' });
    }
    return out.sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  async describeGroups(groupIds: string[], opts: CallOptions = {}): Promise<GroupDescription[]> {
    return Promise.all(
      groupIds.map(async (groupId) => {
        const res = await this.groupCall(groupId, Api.DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false }, (r) => r.groups[0]?.errorCode ?? ErrorCode.NONE, opts);
        const g = res.groups[0];
        return {
          groupId: g.groupId,
          state: g.groupState,
          protocolType: g.protocolType,
          protocol: g.protocolData,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId ?? null,
            clientId: m.clientId,
            clientHost: m.clientHost,
            metadata: m.memberMetadata,
            assignment: m.memberAssignment,
          })),
        };
      }),
    );
  }

  /** A group's committed offsets, for the given topics or (when omitted) every topic it has committed. */
  async fetchOffsets(groupId: string, topics?: { topic: string; partitions?: number[] }[], opts: CallOptions = {}): Promise<CommittedOffset[]> {
    const ids = topics ? await topicIds(this.cluster, topics.map((t) => t.topic), opts) : await allTopicIds(this.cluster, opts);
    const wanted = topics
      ? await Promise.all(topics.map(async (t) => ({
          name: t.topic,
          topicId: ids.id(t.topic),
          partitionIndexes: t.partitions ?? (await this.cluster.topic(t.topic, opts)).partitions.map((p) => p.partition),
        })))
      : null;
    const res = await this.groupCall(
      groupId,
      Api.OffsetFetch,
      (version) =>
        version >= 8
          ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: wanted }], requireStable: true }
          : { groupId, topics: wanted, requireStable: true },
      (r) => (r.groups?.length ? r.groups[0].errorCode : (r.errorCode ?? ErrorCode.NONE)),
      opts,
    );
    const topicsOut = res.groups?.length ? res.groups[0].topics : (res.topics ?? []);
    const out: CommittedOffset[] = [];
    for (const t of topicsOut) {
      const name = ids.name(t);
      for (const p of t.partitions) {
        throwIfError(p.errorCode, `${name}/${p.partitionIndex}`);
        out.push({ topic: name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata ?? null, leaderEpoch: p.committedLeaderEpoch ?? -1 });
      }
    }
    return out;
  }

  /**
   * Commits offsets for a group that has no active members (an admin reset, or a standalone consumer).
   * Members of an active group commit through their Reader, which carries the generation.
   */
  async commitOffsets(groupId: string, offsets: { topic: string; partition: number; offset: bigint; metadata?: string }[], opts: CallOptions = {}): Promise<void> {
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: o.metadata ?? null });
      byTopic.set(o.topic, list);
    }
    const ids = await topicIds(this.cluster, [...byTopic.keys()], opts);
    const res = await this.groupCall(groupId, Api.OffsetCommit, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [...byTopic].map(([name, partitions]) => ({ name, topicId: ids.id(name), partitions })),
    }, (r) => r.topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE, opts);
    for (const t of res.topics) for (const p of t.partitions) throwIfError(p.errorCode, `${ids.name(t)}/${p.partitionIndex}`);
  }

  /** A request to a group's coordinator, following it when it moves. */
  private groupCall<Req, Res>(
    groupId: string,
    api: ApiCodec<Req, Res>,
    body: Encodable<Req> | ((version: number) => Encodable<Req>),
    errorOf: (res: Res) => number,
    opts: CallOptions,
  ): Promise<Res> {
    return groupCall(this.cluster, this.coordinators, groupId, api, body, errorOf, opts);
  }


  // ------------------------------------------------------------------------------------------- raw

  /**
   * Sends any request the codec knows to one broker (a node id, or any broker) and returns the decoded
   * response as it is: no retries, no error-code checks. For protocol-level testing and tools.
   */
  async request<Req, Res>(api: ApiCodec<Req, Res>, body: Encodable<Req>, opts: CallOptions & { broker?: number; version?: number } = {}): Promise<Res> {
    return this.within(opts, api.name, async (o) => {
      const conn = opts.broker === undefined ? await this.cluster.anyConnection('admin', o) : await this.cluster.brokerConnection(opts.broker, 'admin', o);
      return conn.request(api, body, { version: opts.version, signal: o.signal });
    });
  }

  /**
   * Runs a call of several steps (requests, waits, retries) under one deadline from now: every step
   * gets the deadline's signal and the time that is left.
   */
  private async within<T>(opts: CallOptions, what: string, fn: (o: Required<CallOptions>) => Promise<T>): Promise<T> {
    const dl = deadline(opts, this.cluster.callTimeoutMs, what);
    try {
      return await fn({ signal: dl.signal, timeoutMs: dl.remaining() });
    } finally {
      dl.dispose();
    }
  }

  async close(): Promise<void> {
    this.cluster.close();
  }
}
