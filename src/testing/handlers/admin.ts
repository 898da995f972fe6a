// Cluster and topic administration: ApiVersions, Metadata, DescribeCluster, CreateTopics, DeleteTopics,
// CreatePartitions, DescribeConfigs and IncrementalAlterConfigs (topics; brokers read-only).
import { Api, ErrorCode } from '../../protocol/messages/index.ts';
import { ZERO_UUID } from '../../protocol/wire/index.ts';
import { handler, type ApiHandler, type RequestContext } from '../context.ts';
import { TOPIC_CONFIG_DEFAULTS, type TopicState } from '../state.ts';

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE_DYNAMIC_TOPIC = 1;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;
const NO_AUTHORIZED_OPERATIONS = -2147483648;
const DEFAULT_REPLICATION_FACTOR = 1;

/** Brokers that are up, with their port on the caller's listener. */
function liveEndpoints(ctx: RequestContext): { nodeId: number; host: string; port: number; rack: string | null }[] {
  return ctx.state
    .liveBrokers()
    .map((id) => ({ nodeId: id, host: ctx.listener.host, port: ctx.listener.ports.get(id) ?? -1, rack: ctx.state.rackOf(id) }))
    .filter((b) => b.port > 0);
}

export function metadataTopic(ctx: RequestContext, t: TopicState) {
  const live = new Set(ctx.state.liveBrokers());
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.id,
    isInternal: false,
    topicAuthorizedOperations: NO_AUTHORIZED_OPERATIONS,
    partitions: t.partitions.map((p) => ({
      errorCode: p.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: p.index,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicas,
      isrNodes: p.replicas.filter((r) => live.has(r)),
      offlineReplicas: p.replicas.filter((r) => !live.has(r)),
    })),
  };
}

function configType(name: string): number {
  if (name.endsWith('.ms') || name.endsWith('.bytes')) return 5;
  if (name.endsWith('.enable')) return 1;
  return 2;
}

const BROKER_CONFIGS: Readonly<Record<string, string>> = {
  'auto.create.topics.enable': 'true',
  'default.replication.factor': String(DEFAULT_REPLICATION_FACTOR),
  'message.max.bytes': '1048588',
  'num.partitions': '1',
};

export function adminHandlers(): ApiHandler[] {
  return [
    handler(Api.ApiVersions, (ctx, req) => ({
      // KIP-1242 (v5): a client that expects another node or cluster at this address must rebootstrap.
      errorCode:
        ctx.version >= 5 && ((req.nodeId >= 0 && req.nodeId !== ctx.brokerId) || (req.clusterId !== null && req.clusterId !== ctx.state.clusterId))
          ? ErrorCode.REBOOTSTRAP_REQUIRED
          : ErrorCode.NONE,
      apiKeys: ctx.services.listed(),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    })),

    handler(Api.Metadata, (ctx, req) => {
      const s = ctx.state;
      const all = req.topics === null || (ctx.version === 0 && req.topics.length === 0);
      const topics = [];
      if (all) for (const t of s.topics.values()) topics.push(metadataTopic(ctx, t));
      else {
        for (const want of req.topics ?? []) {
          const byId = !want.name && want.topicId && want.topicId !== ZERO_UUID;
          let t = byId ? s.topicById(want.topicId) : s.topics.get(want.name ?? '');
          if (!t && !byId && want.name && req.allowAutoTopicCreation && s.autoCreateTopics) {
            if (s.validateNewTopic(want.name, s.defaultPartitions, DEFAULT_REPLICATION_FACTOR) === ErrorCode.NONE) {
              t = s.createTopic(want.name, s.defaultPartitions, DEFAULT_REPLICATION_FACTOR);
            }
          }
          if (t) topics.push(metadataTopic(ctx, t));
          else {
            topics.push({
              errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              name: want.name,
              topicId: want.topicId ?? ZERO_UUID,
              isInternal: false,
              partitions: [],
              topicAuthorizedOperations: NO_AUTHORIZED_OPERATIONS,
            });
          }
        }
      }
      return {
        throttleTimeMs: 0,
        brokers: liveEndpoints(ctx),
        clusterId: s.clusterId,
        controllerId: s.liveBrokers()[0] ?? -1,
        topics,
        clusterAuthorizedOperations: NO_AUTHORIZED_OPERATIONS,
        errorCode: ErrorCode.NONE,
      };
    }),

    handler(Api.DescribeCluster, (ctx, req) => {
      if (req.endpointType !== 1) {
        return { errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: 'only broker endpoints', endpointType: req.endpointType, clusterId: ctx.state.clusterId, controllerId: -1, brokers: [] };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        endpointType: 1,
        clusterId: ctx.state.clusterId,
        controllerId: ctx.state.liveBrokers()[0] ?? -1,
        brokers: liveEndpoints(ctx).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: false })),
        clusterAuthorizedOperations: NO_AUTHORIZED_OPERATIONS,
      };
    }),

    handler(Api.CreateTopics, (ctx, req) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => {
        const s = ctx.state;
        const assignments = t.assignments.length ? [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a) => a.brokerIds) : undefined;
        const partitions = assignments ? assignments.length : t.numPartitions === -1 ? s.defaultPartitions : t.numPartitions;
        const rf = assignments ? assignments[0].length : t.replicationFactor === -1 ? DEFAULT_REPLICATION_FACTOR : t.replicationFactor;
        const fail = (errorCode: number, errorMessage: string | null) => ({
          name: t.name, topicId: ZERO_UUID, errorCode, errorMessage, topicConfigErrorCode: ErrorCode.NONE, numPartitions: -1, replicationFactor: -1, configs: null,
        });
        const err = s.validateNewTopic(t.name, partitions, rf);
        if (err !== ErrorCode.NONE) return fail(err, err === ErrorCode.TOPIC_ALREADY_EXISTS ? `Topic '${t.name}' already exists.` : null);
        const configs: Record<string, string> = {};
        for (const c of t.configs) {
          if (c.value === null) continue;
          if (/\.(bytes|ms)$/.test(c.name) && !/^-?\d+$/.test(c.value)) return fail(ErrorCode.INVALID_CONFIG, `Invalid value ${c.value} for configuration ${c.name}`);
          configs[c.name] = c.value;
        }
        if (req.validateOnly) return { ...fail(ErrorCode.NONE, null), numPartitions: partitions, replicationFactor: rf };
        const topic = s.createTopic(t.name, partitions, rf, configs, assignments);
        return {
          name: t.name,
          topicId: topic.id,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          topicConfigErrorCode: ErrorCode.NONE,
          numPartitions: partitions,
          replicationFactor: rf,
          configs: Object.keys({ ...TOPIC_CONFIG_DEFAULTS, ...configs }).sort().map((name) => ({
            name, value: s.topicConfig(topic, name), readOnly: false, configSource: name in configs ? SOURCE_DYNAMIC_TOPIC : SOURCE_DEFAULT, isSensitive: false,
          })),
        };
      }),
    })),

    handler(Api.DeleteTopics, (ctx, req) => {
      const wanted = ctx.version >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
      return {
        throttleTimeMs: 0,
        responses: wanted.map((w) => {
          const byId = !w.name && w.topicId !== ZERO_UUID;
          const t = byId ? ctx.state.topicById(w.topicId) : ctx.state.topics.get(w.name ?? '');
          if (!t) return { name: w.name, topicId: w.topicId, errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
          ctx.state.deleteTopic(t.name);
          return { name: t.name, topicId: t.id, errorCode: ErrorCode.NONE, errorMessage: null };
        }),
      };
    }),

    handler(Api.CreatePartitions, (ctx, req) => ({
      throttleTimeMs: 0,
      results: req.topics.map((want) => {
        const t = ctx.state.topics.get(want.name);
        if (!t) return { name: want.name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
        if (want.count <= t.partitions.length) {
          return { name: want.name, errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: `Topic currently has ${t.partitions.length} partitions, which is higher than or equal to the requested ${want.count}.` };
        }
        if (!req.validateOnly) ctx.state.addPartitions(t, want.count);
        return { name: want.name, errorCode: ErrorCode.NONE, errorMessage: null };
      }),
    })),

    handler(Api.DescribeConfigs, (ctx, req) => ({
      throttleTimeMs: 0,
      results: req.resources.map((r) => {
        const keep = (name: string) => r.configurationKeys === null || r.configurationKeys.includes(name);
        const entry = (name: string, value: string, source: number) => ({
          name, value, readOnly: source !== SOURCE_DYNAMIC_TOPIC && r.resourceType === RESOURCE_BROKER, configSource: source, isSensitive: false,
          synonyms: [], configType: configType(name), documentation: null,
        });
        if (r.resourceType === RESOURCE_TOPIC) {
          const t = ctx.state.topics.get(r.resourceName);
          if (!t) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] };
          const names = Object.keys({ ...TOPIC_CONFIG_DEFAULTS, ...Object.fromEntries(t.configs) }).sort().filter(keep);
          return {
            errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName,
            configs: names.map((n) => entry(n, ctx.state.topicConfig(t, n), t.configs.has(n) ? SOURCE_DYNAMIC_TOPIC : SOURCE_DEFAULT)),
          };
        }
        if (r.resourceType === RESOURCE_BROKER && (r.resourceName === '' || ctx.state.brokers.has(Number(r.resourceName)))) {
          return {
            errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName,
            configs: Object.entries(BROKER_CONFIGS).filter(([n]) => keep(n)).map(([n, v]) => entry(n, v, SOURCE_STATIC_BROKER)),
          };
        }
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `the fake cluster does not describe resource type ${r.resourceType} '${r.resourceName}'`, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] };
      }),
    })),

    handler(Api.IncrementalAlterConfigs, (ctx, req) => ({
      throttleTimeMs: 0,
      responses: req.resources.map((r) => {
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        if (r.resourceType !== RESOURCE_TOPIC) return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'the fake cluster alters topic configs only' };
        const t = ctx.state.topics.get(r.resourceName);
        if (!t) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
        for (const c of r.configs) {
          if (c.configOperation !== 0 && c.configOperation !== 1) {
            return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'the fake cluster supports SET and DELETE only' };
          }
        }
        if (!req.validateOnly) for (const c of r.configs) ctx.state.setTopicConfig(t, c.name, c.configOperation === 1 ? null : c.value);
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null };
      }),
    })),
  ];
}
