// The Reader's offset lookups (log start, log end, first offset at a time) as plain offsets, through
// the client's one ListOffsets implementation.
import type { CallOptions, Cluster } from '../cluster.ts';
import { LATEST, listPartitionOffsets } from '../list-offsets.ts';

export { EARLIEST, LATEST } from '../list-offsets.ts';

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
  const found = await listPartitionOffsets(cluster, topic, partitions, timestamp, { ...opts, readCommitted: isolationLevel === 1 });
  return new Map([...found].map(([p, o]) => [p, o.offset]));
}

/** Per partition, the first offset at or after `time`; the log end where no record is that recent. */
export async function offsetsAtTime(
  cluster: Cluster,
  topic: string,
  partitions: number[],
  time: Date,
  isolationLevel: 0 | 1,
  opts: CallOptions = {},
): Promise<Map<number, bigint>> {
  const out = await listOffsets(cluster, topic, partitions, BigInt(time.getTime()), isolationLevel, opts);
  const past = partitions.filter((p) => (out.get(p) ?? -1n) < 0n);
  if (past.length) for (const [p, o] of await listOffsets(cluster, topic, past, LATEST, isolationLevel, opts)) out.set(p, o);
  return out;
}
