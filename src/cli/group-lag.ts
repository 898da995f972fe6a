// A group's lag per partition, from the outside (no member joins): committed offsets against the log
// ends, and which member holds each partition. Shared by `groups describe` and `lag`.
import type { CallOptions, Client, GroupDescription } from '../index.ts';
import { ConsumerProtocolAssignmentCodec, ByteReader } from '../protocol/index.ts';

export interface LagRow {
  topic: string;
  partition: number;
  /** -1n: the group has committed nothing for the partition. */
  committed: bigint;
  /** The log end (high watermark). */
  end: bigint;
  /** end - committed; null when nothing is committed. */
  lag: bigint | null;
  /** "clientId/host" of the member that holds the partition, or null. */
  member: string | null;
}

export interface GroupLag {
  groupId: string;
  state: string;
  members: number;
  rows: LagRow[];
}

/** Partition → member, from the members' assignments (classic consumer protocol only). */
function owners(d: GroupDescription | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!d || d.protocolType !== 'consumer') return out;
  for (const m of d.members) {
    if (m.assignment.length < 2) continue;
    try {
      const r = new ByteReader(m.assignment);
      const version = r.int16();
      const a = ConsumerProtocolAssignmentCodec.decode(r, Math.min(version, ConsumerProtocolAssignmentCodec.maxVersion));
      for (const tp of a.assignedPartitions) for (const p of tp.partitions) out.set(`${tp.topic}\u0000${p}`, `${m.clientId}/${m.clientHost}`);
    } catch {
      // An assignment this tool cannot read only leaves the member column empty.
    }
  }
  return out;
}

export async function groupLag(client: Client, groupId: string, topics: string[] | undefined, opts: CallOptions): Promise<GroupLag> {
  const [committed, description] = await Promise.all([
    client.fetchOffsets(groupId, topics?.map((topic) => ({ topic })), opts),
    // A KIP-848 group is not described by DescribeGroups: its lag is still shown, without members.
    client.describeGroups([groupId], opts).then((d) => d[0] ?? null, () => null),
  ]);
  const byTopic = new Map<string, typeof committed>();
  for (const c of committed) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), c]);
  const who = owners(description);
  const rows: LagRow[] = [];
  await Promise.all(
    [...byTopic].map(async ([topic, cs]) => {
      const ends = await client.listOffsets(topic, 'latest', { ...opts, partitions: cs.map((c) => c.partition) });
      for (const c of cs) {
        const end = ends.get(c.partition)?.offset ?? -1n;
        rows.push({
          topic,
          partition: c.partition,
          committed: c.offset,
          end,
          lag: c.offset >= 0n ? (end > c.offset ? end - c.offset : 0n) : null,
          member: who.get(`${topic}\u0000${c.partition}`) ?? null,
        });
      }
    }),
  );
  rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { groupId, state: description?.state ?? 'unknown', members: description?.members.length ?? 0, rows };
}

export function totalLag(rows: LagRow[]): bigint {
  return rows.reduce((s, r) => s + (r.lag ?? 0n), 0n);
}
