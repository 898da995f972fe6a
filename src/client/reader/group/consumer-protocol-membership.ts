// Consumer group membership (KIP-848): the coordinator computes assignments itself, so there is no
// JoinGroup/SyncGroup round and no leader. One loop sends ConsumerGroupHeartbeat, reconciles what the
// response assigns (revoke first, then assign) and reports what it owns on the next beat, which is
// how the coordinator learns that a revoked partition is free for its next owner. Heartbeats and
// reconciliation share that loop so the owned set reported never runs ahead of the fetcher.
import { Api, ErrorCode } from '../../../protocol/messages/index.ts';
import { ClosedError, KafkaError, KafkaProtocolError } from '../../../protocol/errors.ts';
import { uuidToString } from '../../../protocol/wire/uuid.ts';
import type { CallOptions, Cluster } from '../../cluster.ts';
import type { Coordinators } from '../../coordinator.ts';
import type { ResolvedReaderConfig } from '../config.ts';
import type { ReaderCounters } from '../stats.ts';
import { fetchCommitted, firstPartitionError, offsetCommitRequest } from './committed-offsets.ts';
import { groupCall } from '../../group-call.ts';
import { topicIds } from '../../topic-ids.ts';
import type { TopicPartition } from './assignors.ts';
import { MembershipLoop, tpKey, type GroupMembership, type MembershipHooks } from './group-membership.ts';


const LEAVE_EPOCH = -1;
// A static member says it will be back: the coordinator keeps its partitions for the session timeout.
const STATIC_LEAVE_EPOCH = -2;

/** The member id KIP-1082 asks clients to generate: a random Kafka Uuid in its string form. */
function randomMemberId(): string {
  return uuidToString(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}

type Assignment = { topicId: string; partitions: number[] }[];

export class ConsumerProtocolMembership extends MembershipLoop implements GroupMembership {
  memberId = randomMemberId();
  memberEpoch = 0;
  /** The server-side assignor; null leaves the choice to the broker (group.consumer.assignors). */
  protocol: string | null = null;
  lastHeartbeatOk = -1;
  /** Current assignment: only partitions that the reader fetches. */
  readonly assigned = new Map<string, TopicPartition>();
  private heartbeatIntervalMs: number;
  // The coordinator's latest assignment, kept until every topic id in it resolves to a name.
  private target: Assignment | null = null;
  private reconciled = true;
  // The owned set (and, on join, the subscription) goes out only when it changed.
  private sendOwned = true;
  private joinedOnce = false;
  private readonly idToName = new Map<string, string>();
  private readonly nameToId = new Map<string, string>();

  constructor(
    private readonly cluster: Cluster,
    private readonly coordinators: Coordinators,
    config: ResolvedReaderConfig,
    counters: ReaderCounters,
    hooks: MembershipHooks,
  ) {
    super(config, counters, hooks);
    this.heartbeatIntervalMs = config.heartbeatIntervalMs;
  }

  /** The member epoch plays the part of the classic generation for commits. */
  get generationId(): number {
    return this.memberEpoch;
  }

  /** True while the member is in the group and owns what the coordinator assigned. */
  get stable(): boolean {
    return this.memberEpoch > 0 && this.reconciled && !this.sendOwned;
  }

  /** Gives up every partition and joins again with epoch 0 (the member id stays: KIP-1082). */
  requestRejoin(_resetMemberId = false): void {
    this.memberEpoch = 0;
    this.wakeLoop();
  }

  // Closing the heartbeat connection ends a beat stuck on it; the loop's next step releases everything.
  sessionLost(): void {
    this.coordinators.reset(this.groupId, ['heartbeat']);
    this.requestRejoin();
  }

  /** Tells the coordinator (epoch -1, or -2 for a static member). */
  protected override async leave(): Promise<void> {
    if (this.memberEpoch <= 0) return;
    try {
      const conn = await this.coordinators.connection(this.groupId, 'heartbeat', 'group', { timeoutMs: 5_000 });
      await conn.request(
        Api.ConsumerGroupHeartbeat,
        {
          groupId: this.groupId,
          memberId: this.memberId,
          memberEpoch: this.config.groupInstanceId ? STATIC_LEAVE_EPOCH : LEAVE_EPOCH,
          instanceId: this.config.groupInstanceId,
          rackId: null,
          rebalanceTimeoutMs: -1,
          subscribedTopicNames: null,
          subscribedTopicRegex: null,
          serverAssignor: null,
          topicPartitions: null,
        },
        { timeoutMs: 5_000 },
      );
    } catch {
      // The coordinator's session timeout removes us anyway.
    }
  }

  // Heartbeat and reconciliation share one step, so the owned set reported never runs ahead of the fetcher.
  protected override async step(): Promise<number> {
    if (this.memberEpoch === 0 && this.assigned.size) await this.releaseAll();
    await this.heartbeat();
    if (!this.reconciled) await this.reconcile();
    // An acknowledgement is what lets the coordinator move revoked partitions on: send it now.
    return this.sendOwned || this.memberEpoch === 0 ? 0 : this.heartbeatIntervalMs;
  }

  /** Partitions lost to fencing: another member may own them already, so their commits will be refused. */
  private async releaseAll(): Promise<void> {
    const all = [...this.assigned.values()];
    this.assigned.clear();
    this.target = null;
    this.reconciled = true;
    this.sendOwned = true;
    if (all.length) await this.hooks.revoke(all);
  }

  private async heartbeat(): Promise<void> {
    const signal = this.abort.signal;
    const joining = this.memberEpoch === 0;
    const owned = this.ownedByTopicId();
    let conn;
    try {
      conn = await this.coordinators.connection(this.groupId, 'heartbeat', 'group', { signal });
    } catch (e) {
      this.coordinators.forget(this.groupId);
      throw e;
    }
    // v0 brokers (3.7) assign the member id themselves on the first join.
    if (!this.joinedOnce && conn.version(Api.ConsumerGroupHeartbeat) === 0) this.memberId = '';
    let res;
    try {
      res = await conn.request(
        Api.ConsumerGroupHeartbeat,
        {
          groupId: this.groupId,
          memberId: this.memberId,
          memberEpoch: this.memberEpoch,
          instanceId: this.config.groupInstanceId,
          rackId: null,
          // The coordinator wants the full member description on join and deltas after.
          rebalanceTimeoutMs: joining ? this.config.rebalanceTimeoutMs : -1,
          subscribedTopicNames: joining ? this.config.groupTopics : null,
          subscribedTopicRegex: null,
          serverAssignor: joining ? this.protocol : null,
          topicPartitions: joining ? [] : this.sendOwned ? owned : null,
        },
        { signal, timeoutMs: this.config.requestTimeoutMs },
      );
    } catch (e) {
      if (!this.stopped) this.coordinators.forget(this.groupId);
      // A lost (or, by the watchdog, closed) connection or a timeout: retried after a backoff, the
      // coordinator's session timeout decides.
      throw e instanceof KafkaError && !e.retriable && !(e instanceof ClosedError) ? e : new KafkaError(`ConsumerGroupHeartbeat ${this.groupId}: ${(e as Error).message}`, true);
    }
    if (this.stopped) return;
    const code = res.errorCode;
    if (code === ErrorCode.FENCED_MEMBER_EPOCH || code === ErrorCode.UNKNOWN_MEMBER_ID) {
      this.memberEpoch = 0;
      await this.releaseAll();
      // Retriable: the loop rejoins after a backoff, so a coordinator that keeps fencing is not hammered.
      throw new KafkaError(`ConsumerGroupHeartbeat ${this.groupId}: ${new KafkaProtocolError(code).type}, rejoining`, true);
    }
    if (code !== ErrorCode.NONE) {
      // A moved coordinator is found again on the retry that the (retriable) error brings.
      this.coordinators.forgetOn(code, this.groupId);
      throw new KafkaProtocolError(code, `ConsumerGroupHeartbeat ${this.groupId}: ${res.errorMessage ?? ''}`);
    }
    if (res.memberId) this.memberId = res.memberId;
    this.joinedOnce = true;
    this.lastHeartbeatOk = performance.now();
    // What this beat carried is acknowledged; the next one carries the owned set only when it changes.
    this.sendOwned = false;
    this.memberEpoch = res.memberEpoch;
    if (res.heartbeatIntervalMs > 0) this.heartbeatIntervalMs = res.heartbeatIntervalMs;
    if (res.assignment) {
      this.target = res.assignment.topicPartitions.map((t) => ({ topicId: t.topicId, partitions: [...t.partitions] }));
      this.reconciled = false;
    }
  }

  private ownedByTopicId(): { topicId: string; partitions: number[] }[] {
    const by = new Map<string, number[]>();
    for (const tp of this.assigned.values()) {
      const id = this.nameToId.get(tp.topic);
      if (!id) continue;
      by.set(id, [...(by.get(id) ?? []), tp.partition]);
    }
    return [...by].map(([topicId, partitions]) => ({ topicId, partitions: partitions.sort((a, b) => a - b) }));
  }

  private async resolveTopicIds(ids: string[]): Promise<void> {
    if (ids.every((id) => this.idToName.has(id))) return;
    const meta = await this.cluster.refreshMetadata({ topics: this.config.groupTopics, signal: this.abort.signal });
    for (const t of meta.topics.values()) {
      if (!t.topicId || t.errorCode !== ErrorCode.NONE) continue;
      this.idToName.set(t.topicId, t.name);
      this.nameToId.set(t.name, t.topicId);
    }
  }

  private async reconcile(): Promise<void> {
    const target = this.target ?? [];
    await this.resolveTopicIds(target.map((t) => t.topicId));
    const next = new Map<string, TopicPartition>();
    let complete = true;
    for (const t of target) {
      const topic = this.idToName.get(t.topicId);
      if (!topic) {
        // Metadata that lags behind the coordinator: left for a later beat.
        complete = false;
        continue;
      }
      for (const partition of t.partitions) next.set(tpKey({ topic, partition }), { topic, partition });
    }
    const revoked = [...this.assigned].filter(([k]) => !next.has(k)).map(([, tp]) => tp);
    const added = [...next].filter(([k]) => !this.assigned.has(k)).map(([, tp]) => tp);
    if (revoked.length) {
      for (const tp of revoked) this.assigned.delete(tpKey(tp));
      this.sendOwned = true;
      // The reader commits what it has of them before they go: the coordinator waits for our ack.
      await this.hooks.revoke(revoked);
    }
    if (added.length) {
      // On failure nothing was taken on: the loop retries the whole target after a backoff.
      await this.hooks.assign(added, this.memberEpoch);
      for (const tp of added) this.assigned.set(tpKey(tp), tp);
      this.sendOwned = true;
    }
    if (revoked.length || added.length) {
      this.counters.rebalances++;
      const tel = this.cluster.telemetry.rebalance;
      if (tel.on) tel.emit({ group: this.groupId, generation: this.memberEpoch, memberId: this.memberId, protocol: this.protocol ?? 'consumer', assigned: [...this.assigned.values()], added, revoked });
    }
    this.reconciled = complete;
  }

  // -------------------------------------------------------------------------------------- offsets

  /** Commits offsets (the next offset to read) under the current member epoch (OffsetCommit v9+). */
  async commit(offsets: Map<string, Map<number, bigint>>, opts: CallOptions = {}): Promise<void> {
    if (!offsets.size) return;
    for (let attempt = 0; ; attempt++) {
      const epoch = this.memberEpoch;
      const code = await this.commitOnce(offsets, epoch, opts);
      if (code === ErrorCode.NONE) return;
      // A heartbeat answered while the commit was on its way: the reader's assignment tokens already
      // fenced messages of partitions we lost, so the same offsets under the new epoch are safe.
      if (code === ErrorCode.STALE_MEMBER_EPOCH && attempt < 2 && this.memberEpoch !== epoch && this.memberEpoch > 0) continue;
      if (code === ErrorCode.FENCED_MEMBER_EPOCH || code === ErrorCode.UNKNOWN_MEMBER_ID) this.requestRejoin();
      throw new KafkaProtocolError(code, `OffsetCommit ${this.groupId} (member epoch ${epoch})`);
    }
  }

  private async commitOnce(offsets: Map<string, Map<number, bigint>>, epoch: number, opts: CallOptions): Promise<number> {
    const ids = await topicIds(this.cluster, [...offsets.keys()], opts);
    const res = await groupCall(
      this.cluster,
      this.coordinators,
      this.groupId,
      Api.OffsetCommit,
      (version) => {
        if (version < 9) throw new KafkaError(`group ${this.groupId}: the consumer group protocol needs OffsetCommit v9, which the broker lacks`, false);
        return offsetCommitRequest({ groupId: this.groupId, memberId: this.memberId, groupInstanceId: this.config.groupInstanceId, epoch }, offsets, ids);
      },
      firstPartitionError,
      opts,
    );
    return firstPartitionError(res);
  }

  /**
   * Committed offsets (-1n where none) of the given partitions. Asked without member id and epoch:
   * groupLag may run while a heartbeat bumps the epoch, and a read needs no fencing.
   */
  committed(tps: TopicPartition[], opts: CallOptions = {}): Promise<Map<string, Map<number, bigint>>> {
    return fetchCommitted(this.cluster, this.coordinators, this.groupId, tps, opts);
  }
}
