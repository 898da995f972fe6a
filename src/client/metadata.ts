// The cluster as the client sees it: brokers, controller, topics, partition leaders and their epochs.
// Built from Metadata responses only; refreshing and routing live in cluster.ts.
import type { MetadataResponse } from '../protocol/messages/index.ts';

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  internal: boolean;
  errorCode: number;
  partitions: PartitionInfo[];
}

export class ClusterMetadata {
  constructor(
    readonly clusterId: string | null,
    readonly controllerId: number,
    readonly brokers: ReadonlyMap<number, BrokerInfo>,
    readonly topics: ReadonlyMap<string, TopicInfo>,
    /** Monotonic time (ms) of the response this view was built from. */
    readonly fetchedAt: number,
  ) {}

  static fromResponse(res: MetadataResponse, previous?: ClusterMetadata, replaceAll = false): ClusterMetadata {
    const brokers = new Map<number, BrokerInfo>();
    for (const b of res.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    // A response for some topics updates those and keeps what we knew of the others.
    const topics = new Map<string, TopicInfo>(replaceAll || !previous ? [] : previous.topics);
    for (const t of res.topics) {
      if (t.name == null) continue;
      topics.set(t.name, {
        name: t.name,
        topicId: t.topicId ?? '',
        internal: t.isInternal ?? false,
        errorCode: t.errorCode,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offline: p.offlineReplicas ?? [],
            errorCode: p.errorCode,
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    return new ClusterMetadata(res.clusterId ?? null, res.controllerId ?? -1, brokers, topics, performance.now());
  }

  partition(topic: string, partition: number): PartitionInfo | undefined {
    const t = this.topics.get(topic);
    return t?.partitions[partition]?.partition === partition ? t.partitions[partition] : t?.partitions.find((p) => p.partition === partition);
  }
}
