// ListOffsets, the one implementation behind Client.listOffsets and the Reader's offset lookups: the log
// start (EARLIEST), the log end (LATEST: the high watermark, or the last stable offset read committed)
// or the first offset at or after a time. One request per partition, each routed to that partition's
// leader when it is sent (and again on each retry), because a grouping by leader made up front goes
// stale the moment a leader moves.
import { Api, ErrorCode } from '../protocol/messages/index.ts';
import { KafkaProtocolError, throwIfError } from '../protocol/errors.ts';
import type { CallOptions, Cluster } from './cluster.ts';

/** Requests in flight at once for one lookup. */
const CONCURRENCY = 8;

/** ListOffsets timestamps with a special meaning. */
export const EARLIEST = -2n;
export const LATEST = -1n;

export interface PartitionOffset {
  partition: number;
  /** -1n where no record is at or after the time asked for. */
  offset: bigint;
  timestamp: Date | null;
  leaderEpoch: number;
}

/**
 * The offset of each partition for `timestamp` (EARLIEST, LATEST or epoch ms). `brokerTimeoutMs` is the
 * time the request body gives the broker (less than the call's own deadline, so its answer can return).
 */
export async function listPartitionOffsets(
  cluster: Cluster,
  topic: string,
  partitions: number[],
  timestamp: bigint,
  opts: CallOptions & { readCommitted?: boolean; brokerTimeoutMs?: number } = {},
): Promise<Map<number, PartitionOffset>> {
  const t = await cluster.topic(topic, opts);
  for (const p of partitions) {
    if (!t.partitions.some((x) => x.partition === p)) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${topic}/${p} does not exist`);
  }
  const out = new Map<number, PartitionOffset>();
  const ask = async (partition: number): Promise<void> => {
    const res = await cluster.call(
      (o) => cluster.leaderConnection(topic, partition, 'admin', o),
      Api.ListOffsets,
      {
        replicaId: -1,
        isolationLevel: opts.readCommitted ? 1 : 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
        timeoutMs: opts.brokerTimeoutMs ?? opts.timeoutMs ?? 30_000,
      },
      { ...opts, check: (r) => r.topics.forEach((rt) => rt.partitions.forEach((p) => throwIfError(p.errorCode, `ListOffsets ${topic}/${p.partitionIndex}`))) },
    );
    for (const rt of res.topics) {
      for (const p of rt.partitions) {
        out.set(p.partitionIndex, {
          partition: p.partitionIndex,
          offset: p.offset ?? -1n,
          timestamp: p.timestamp !== undefined && p.timestamp >= 0n ? new Date(Number(p.timestamp)) : null,
          leaderEpoch: p.leaderEpoch ?? -1,
        });
      }
    }
  };
  // A few requests at a time: each one listens on the caller's signal, and a thousand listeners on one
  // signal is what Node warns of as a leak.
  const queue = [...partitions];
  const worker = async (): Promise<void> => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) await ask(p);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return out;
}
