// Partition assignors run by the group leader: range and round-robin (eager, Kafka's algorithms) and
// cooperative-sticky. The sticky one keeps what members own, balances the rest, and withholds any
// partition that changes owner so the old owner revokes it before the new one starts (KIP-429); a
// second rebalance then hands it over.
import type { AssignorName } from '../config.ts';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface GroupMember {
  memberId: string;
  groupInstanceId: string | null;
  topics: string[];
  owned: TopicPartition[];
  generationId: number;
}

/** memberId → topic → partitions (sorted). */
export type GroupAssignment = Map<string, Map<string, number[]>>;

export interface Assignor {
  readonly name: AssignorName;
  readonly cooperative: boolean;
  /** partitions: topic → partition count, for every topic some member subscribes to. */
  assign(members: GroupMember[], partitions: ReadonlyMap<string, number>): GroupAssignment;
}

// Static members sort by instance id, so that a restarted member gets the same partitions (as Java).
function memberOrder(a: GroupMember, b: GroupMember): number {
  const ka = a.groupInstanceId ?? a.memberId;
  const kb = b.groupInstanceId ?? b.memberId;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function empty(members: GroupMember[]): GroupAssignment {
  return new Map(members.map((m) => [m.memberId, new Map<string, number[]>()]));
}

function give(out: GroupAssignment, memberId: string, topic: string, partition: number): void {
  const byTopic = out.get(memberId)!;
  const list = byTopic.get(topic);
  if (list) list.push(partition);
  else byTopic.set(topic, [partition]);
}

function sortAll(out: GroupAssignment): GroupAssignment {
  for (const byTopic of out.values()) for (const list of byTopic.values()) list.sort((a, b) => a - b);
  return out;
}

export const RangeAssignor: Assignor = {
  name: 'range',
  cooperative: false,
  assign(members, partitions) {
    const out = empty(members);
    for (const [topic, count] of [...partitions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const subs = members.filter((m) => m.topics.includes(topic)).sort(memberOrder);
      if (!subs.length) continue;
      const per = Math.floor(count / subs.length);
      const extra = count % subs.length;
      subs.forEach((m, i) => {
        const start = i * per + Math.min(i, extra);
        const n = per + (i < extra ? 1 : 0);
        for (let p = start; p < start + n; p++) give(out, m.memberId, topic, p);
      });
    }
    return sortAll(out);
  },
};

export const RoundRobinAssignor: Assignor = {
  name: 'roundrobin',
  cooperative: false,
  assign(members, partitions) {
    const out = empty(members);
    const sorted = [...members].sort(memberOrder);
    if (!sorted.length) return out;
    let next = 0;
    for (const [topic, count] of [...partitions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!sorted.some((m) => m.topics.includes(topic))) continue;
      for (let p = 0; p < count; p++) {
        // Members not subscribed to the topic are passed over, the circle goes on.
        while (!sorted[next % sorted.length].topics.includes(topic)) next++;
        give(out, sorted[next % sorted.length].memberId, topic, p);
        next++;
      }
    }
    return sortAll(out);
  },
};

export const CooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  cooperative: true,
  assign(members, partitions) {
    const sorted = [...members].sort(memberOrder);
    const owner = new Map<string, string>(); // "topic/partition" → memberId, as claimed in subscriptions
    const holding = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]));
    const exists = (tp: TopicPartition) => tp.partition >= 0 && tp.partition < (partitions.get(tp.topic) ?? 0);
    // A claim counts when the member still subscribes to the topic; of two claims the newer generation wins.
    const claimGen = new Map<string, number>();
    for (const m of sorted) {
      for (const tp of m.owned) {
        if (!exists(tp) || !m.topics.includes(tp.topic)) continue;
        const k = `${tp.topic}/${tp.partition}`;
        if ((claimGen.get(k) ?? -2) >= m.generationId) continue;
        owner.set(k, m.memberId);
        claimGen.set(k, m.generationId);
      }
    }
    for (const [k, memberId] of owner) {
      const i = k.lastIndexOf('/');
      holding.get(memberId)!.push({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)) });
    }
    const eligible = (m: GroupMember, tp: TopicPartition) => m.topics.includes(tp.topic);
    // Fair share: when everyone subscribes to the same topics, no member holds more than ceil(total / n).
    const all: TopicPartition[] = [];
    for (const [topic, count] of [...partitions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!sorted.some((m) => m.topics.includes(topic))) continue;
      for (let p = 0; p < count; p++) all.push({ topic, partition: p });
    }
    const unassigned = all.filter((tp) => !owner.has(`${tp.topic}/${tp.partition}`));
    const pick = (tp: TopicPartition): GroupMember | undefined => {
      let best: GroupMember | undefined;
      for (const m of sorted) if (eligible(m, tp) && (!best || holding.get(m.memberId)!.length < holding.get(best.memberId)!.length)) best = m;
      return best;
    };
    for (const tp of unassigned) {
      const m = pick(tp);
      if (m) holding.get(m.memberId)!.push(tp);
    }
    // Move partitions from the fullest to the emptiest eligible member until no move helps.
    for (let guard = 0; guard < all.length * sorted.length + 1; guard++) {
      let moved = false;
      const bySize = [...sorted].sort((a, b) => holding.get(b.memberId)!.length - holding.get(a.memberId)!.length || memberOrder(a, b));
      outer: for (const from of bySize) {
        const list = holding.get(from.memberId)!;
        for (let i = list.length - 1; i >= 0; i--) {
          const tp = list[i];
          const to = pick(tp);
          if (to && holding.get(to.memberId)!.length + 1 < list.length) {
            list.splice(i, 1);
            holding.get(to.memberId)!.push(tp);
            moved = true;
            break outer;
          }
        }
      }
      if (!moved) break;
    }
    const out = empty(sorted);
    for (const [memberId, list] of holding) {
      for (const tp of list) {
        const prev = owner.get(`${tp.topic}/${tp.partition}`);
        // Still owned by someone else: withheld until that member has revoked it.
        if (prev !== undefined && prev !== memberId) continue;
        give(out, memberId, tp.topic, tp.partition);
      }
    }
    return sortAll(out);
  },
};

export const ASSIGNORS: Record<AssignorName, Assignor> = {
  range: RangeAssignor,
  roundrobin: RoundRobinAssignor,
  'cooperative-sticky': CooperativeStickyAssignor,
};
