// The Reader's offset lookups (log start, log end, first offset at a time) as plain offsets, through
// the client's one ListOffsets implementation.
import type { CallOptions, Cluster } from '../cluster.ts';
import { listPartitionOffsets } from '../list-offsets.ts';

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
