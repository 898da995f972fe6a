// A group's committed offsets (OffsetFetch), shared by the classic and the KIP-848 membership. Reads
// need no fencing, so no member id or epoch is sent: a lag query works while the group rebalances.
import { Api } from '../../../protocol/messages/index.ts';
import { KafkaProtocolError } from '../../../protocol/errors.ts';
import type { CallOptions, Cluster } from '../../cluster.ts';
import type { Coordinators } from '../../coordinator.ts';
import type { TopicPartition } from './assignors.ts';

export async function fetchCommitted(
  cluster: Cluster,
  coordinators: Coordinators,
  groupId: string,
  tps: TopicPartition[],
  opts: CallOptions = {},
): Promise<Map<string, Map<number, bigint>>> {
  const byTopic = new Map<string, number[]>();
  for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  const res = await cluster.call(
    (o) => coordinators.connection(groupId, 'admin', 'group', o),
    Api.OffsetFetch,
    (conn) =>
      conn.version(Api.OffsetFetch) >= 8
        ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics }], requireStable: true }
        : { groupId, topics, requireStable: true },
    {
      ...opts,
      check: (r) => {
        const code =
          (r.groups?.length ? r.groups[0].errorCode : r.errorCode) ||
          (r.groups?.length ? r.groups[0].topics : r.topics).flatMap((t) => t.partitions).find((p) => p.errorCode !== 0)?.errorCode ||
          0;
        if (code) {
          coordinators.forgetOn(code, groupId);
          throw new KafkaProtocolError(code, `OffsetFetch ${groupId}`);
        }
      },
    },
  );
  const out = new Map<string, Map<number, bigint>>();
  for (const t of res.groups?.length ? res.groups[0].topics : res.topics) {
    const m = out.get(t.name) ?? new Map<number, bigint>();
    for (const p of t.partitions) m.set(p.partitionIndex, p.committedOffset);
    out.set(t.name, m);
  }
  return out;
}
