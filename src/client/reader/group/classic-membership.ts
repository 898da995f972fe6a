// Classic group membership: FindCoordinator, JoinGroup (with the member id the broker requires first,
// KIP-394), the leader's assignment, SyncGroup, then heartbeats on their own timer and connection
// until the coordinator calls a rebalance. With eager assignors every partition is revoked before
// rejoining; with cooperative-sticky only those that move, then the member rejoins at once.
import { Api, ErrorCode } from '../../../protocol/messages/index.ts';
import { KafkaError, KafkaProtocolError } from '../../../protocol/errors.ts';
import type { CallOptions, Cluster } from '../../cluster.ts';
import type { Coordinators } from '../../coordinator.ts';
import type { ResolvedReaderConfig } from '../config.ts';
import type { ReaderCounters } from '../stats.ts';
import { fetchCommitted, firstPartitionError, offsetCommitRequest } from './committed-offsets.ts';
import { groupCall } from '../../group-call.ts';
import { topicIds } from '../../topic-ids.ts';
import { ASSIGNORS, type GroupMember, type TopicPartition } from './assignors.ts';
import { MembershipLoop, needsRejoin, tpKey, type GroupMembership, type MembershipHooks } from './group-membership.ts';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from './protocol.ts';

export class ClassicMembership extends MembershipLoop implements GroupMembership {
  memberId = '';
  generationId = -1;
  protocol: string | null = null;
  lastHeartbeatOk = -1;
  /** Current assignment; empty while (eagerly) rebalancing. */
  readonly assigned = new Map<string, TopicPartition>();
  private rejoinNeeded = true;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  /** Leader only: the partition count per subscribed topic the assignment was made with (absent: topic unknown then). */
  private assignedWith: { topics: string[]; counts: Map<string, number> } | null = null;
  private watchTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly cooperative: boolean;
  // Set when the session was lost: even a cooperative member then owns nothing it may keep.
  private revokeAllOnJoin = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly coordinators: Coordinators,
    config: ResolvedReaderConfig,
    counters: ReaderCounters,
    hooks: MembershipHooks,
  ) {
    super(config, counters, hooks);
    // As in Java: the cooperative protocol only when every configured assignor supports it.
    this.cooperative = config.assignors.every((a) => ASSIGNORS[a].cooperative);
  }

  /** True while the member has a generation and heartbeats. */
  get stable(): boolean {
    return !this.rejoinNeeded && this.generationId >= 0;
  }

  requestRejoin(resetMemberId = false): void {
    if (resetMemberId) this.memberId = '';
    this.rejoinNeeded = true;
    this.stopTimers();
    this.wakeLoop();
  }

  sessionLost(): void {
    this.coordinators.reset(this.groupId, ['heartbeat']);
    this.revokeAllOnJoin = true;
    // A static member keeps its id: the coordinator gives it its place back on rejoin.
    this.requestRejoin(!this.config.groupInstanceId);
  }

  protected override stopTimers(): void {
    this.stopHeartbeat();
    this.stopWatch();
  }

  protected override async leave(): Promise<void> {
    if (!this.memberId || this.config.groupInstanceId) return;
    try {
      const conn = await this.coordinators.connection(this.groupId, 'group', 'group', { timeoutMs: 5_000 });
      await conn.request(
        Api.LeaveGroup,
        conn.version(Api.LeaveGroup) >= 3
          ? { groupId: this.groupId, members: [{ memberId: this.memberId, groupInstanceId: null, reason: 'reader closed' }] }
          : { groupId: this.groupId, memberId: this.memberId },
        { timeoutMs: 5_000 },
      );
    } catch {
      // The session timeout removes us anyway.
    }
  }

  // A rejoin error code in a thrown error (a commit that raced a rebalance) is answered by joining again.
  protected override isFatal(e: unknown): boolean {
    return super.isFatal(e) && !(e instanceof KafkaProtocolError && needsRejoin(e.code));
  }

  protected override async step(): Promise<number> {
    if (!this.rejoinNeeded) return Infinity;
    try {
      await this.joinAndSync();
    } catch (e) {
      this.rejoinNeeded = true;
      throw e;
    }
    return 0;
  }

  private check(code: number, what: string): void {
    if (code === ErrorCode.NONE) return;
    // A moved coordinator is found again on the retry that the (retriable) error brings.
    this.coordinators.forgetOn(code, this.groupId);
    throw new KafkaProtocolError(code, `${what} ${this.groupId}`);
  }

  private async joinAndSync(): Promise<void> {
    this.rejoinNeeded = false;
    this.stopHeartbeat();
    this.stopWatch();
    this.assignedWith = null;
    const signal = this.abort.signal;
    const revokeAll = !this.cooperative || this.revokeAllOnJoin;
    this.revokeAllOnJoin = false;
    if (revokeAll && this.assigned.size) {
      const all = [...this.assigned.values()];
      this.assigned.clear();
      await this.hooks.revoke(all);
    }
    const topics = this.config.groupTopics;
    const owned = [...this.assigned.values()];
    const conn = await this.coordinators.connection(this.groupId, 'group', 'group', { signal });
    const join = await conn.request(
      Api.JoinGroup,
      {
        groupId: this.groupId,
        sessionTimeoutMs: this.config.sessionTimeoutMs,
        rebalanceTimeoutMs: this.config.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: this.config.groupInstanceId,
        protocolType: 'consumer',
        protocols: this.config.assignors.map((name) => ({ name, metadata: encodeSubscription(topics, owned, this.generationId) })),
        reason: null,
      },
      // The coordinator holds JoinGroup until every member has rejoined, up to the rebalance timeout.
      { signal, timeoutMs: this.config.rebalanceTimeoutMs + 5_000 },
    );
    if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      this.memberId = join.memberId;
      this.rejoinNeeded = true;
      return;
    }
    if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
      this.requestRejoin(true);
      return;
    }
    if (join.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
      this.requestRejoin();
      return;
    }
    this.check(join.errorCode, 'JoinGroup');
    this.memberId = join.memberId;
    const generationId = join.generationId;
    const protocol = join.protocolName ?? this.config.assignors[0];
    let assignments: { memberId: string; assignment: Uint8Array }[] = [];
    if (join.leader === join.memberId && !join.skipAssignment) {
      assignments = await this.lead(protocol, join.members, signal);
    }
    const sync = await conn.request(
      Api.SyncGroup,
      {
        groupId: this.groupId,
        generationId,
        memberId: this.memberId,
        groupInstanceId: this.config.groupInstanceId,
        protocolType: 'consumer',
        protocolName: protocol,
        assignments,
      },
      { signal, timeoutMs: this.config.rebalanceTimeoutMs + 5_000 },
    );
    if (needsRejoin(sync.errorCode)) {
      this.requestRejoin(sync.errorCode === ErrorCode.UNKNOWN_MEMBER_ID);
      return;
    }
    this.check(sync.errorCode, 'SyncGroup');
    this.generationId = generationId;
    this.protocol = protocol;
    this.lastHeartbeatOk = performance.now();
    this.startHeartbeat();
    this.startWatch();
    const next = new Map<string, TopicPartition>();
    for (const t of decodeAssignment(sync.assignment).assignedPartitions) {
      for (const partition of t.partitions) {
        const tp = { topic: t.topic, partition };
        next.set(tpKey(tp), tp);
      }
    }
    const revoked = [...this.assigned].filter(([k]) => !next.has(k)).map(([, tp]) => tp);
    const added = [...next].filter(([k]) => !this.assigned.has(k)).map(([, tp]) => tp);
    if (revoked.length) {
      for (const tp of revoked) this.assigned.delete(tpKey(tp));
      await this.hooks.revoke(revoked);
    }
    for (const [k, tp] of next) this.assigned.set(k, tp);
    this.counters.rebalances++;
    const tel = this.cluster.telemetry.rebalance;
    if (tel.on) tel.emit({ group: this.groupId, generation: generationId, memberId: this.memberId, protocol, assigned: [...next.values()], added, revoked });
    await this.hooks.assign(added, generationId);
    // Cooperative: what we gave up may now go to its new owner, which takes another round.
    if (this.cooperative && revoked.length) this.requestRejoin();
  }

  private async lead(protocol: string, members: { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }[], signal: AbortSignal) {
    const assignor = ASSIGNORS[protocol as keyof typeof ASSIGNORS];
    if (!assignor) throw new KafkaError(`group ${this.groupId} chose assignor ${protocol}, which this reader does not know`, false);
    const parsed: (GroupMember & { version: number })[] = members.map((m) => {
      const s = decodeSubscription(m.metadata);
      return {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId ?? null,
        topics: s.topics,
        owned: (s.ownedPartitions ?? []).flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))),
        generationId: s.generationId ?? -1,
        version: s.version,
      };
    });
    const topics = [...new Set(parsed.flatMap((m) => m.topics))];
    const meta = await this.cluster.refreshMetadata({ topics, signal });
    const counts = new Map<string, number>();
    for (const t of topics) {
      const info = meta.topics.get(t);
      if (info && info.errorCode === ErrorCode.NONE) counts.set(t, info.partitions.length);
    }
    this.assignedWith = { topics, counts };
    const plan = assignor.assign(parsed, counts);
    return parsed.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment(plan.get(m.memberId) ?? new Map(), m.version) }));
  }

  // ------------------------------------------------------------------------------- metadata watch

  /**
   * As the Java consumer does, the leader rebalances when a subscribed topic's partition count differs
   * from the one it assigned with: a topic created after the group formed, or partitions added. It
   * looks every metadataMaxAgeMs, and every second while a subscribed topic does not exist yet.
   */
  private startWatch(): void {
    this.stopWatch();
    const w = this.assignedWith;
    if (this.stopped || !w) return;
    const missing = w.topics.some((t) => !w.counts.has(t));
    this.watchTimer = setTimeout(() => void this.watch(), missing ? 1_000 : this.cluster.metadataMaxAgeMs);
  }

  private stopWatch(): void {
    if (this.watchTimer) clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
  }

  private async watch(): Promise<void> {
    this.watchTimer = undefined;
    const w = this.assignedWith;
    if (this.stopped || this.rejoinNeeded || !w) return;
    try {
      const meta = await this.cluster.refreshMetadata({ topics: w.topics, signal: this.abort.signal });
      if (this.assignedWith !== w || this.rejoinNeeded) return;
      const changed = w.topics.some((t) => {
        const info = meta.topics.get(t);
        const now = info && info.errorCode === ErrorCode.NONE ? info.partitions.length : undefined;
        return now !== w.counts.get(t);
      });
      if (changed) {
        this.requestRejoin();
        return;
      }
    } catch {
      // Metadata unreachable now: look again on the next round.
    }
    if (this.assignedWith === w && !this.rejoinNeeded) this.startWatch();
  }

  // ------------------------------------------------------------------------------------ heartbeat

  private startHeartbeat(): void {
    this.stopHeartbeat();
    if (this.stopped) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), this.config.heartbeatIntervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async heartbeat(): Promise<void> {
    this.heartbeatTimer = undefined;
    if (this.stopped || this.rejoinNeeded) return;
    const generationId = this.generationId;
    try {
      const conn = await this.coordinators.connection(this.groupId, 'heartbeat', 'group', { signal: this.abort.signal });
      const res = await conn.request(
        Api.Heartbeat,
        { groupId: this.groupId, generationId, memberId: this.memberId, groupInstanceId: this.config.groupInstanceId },
        { signal: this.abort.signal, timeoutMs: Math.min(this.config.sessionTimeoutMs, this.config.requestTimeoutMs) },
      );
      if (this.stopped || generationId !== this.generationId || this.rejoinNeeded) return;
      if (needsRejoin(res.errorCode)) {
        this.requestRejoin(res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID);
        return;
      }
      if (res.errorCode === ErrorCode.FENCED_INSTANCE_ID) {
        this.fatal(new KafkaProtocolError(res.errorCode, `group ${this.groupId}: another member uses instance id ${this.config.groupInstanceId}`));
        return;
      }
      if (res.errorCode !== ErrorCode.NONE) {
        this.counters.errors++;
        this.coordinators.forgetOn(res.errorCode, this.groupId);
      } else {
        this.lastHeartbeatOk = performance.now();
      }
    } catch {
      if (this.stopped) return;
      // A lost connection or a slow coordinator: try again on the next beat; the session timeout decides.
      this.counters.errors++;
      this.coordinators.forget(this.groupId);
    }
    if (!this.rejoinNeeded) this.startHeartbeat();
  }

  // -------------------------------------------------------------------------------------- offsets

  /** Commits offsets (the next offset to read) under the current generation. */
  async commit(offsets: Map<string, Map<number, bigint>>, opts: CallOptions = {}): Promise<void> {
    if (!offsets.size) return;
    const ids = await topicIds(this.cluster, [...offsets.keys()], opts);
    const res = await groupCall(
      this.cluster,
      this.coordinators,
      this.groupId,
      Api.OffsetCommit,
      offsetCommitRequest({ groupId: this.groupId, memberId: this.memberId, groupInstanceId: this.config.groupInstanceId, epoch: this.generationId }, offsets, ids),
      firstPartitionError,
      opts,
    );
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === ErrorCode.NONE) continue;
        if (needsRejoin(p.errorCode)) this.requestRejoin(p.errorCode === ErrorCode.UNKNOWN_MEMBER_ID);
        throw new KafkaProtocolError(p.errorCode, `OffsetCommit ${ids.name(t)}/${p.partitionIndex} (generation ${this.generationId})`);
      }
    }
  }

  /** Committed offsets (-1n where none) of the given partitions. */
  committed(tps: TopicPartition[], opts: CallOptions = {}): Promise<Map<string, Map<number, bigint>>> {
    return fetchCommitted(this.cluster, this.coordinators, this.groupId, tps, opts);
  }
}
