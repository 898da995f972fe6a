// Offset lookups a Reader needs from partition leaders: log start, log end (high watermark or last
// stable offset) and the first offset at or after a time.
import { Api, ErrorCode } from '../../protocol/messages/index.ts';
import { KafkaProtocolError } from '../../protocol/errors.ts';
import type { CallOptions, Cluster } from '../cluster.ts';

/** ListOffsets timestamps with a special meaning. */
export const EARLIEST = -2n;
export const LATEST = -1n;

/**
 * The offset per partition for `timestamp` (EARLIEST, LATEST or epoch ms); -1n where no record is at
 * or after the time.
 */
export async function listOffsets(
  cluster: Cluster,
  topic: string,
  partitions: number[],
  timestamp: bigint,
  isolationLevel: 0 | 1,
  opts: CallOptions = {},
): Promise<Map<number, bigint>> {
  const t = await cluster.topic(topic, opts);
  const byLeader = new Map<number, number[]>();
  for (const p of partitions) {
    const info = t.partitions.find((x) => x.partition === p);
    if (!info) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${topic}/${p} does not exist`);
    byLeader.set(info.leader, [...(byLeader.get(info.leader) ?? []), p]);
  }
  const out = new Map<number, bigint>();
  await Promise.all(
    [...byLeader.values()].map(async (parts) => {
      const res = await cluster.call(
        (o) => cluster.leaderConnection(topic, parts[0], 'admin', o),
        Api.ListOffsets,
        {
          replicaId: -1,
          isolationLevel,
          topics: [{ name: topic, partitions: parts.map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
          timeoutMs: opts.timeoutMs ?? 30_000,
        },
        {
          ...opts,
          check: (r) => {
            for (const rt of r.topics) for (const p of rt.partitions) if (p.errorCode) throw new KafkaProtocolError(p.errorCode, `ListOffsets ${topic}/${p.partitionIndex}`);
          },
        },
      );
      for (const rt of res.topics) for (const p of rt.partitions) out.set(p.partitionIndex, p.offset);
    }),
  );
  return out;
}
