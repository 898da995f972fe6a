// The classic group coordinator (JoinGroup/SyncGroup/Heartbeat/LeaveGroup), with Kafka's states:
// Empty → PreparingRebalance → CompletingRebalance → Stable. A rebalance completes when every known
// member has rejoined or the rebalance timeout has passed (stragglers are removed); members that stop
// heartbeating are removed after their session timeout; static members (group.instance.id) keep their
// place across restarts and rejoin without a rebalance when nothing changed.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/messages/index.ts';
import type { JoinGroupRequest, JoinGroupResponse, LeaveGroupRequestMemberIdentity, SyncGroupRequest, SyncGroupResponse } from '../protocol/messages/index.ts';
import type { Encodable } from '../protocol/messages/index.ts';

export type ClassicState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

type JoinAnswer = Encodable<JoinGroupResponse>;
type SyncAnswer = Encodable<SyncGroupResponse>;

interface Member {
  memberId: string;
  instanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: { name: string; metadata: Uint8Array }[];
  assignment: Uint8Array;
  lastSeen: number;
  joinWaiter: ((a: JoinAnswer) => void) | null;
  syncWaiter: ((a: SyncAnswer) => void) | null;
}

export interface ClassicGroup {
  id: string;
  state: ClassicState;
  generation: number;
  protocolType: string | null;
  protocol: string | null;
  leader: string | null;
  members: Map<string, Member>;
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet joined: id → expiry. */
  pending: Map<string, number>;
  rebalanceDeadline: number;
}

export interface GroupLimits {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
}

const EMPTY = new Uint8Array(0);
const now = () => performance.now();

function sameProtocols(a: Member['protocols'], b: Member['protocols']): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i].name && Buffer.compare(p.metadata, b[i].metadata) === 0);
}

export class ClassicGroups {
  readonly groups = new Map<string, ClassicGroup>();

  constructor(private readonly limits: GroupLimits) {}

  get(id: string): ClassicGroup | undefined {
    return this.groups.get(id);
  }

  /** The group, created Empty when it does not exist (offset commits of a simple consumer create it too). */
  ensure(id: string): ClassicGroup {
    let g = this.groups.get(id);
    if (!g) {
      g = { id, state: 'Empty', generation: 0, protocolType: null, protocol: null, leader: null, members: new Map(), pending: new Map(), rebalanceDeadline: 0 };
      this.groups.set(id, g);
    }
    return g;
  }

  join(req: JoinGroupRequest, version: number, clientId: string, clientHost: string, signal: AbortSignal): Promise<JoinAnswer> | JoinAnswer {
    const fail = (errorCode: number, memberId = req.memberId): JoinAnswer => ({
      errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [],
    });
    if (req.sessionTimeoutMs < this.limits.minSessionTimeoutMs || req.sessionTimeoutMs > this.limits.maxSessionTimeoutMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    if (!req.protocolType || req.protocols.length === 0) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const g = this.ensure(req.groupId);
    if (g.members.size > 0) {
      if (g.protocolType !== req.protocolType) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      const offered = new Set(req.protocols.map((p) => p.name));
      const common = [...g.members.values()].every((m) => m.protocols.some((p) => offered.has(p.name)));
      if (!common) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const protocols = req.protocols.map((p) => ({ name: p.name, metadata: p.metadata }));
    let memberId = req.memberId;
    let existing = memberId ? g.members.get(memberId) : undefined;

    if (req.groupInstanceId !== null) {
      const byInstance = [...g.members.values()].find((m) => m.instanceId === req.groupInstanceId);
      if (memberId && byInstance && byInstance.memberId !== memberId) return fail(ErrorCode.FENCED_INSTANCE_ID);
      if (!memberId && byInstance) {
        // A static member coming back: it takes a new member id in place of its old one.
        memberId = `${req.groupInstanceId}-${randomUUID()}`;
        g.members.delete(byInstance.memberId);
        byInstance.joinWaiter?.(fail(ErrorCode.FENCED_INSTANCE_ID, byInstance.memberId));
        byInstance.syncWaiter?.({ errorCode: ErrorCode.FENCED_INSTANCE_ID, protocolType: null, protocolName: null, assignment: EMPTY });
        const wasLeader = g.leader === byInstance.memberId;
        existing = { ...byInstance, memberId, joinWaiter: null, syncWaiter: null, lastSeen: now() };
        g.members.set(memberId, existing);
        if (wasLeader) g.leader = memberId;
        if (g.state === 'Stable' && sameProtocols(existing.protocols, protocols)) {
          return {
            errorCode: ErrorCode.NONE, generationId: g.generation, protocolType: g.protocolType, protocolName: g.protocol,
            leader: g.leader ?? '', skipAssignment: wasLeader && version >= 9, memberId, members: wasLeader ? this.memberList(g) : [],
          };
        }
      } else if (!memberId) memberId = `${req.groupInstanceId}-${randomUUID()}`;
    } else if (!memberId) {
      memberId = `${clientId || 'member'}-${randomUUID()}`;
      if (version >= 4) {
        // KIP-394: the member must come back with the id, so a lost answer leaves no ghost member.
        g.pending.set(memberId, now() + req.sessionTimeoutMs);
        return fail(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
    } else if (!existing && !g.pending.has(memberId)) {
      return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    }
    g.pending.delete(memberId);

    const member: Member = existing ?? {
      memberId, instanceId: req.groupInstanceId, clientId, clientHost, sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs, protocolType: req.protocolType, protocols, assignment: EMPTY,
      lastSeen: now(), joinWaiter: null, syncWaiter: null,
    };
    const changed = !existing || !sameProtocols(existing.protocols, protocols);
    Object.assign(member, { sessionTimeoutMs: req.sessionTimeoutMs, rebalanceTimeoutMs: req.rebalanceTimeoutMs, protocols, lastSeen: now(), clientId, clientHost });
    g.members.set(memberId, member);
    g.protocolType = req.protocolType;

    if (g.state === 'Stable' && !changed && g.leader !== memberId) {
      // A follower rejoining with nothing new: Kafka answers the current generation without a rebalance.
      return { errorCode: ErrorCode.NONE, generationId: g.generation, protocolType: g.protocolType, protocolName: g.protocol, leader: g.leader ?? '', skipAssignment: false, memberId, members: [] };
    }
    return new Promise<JoinAnswer>((resolve) => {
      member.joinWaiter?.(fail(ErrorCode.UNKNOWN_MEMBER_ID));
      member.joinWaiter = resolve;
      signal.addEventListener('abort', () => resolve(fail(ErrorCode.UNKNOWN_MEMBER_ID)), { once: true });
      if (g.state !== 'PreparingRebalance') this.prepareRebalance(g);
      this.maybeCompleteJoin(g);
    });
  }

  sync(req: SyncGroupRequest, signal: AbortSignal): Promise<SyncAnswer> | SyncAnswer {
    const fail = (errorCode: number): SyncAnswer => ({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    const g = this.groups.get(req.groupId);
    const m = g?.members.get(req.memberId);
    if (!g || !m) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.groupInstanceId !== null && m.instanceId !== req.groupInstanceId) return fail(ErrorCode.FENCED_INSTANCE_ID);
    if (req.generationId !== g.generation) return fail(ErrorCode.ILLEGAL_GENERATION);
    if ((req.protocolType !== null && req.protocolType !== g.protocolType) || (req.protocolName !== null && req.protocolName !== g.protocol)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    m.lastSeen = now();
    const ok = (member: Member): SyncAnswer => ({ errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocol, assignment: member.assignment });
    if (g.state === 'PreparingRebalance') return fail(ErrorCode.REBALANCE_IN_PROGRESS);
    if (g.state === 'Stable') return ok(m);
    return new Promise<SyncAnswer>((resolve) => {
      m.syncWaiter = resolve;
      signal.addEventListener('abort', () => resolve(fail(ErrorCode.REBALANCE_IN_PROGRESS)), { once: true });
      if (req.memberId === g.leader) {
        const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
        for (const member of g.members.values()) member.assignment = given.get(member.memberId) ?? EMPTY;
        g.state = 'Stable';
        for (const member of g.members.values()) {
          const w = member.syncWaiter;
          member.syncWaiter = null;
          w?.(ok(member));
        }
      }
    });
  }

  heartbeat(groupId: string, memberId: string, generation: number, instanceId: string | null): number {
    const g = this.groups.get(groupId);
    const m = g?.members.get(memberId);
    if (!g || !m) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (instanceId !== null && m.instanceId !== instanceId) return ErrorCode.FENCED_INSTANCE_ID;
    if (generation !== g.generation) return ErrorCode.ILLEGAL_GENERATION;
    m.lastSeen = now();
    return g.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leave(groupId: string, leaving: LeaveGroupRequestMemberIdentity[]): number[] {
    const g = this.groups.get(groupId);
    return leaving.map((who) => {
      if (!g) return ErrorCode.UNKNOWN_MEMBER_ID;
      const m = who.memberId
        ? g.members.get(who.memberId)
        : [...g.members.values()].find((x) => who.groupInstanceId !== null && x.instanceId === who.groupInstanceId);
      if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (who.groupInstanceId !== null && m.instanceId !== who.groupInstanceId) return ErrorCode.FENCED_INSTANCE_ID;
      this.remove(g, m);
      return ErrorCode.NONE;
    });
  }

  /** Checks a commit's generation and member against a classic group; NONE when it may commit. */
  checkCommit(groupId: string, memberId: string, generation: number, instanceId: string | null): number {
    const g = this.groups.get(groupId);
    if (generation < 0 && !memberId) return !g || g.members.size === 0 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    const m = g?.members.get(memberId);
    if (!g || !m) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (instanceId !== null && m.instanceId !== instanceId) return ErrorCode.FENCED_INSTANCE_ID;
    if (generation !== g.generation) return ErrorCode.ILLEGAL_GENERATION;
    if (g.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    m.lastSeen = now();
    return ErrorCode.NONE;
  }

  describe(g: ClassicGroup) {
    return [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: m.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY,
      memberAssignment: m.assignment,
    }));
  }

  /** Session and rebalance timeouts; called on a short interval by the cluster. */
  tick(): void {
    const t = now();
    for (const g of this.groups.values()) {
      for (const [id, until] of g.pending) if (until <= t) g.pending.delete(id);
      if (g.state === 'PreparingRebalance') {
        if (t >= g.rebalanceDeadline) {
          for (const m of [...g.members.values()]) if (!m.joinWaiter) g.members.delete(m.memberId);
          this.completeJoin(g);
          continue;
        }
        // As Kafka: a member waiting in JoinGroup is kept alive; one that has not rejoined and whose
        // session lapsed is removed now, not at the rebalance deadline (a crashed member must not
        // hold the others' rejoin for the whole rebalance timeout).
        for (const m of [...g.members.values()]) {
          if (!m.joinWaiter && t - m.lastSeen > m.sessionTimeoutMs) this.remove(g, m);
        }
        continue;
      }
      for (const m of [...g.members.values()]) {
        if (m.syncWaiter || t - m.lastSeen <= m.sessionTimeoutMs) continue;
        this.remove(g, m);
      }
    }
  }

  /** Ends every waiting request (the cluster is stopping). */
  close(): void {
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        m.joinWaiter = null;
        m.syncWaiter = null;
      }
    }
  }

  private remove(g: ClassicGroup, m: Member): void {
    g.members.delete(m.memberId);
    m.joinWaiter?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: m.memberId, members: [] });
    m.syncWaiter?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: EMPTY });
    if (g.state === 'PreparingRebalance') this.maybeCompleteJoin(g);
    else if (g.state === 'Stable' || g.state === 'CompletingRebalance') {
      if (g.members.size === 0) this.completeJoin(g);
      else this.prepareRebalance(g);
    }
  }

  private prepareRebalance(g: ClassicGroup): void {
    // Members waiting for their assignment of the generation being abandoned must rejoin.
    for (const m of g.members.values()) {
      const w = m.syncWaiter;
      m.syncWaiter = null;
      w?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, protocolType: null, protocolName: null, assignment: EMPTY });
    }
    g.state = 'PreparingRebalance';
    const timeout = Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    g.rebalanceDeadline = now() + timeout;
  }

  private maybeCompleteJoin(g: ClassicGroup): void {
    if ([...g.members.values()].every((m) => m.joinWaiter)) this.completeJoin(g);
  }

  private memberList(g: ClassicGroup) {
    return [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      metadata: m.protocols.find((p) => p.name === g.protocol)?.metadata ?? EMPTY,
    }));
  }

  private completeJoin(g: ClassicGroup): void {
    g.generation++;
    if (g.members.size === 0) {
      g.state = 'Empty';
      g.protocol = null;
      g.leader = null;
      return;
    }
    const members = [...g.members.values()];
    // The protocol every member supports that ranks best across members' preference orders.
    const candidates = members[0].protocols.map((p) => p.name).filter((n) => members.every((m) => m.protocols.some((p) => p.name === n)));
    const score = (n: string) => members.reduce((s, m) => s + m.protocols.findIndex((p) => p.name === n), 0);
    g.protocol = candidates.sort((a, b) => score(a) - score(b))[0] ?? null;
    if (!g.leader || !g.members.has(g.leader)) g.leader = members[0].memberId;
    g.state = 'CompletingRebalance';
    const t = now();
    for (const m of members) {
      m.lastSeen = t;
      const w = m.joinWaiter;
      m.joinWaiter = null;
      w?.({
        errorCode: ErrorCode.NONE, generationId: g.generation, protocolType: g.protocolType, protocolName: g.protocol,
        leader: g.leader, skipAssignment: false, memberId: m.memberId, members: m.memberId === g.leader ? this.memberList(g) : [],
      });
    }
  }
}
