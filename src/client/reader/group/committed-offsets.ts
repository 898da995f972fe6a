// Offset fetch and commit pieces shared by the classic and the KIP-848 membership. Reads
// need no fencing, so no member id or epoch is sent: a lag query works while the group rebalances.
import { Api, ErrorCode } from '../../../protocol/messages/index.ts';
import type { CallOptions, Cluster } from '../../cluster.ts';
import type { Coordinators } from '../../coordinator.ts';
import { groupCall } from '../../group-call.ts';
import type { TopicPartition } from './assignors.ts';
import { topicIds, type TopicIds } from '../../topic-ids.ts';

export async function fetchCommitted(
  cluster: Cluster,
  coordinators: Coordinators,
  groupId: string,
  tps: TopicPartition[],
  opts: CallOptions = {},
): Promise<Map<string, Map<number, bigint>>> {
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const ids = await topicIds(cluster, [...byTopic.keys()], opts);
  const topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, topicId: ids.id(name), partitionIndexes }));
  const res = await groupCall(
    cluster,
    coordinators,
    groupId,
    Api.OffsetFetch,
    (version) =>
      version >= 8
        ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics }], requireStable: true }
        : { groupId, topics, requireStable: true },
    (r) =>
      (r.groups?.length ? r.groups[0].errorCode : r.errorCode) ||
      (r.groups?.length ? r.groups[0].topics : r.topics).flatMap((t) => t.partitions).find((p) => p.errorCode !== ErrorCode.NONE)?.errorCode ||
      ErrorCode.NONE,
    opts,
    true,
  );
  const out = new Map<string, Map<number, bigint>>();
  for (const t of res.groups?.length ? res.groups[0].topics : res.topics) {
    const name = ids.name(t);
    const m = out.get(name) ?? new Map<number, bigint>();
    for (const p of t.partitions) m.set(p.partitionIndex, p.committedOffset);
    out.set(name, m);
  }
  return out;
}

/**
 * The OffsetCommit request of a member: offsets are the next offsets to read per topic and partition;
 * `epoch` is the classic generation id or the KIP-848 member epoch.
 */
export function offsetCommitRequest(
  member: { groupId: string; memberId: string; groupInstanceId: string | null; epoch: number },
  offsets: Map<string, Map<number, bigint>>,
  ids: TopicIds,
) {
  return {
    groupId: member.groupId,
    generationIdOrMemberEpoch: member.epoch,
    memberId: member.memberId,
    groupInstanceId: member.groupInstanceId,
    retentionTimeMs: -1n,
    topics: [...offsets].map(([name, parts]) => ({
      name,
      topicId: ids.id(name),
      partitions: [...parts].map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: null })),
    })),
  };
}

/** The first partition error of an OffsetCommit response, 0 when every partition was committed. */
export function firstPartitionError(r: { topics: { partitions: { errorCode: number }[] }[] }): number {
  return r.topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
}
