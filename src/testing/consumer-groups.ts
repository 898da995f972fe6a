// Consumer groups of KIP-848: the coordinator assigns. Each heartbeat recomputes the group's target
// assignment (partitions of the subscribed topics spread over the members subscribed to them); a member
// is given the part of its target that no other member still owns, and must first give up (report
// without) what the target takes away — so no partition has two owners at once. The member epoch moves
// to the group epoch once the member holds nothing outside its target, as in Kafka's reconciliation.
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../protocol/messages/index.ts';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, Encodable } from '../protocol/messages/index.ts';
import { uuidToString } from '../protocol/wire/index.ts';
import type { ClusterState } from './state.ts';

interface CMember {
  memberId: string;
  instanceId: string | null;
  epoch: number;
  previousEpoch: number;
  subscribed: string[];
  regex: RegExp | null;
  owned: Set<string>;
  lastSent: string | null;
  lastSeen: number;
}

export interface ConsumerGroup {
  id: string;
  groupEpoch: number;
  members: Map<string, CMember>;
  targetSignature: string;
}

export interface ConsumerGroupOptions {
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
}

type Answer = Encodable<ConsumerGroupHeartbeatResponse>;
const LEAVE = -1;
const STATIC_LEAVE = -2;
const key = (topicId: string, p: number) => `${topicId}:${p}`;

export class ConsumerGroups {
  readonly groups = new Map<string, ConsumerGroup>();

  constructor(
    private readonly state: ClusterState,
    private readonly opts: ConsumerGroupOptions,
  ) {}

  get(id: string): ConsumerGroup | undefined {
    return this.groups.get(id);
  }

  heartbeat(req: ConsumerGroupHeartbeatRequest): Answer {
    const fail = (errorCode: number, errorMessage: string | null = null): Answer => ({
      errorCode, errorMessage, memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null,
    });
    let g = this.groups.get(req.groupId);
    if (!g) {
      if (req.memberEpoch !== 0) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      g = { id: req.groupId, groupEpoch: 0, members: new Map(), targetSignature: '' };
      this.groups.set(req.groupId, g);
    }
    let m = g.members.get(req.memberId);
    if (req.memberEpoch === LEAVE || req.memberEpoch === STATIC_LEAVE) {
      if (m) this.remove(g, m);
      return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
    }
    if (req.memberEpoch === 0) {
      if (!req.subscribedTopicNames && !req.subscribedTopicRegex) return fail(ErrorCode.INVALID_REQUEST, 'a joining member must subscribe');
      const memberId = req.memberId || uuidToString(randomBytes(16));
      if (req.instanceId !== null) {
        // A static member that comes back under a new member id takes the place of the old one.
        for (const other of g.members.values()) if (other.instanceId === req.instanceId && other.memberId !== memberId) g.members.delete(other.memberId);
      }
      m = { memberId, instanceId: req.instanceId, epoch: 0, previousEpoch: 0, subscribed: [], regex: null, owned: new Set(), lastSent: null, lastSeen: 0 };
      g.members.set(memberId, m);
    } else {
      if (!m) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      if (req.memberEpoch !== m.epoch && req.memberEpoch !== m.previousEpoch) return fail(ErrorCode.FENCED_MEMBER_EPOCH);
    }
    if (req.subscribedTopicNames) m.subscribed = [...req.subscribedTopicNames];
    if (req.subscribedTopicRegex !== null) {
      try {
        m.regex = req.subscribedTopicRegex ? new RegExp(`^(?:${req.subscribedTopicRegex})$`) : null;
      } catch {
        return fail(ErrorCode.INVALID_REGULAR_EXPRESSION);
      }
    }
    if (req.topicPartitions) m.owned = new Set(req.topicPartitions.flatMap((t) => t.partitions.map((p) => key(t.topicId, p))));
    m.lastSeen = performance.now();

    const target = this.target(g);
    const mine = target.get(m.memberId) ?? new Set<string>();
    const ownedElsewhere = new Set<string>();
    for (const other of g.members.values()) if (other !== m) for (const k of other.owned) ownedElsewhere.add(k);
    const give = [...mine].filter((k) => m.owned.has(k) || !ownedElsewhere.has(k)).sort();
    const mustRevoke = [...m.owned].some((k) => !mine.has(k));
    if (!mustRevoke && m.epoch !== g.groupEpoch) {
      m.previousEpoch = m.epoch;
      m.epoch = g.groupEpoch;
    }
    const sent = give.join(',');
    let assignment: Answer['assignment'] = null;
    if (sent !== m.lastSent) {
      m.lastSent = sent;
      const byTopic = new Map<string, number[]>();
      for (const k of give) {
        const [topicId, p] = k.split(':');
        byTopic.set(topicId, [...(byTopic.get(topicId) ?? []), Number(p)]);
      }
      assignment = { topicPartitions: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })) };
    }
    return {
      errorCode: ErrorCode.NONE, errorMessage: null, memberId: m.memberId, memberEpoch: m.epoch,
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs, assignment,
    };
  }

  /** Checks a commit's member and epoch; NONE when it may commit. */
  checkCommit(groupId: string, memberId: string, epoch: number): number {
    const m = this.groups.get(groupId)?.members.get(memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (epoch > m.epoch) return ErrorCode.FENCED_MEMBER_EPOCH;
    if (epoch < m.epoch) return ErrorCode.STALE_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  tick(): void {
    const t = performance.now();
    for (const g of this.groups.values()) {
      for (const m of [...g.members.values()]) if (t - m.lastSeen > this.opts.sessionTimeoutMs) this.remove(g, m);
    }
  }

  private remove(g: ConsumerGroup, m: CMember): void {
    g.members.delete(m.memberId);
    this.target(g);
  }

  /** Members' target partitions; bumps the group epoch when the target differs from the last one. */
  private target(g: ConsumerGroup): Map<string, Set<string>> {
    const members = [...g.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
    const out = new Map(members.map((m) => [m.memberId, new Set<string>()]));
    const topics = [...this.state.topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    let cursor = 0;
    for (const t of topics) {
      const subs = members.filter((m) => m.subscribed.includes(t.name) || m.regex?.test(t.name));
      if (!subs.length) continue;
      // Round-robin carried across topics, so members with the same subscription get even shares.
      for (const p of t.partitions) out.get(subs[cursor++ % subs.length].memberId)!.add(key(t.id, p.index));
    }
    const signature = [...out].map(([id, s]) => `${id}=${[...s].sort().join(',')}`).join(';');
    if (signature !== g.targetSignature) {
      g.targetSignature = signature;
      g.groupEpoch++;
    }
    return out;
  }
}
