// ListOffsets, the one implementation behind Client.listOffsets and the Reader's offset lookups: the log
// start (EARLIEST), the log end (LATEST: the high watermark, or the last stable offset read committed)
// or the first offset at or after a time. First one request per leader, in one attempt (a Reader
// starting on 1,000 partitions asks three brokers, not a thousand times). What a leader does not answer
// (an error for the partition, or no answer) is then asked per partition with the call's retries, each
// routed to its partition's leader when sent and again on each retry: a grouping by leader goes stale
// the moment a leader moves, and retrying a group against a broker that leads only some of it is what
// kept such a lookup failing with NOT_LEADER_OR_FOLLOWER for 30 s.
import { Api, ErrorCode } from '../protocol/messages/index.ts';
import type { ListOffsetsResponse } from '../protocol/messages/list-offsets.ts';
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
  const leaderOf = new Map(t.partitions.map((x) => [x.partition, x.leader]));
  for (const p of partitions) {
    if (!leaderOf.has(p)) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${topic}/${p} does not exist`);
  }
  const out = new Map<number, PartitionOffset>();
  const request = (parts: number[]) => ({
    replicaId: -1,
    isolationLevel: opts.readCommitted ? 1 : 0,
    topics: [{ name: topic, partitions: parts.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })) }],
    timeoutMs: opts.brokerTimeoutMs ?? opts.timeoutMs ?? 30_000,
  });
  const keep = (res: ListOffsetsResponse) => {
    for (const rt of res.topics) {
      for (const p of rt.partitions) {
        if (p.errorCode !== ErrorCode.NONE) continue;
        out.set(p.partitionIndex, {
          partition: p.partitionIndex,
          offset: p.offset ?? -1n,
          timestamp: p.timestamp !== undefined && p.timestamp >= 0n ? new Date(Number(p.timestamp)) : null,
          leaderEpoch: p.leaderEpoch ?? -1,
        });
      }
    }
  };

  const byLeader = new Map<number, number[]>();
  for (const p of partitions) {
    const leader = leaderOf.get(p)!;
    if (leader < 0) continue;
    const list = byLeader.get(leader);
    if (list) list.push(p);
    else byLeader.set(leader, [p]);
  }
  await Promise.all(
    [...byLeader].map(async ([leader, parts]) => {
      try {
        const conn = await cluster.brokerConnection(leader, 'admin', opts);
        keep(await conn.request(Api.ListOffsets, request(parts), { signal: opts.signal, timeoutMs: opts.timeoutMs }));
      } catch (e) {
        if (opts.signal?.aborted) throw e; // the caller's deadline or abort: nothing is left to retry in
      }
    }),
  );

  const ask = async (partition: number): Promise<void> => {
    const res = await cluster.call((o) => cluster.leaderConnection(topic, partition, 'admin', o), Api.ListOffsets, request([partition]), {
      ...opts,
      check: (r) => r.topics.forEach((rt) => rt.partitions.forEach((p) => throwIfError(p.errorCode, `ListOffsets ${topic}/${p.partitionIndex}`))),
    });
    keep(res);
  };
  // A few requests at a time: each one listens on the caller's signal, and a thousand listeners on one
  // signal is what Node warns of as a leak.
  const queue = partitions.filter((p) => !out.has(p));
  const worker = async (): Promise<void> => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) await ask(p);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return out;
}
