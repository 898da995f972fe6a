// Reader: the single-cluster consumer, after kafka-go's Reader. Without a group it reads one partition
// from an offset the caller controls; with a group it joins, reads what the group assigns and commits.
// Messages arrive through a bounded queue filled by the fetcher (one loop per leader broker).
import { ErrorCode } from '../../protocol/messages/index.ts';
import { ClosedError, KafkaError, KafkaProtocolError } from '../../protocol/errors.ts';
import { Cluster, type CallOptions } from '../cluster.ts';
import { Coordinators } from '../coordinator.ts';
import { FirstOffset, LastOffset, resolveConfig, type ReaderConfig, type ResolvedReaderConfig } from './config.ts';
import { Fetcher, type PartitionState } from './fetcher.ts';
import type { TopicPartition } from './group/assignors.ts';
import { ClassicMembership } from './group/classic-membership.ts';
import { ConsumerProtocolMembership } from './group/consumer-protocol-membership.ts';
import type { GroupMembership, MembershipHooks } from './group/group-membership.ts';
import { ASSIGNMENT, messageBytes, type Message, type StampedMessage } from './message.ts';
import { LATEST, listOffsets } from './offsets.ts';
import { MessageQueue, type TakeOptions } from './queue.ts';
import { ReaderCounters, type ReaderStats } from './stats.ts';
import type { GroupMetadata } from '../writer/transaction.ts';

export interface PartitionLag {
  /** The group's committed offset; -1n when none. */
  committed: bigint;
  /** Next offset this reader hands out; -1n when not known yet. */
  position: bigint;
  highWatermark: bigint;
  lastStableOffset: bigint;
  /** From position (or, before the first message, the committed offset) to the end of the readable log. */
  lag: bigint;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class Reader implements AsyncIterable<Message> {
  private readonly cfg: ResolvedReaderConfig;
  private readonly cluster: Cluster;
  private readonly coordinators: Coordinators;
  private readonly queue: MessageQueue;
  private readonly fetcher: Fetcher;
  private readonly counters = new ReaderCounters();
  private readonly membership: GroupMembership | null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private started = false;
  // Partition mode, as kafka-go: the next offset to read and the lag after the last message read.
  private current: bigint;
  private lagValue = 0n;
  // Group mode: each partition gets a fresh token when assigned; a message carries the token of the
  // assignment it was read in, and a commit for a token that is no longer current is fenced.
  private readonly assignToken = new Map<string, number>();
  private nextToken = 1;
  private readonly pending = new Map<string, Map<number, bigint>>();
  private commitTimer: ReturnType<typeof setInterval> | undefined;
  private commitChain: Promise<void> = Promise.resolve();

  constructor(config: ReaderConfig) {
    this.cfg = resolveConfig(config);
    this.cluster = new Cluster(this.cfg.cluster, {
      onDial: (_remote, ms, ok) => {
        this.counters.dials++;
        this.counters.dialTime.observe(ms);
        if (!ok) this.counters.errors++;
      },
    });
    this.coordinators = new Coordinators(this.cluster);
    this.queue = new MessageQueue(this.cfg.queueCapacity, this.cfg.queueBytes);
    this.fetcher = new Fetcher(this.cluster, this.queue, this.cfg, this.counters);
    this.current = this.cfg.startOffset;
    if (this.cfg.groupId) {
      const hooks: MembershipHooks = {
        revoke: (tps) => this.revoke(tps),
        assign: (tps) => this.assign(tps),
        fatal: (err) => this.queue.pushError(err, '', -1),
      };
      this.membership =
        this.cfg.groupProtocol === 'consumer'
          ? new ConsumerProtocolMembership(this.cluster, this.coordinators, this.cfg, this.counters, hooks)
          : new ClassicMembership(this.cluster, this.coordinators, this.cfg, this.counters, hooks);
      this.membership.start();
      if (this.cfg.commitIntervalMs > 0) {
        this.commitTimer = setInterval(() => void this.flush().catch(() => {}), this.cfg.commitIntervalMs);
      }
    } else {
      this.membership = null;
    }
  }

  // ----------------------------------------------------------------------------------------- reading

  /** The next message; in group mode also commits it (synchronously, or on commitIntervalMs). */
  async readMessage(opts: TakeOptions = {}): Promise<Message> {
    const m = await this.fetchMessage(opts);
    if (this.membership) await this.commitMessages(m);
    return m;
  }

  /** The next message, without committing it. */
  async fetchMessage(opts: TakeOptions = {}): Promise<Message> {
    this.checkOpen();
    this.startPartitionReader();
    const { msg: m, tag } = await this.queue.takeTagged(opts);
    this.counters.messages++;
    this.counters.bytes += messageBytes(m);
    const st = tag as PartitionState;
    st.consumed = m.offset + 1n;
    if (this.membership) {
      (m as StampedMessage)[ASSIGNMENT] = st.token;
    } else {
      this.current = m.offset + 1n;
      this.lagValue = m.highWaterMark - this.current;
      if (this.lagValue < 0n) this.lagValue = 0n;
    }
    return m;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      try {
        yield await this.readMessage();
      } catch (e) {
        if (e instanceof ClosedError) return;
        throw e;
      }
    }
  }

  private startPartitionReader(): void {
    if (this.started || this.membership) return;
    this.started = true;
    this.fetcher.add(this.cfg.topic, this.cfg.partition, this.current);
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('reader closed');
  }

  // ----------------------------------------------------------------------------- partition position

  /** The offset of the next message readMessage returns; -1n in group mode. */
  offset(): bigint {
    return this.membership ? -1n : this.current;
  }

  /** High watermark minus offset() as of the last message read; -1n in group mode. */
  lag(): bigint {
    return this.membership ? -1n : this.lagValue;
  }

  /** Asks the partition leader for the log end and returns its distance from offset() (0 when offset() is negative). */
  async readLag(opts: CallOptions = {}): Promise<bigint> {
    this.checkOpen();
    if (this.membership) throw new KafkaError('readLag is for partition readers; use groupLag with a group', false);
    const end = (await listOffsets(this.cluster, this.cfg.topic, [this.cfg.partition], LATEST, this.cfg.isolationLevel, opts)).get(this.cfg.partition) ?? -1n;
    if (this.current < 0n) return 0n;
    const lag = end - this.current;
    this.lagValue = lag > 0n ? lag : 0n;
    return this.lagValue;
  }

  /** Reads on from `offset` (an offset, FirstOffset or LastOffset); messages fetched ahead are dropped. */
  setOffset(offset: bigint): void {
    this.checkOpen();
    if (this.membership) throw new KafkaError('setOffset is for partition readers; a group reader starts at committed offsets', false);
    if (offset < 0n && offset !== FirstOffset && offset !== LastOffset) throw new KafkaError(`offset ${offset} is neither an offset nor FirstOffset/LastOffset`, false);
    this.current = offset;
    if (this.started) this.fetcher.seek(this.cfg.topic, this.cfg.partition, offset);
  }

  /** Reads on from the first message at or after `time` (or the log end when there is none). */
  async setOffsetAt(time: Date, opts: CallOptions = {}): Promise<void> {
    this.checkOpen();
    if (this.membership) throw new KafkaError('setOffsetAt is for partition readers', false);
    const { topic, partition, isolationLevel } = this.cfg;
    let o = (await listOffsets(this.cluster, topic, [partition], BigInt(time.getTime()), isolationLevel, opts)).get(partition) ?? -1n;
    if (o < 0n) o = (await listOffsets(this.cluster, topic, [partition], LATEST, isolationLevel, opts)).get(partition) ?? LastOffset;
    this.setOffset(o);
  }

  // -------------------------------------------------------------------------------------- group mode

  /** Commits, per partition, the highest offset given + 1; fenced by the partition's assignment. */
  async commitMessages(...messages: Message[]): Promise<void> {
    this.checkOpen();
    const g = this.membership;
    if (!g) throw new KafkaError('commitMessages needs a group (groupId)', false);
    const offsets = new Map<string, Map<number, bigint>>();
    const fenced: string[] = [];
    for (const m of messages) {
      const token = (m as Partial<StampedMessage>)[ASSIGNMENT];
      if (token === undefined || token < 0 || this.assignToken.get(tpKey(m.topic, m.partition)) !== token) {
        fenced.push(`${m.topic}/${m.partition}@${m.offset}`);
        continue;
      }
      const byP = offsets.get(m.topic) ?? new Map<number, bigint>();
      const next = m.offset + 1n;
      if ((byP.get(m.partition) ?? -1n) < next) byP.set(m.partition, next);
      offsets.set(m.topic, byP);
    }
    if (this.cfg.commitIntervalMs > 0) {
      for (const [t, ps] of offsets) {
        const byP = this.pending.get(t) ?? new Map<number, bigint>();
        for (const [p, o] of ps) if ((byP.get(p) ?? -1n) < o) byP.set(p, o);
        this.pending.set(t, byP);
      }
    } else {
      await this.serialCommit(offsets);
    }
    if (fenced.length) {
      throw new KafkaProtocolError(ErrorCode.ILLEGAL_GENERATION, `not committed: ${fenced.join(', ')} were read under an assignment this member no longer has`);
    }
  }

  // Commits go out one at a time, so an older offset never lands after a newer one.
  private serialCommit(offsets: Map<string, Map<number, bigint>>, opts: CallOptions = {}): Promise<void> {
    const run = this.commitChain.then(() => this.membership!.commit(offsets, opts));
    this.commitChain = run.catch(() => {});
    return run;
  }

  /** Sends the offsets collected for commitIntervalMs (only those of `only`, when given). */
  private async flush(only?: Set<string>): Promise<void> {
    if (!this.pending.size) return;
    const out = new Map<string, Map<number, bigint>>();
    for (const [t, ps] of this.pending) {
      for (const [p, o] of ps) {
        if (only && !only.has(tpKey(t, p))) continue;
        const m = out.get(t) ?? new Map<number, bigint>();
        m.set(p, o);
        out.set(t, m);
        ps.delete(p);
      }
      if (!ps.size) this.pending.delete(t);
    }
    if (out.size) await this.serialCommit(out);
  }

  private async revoke(tps: TopicPartition[]): Promise<void> {
    const keys = new Set(tps.map((tp) => tpKey(tp.topic, tp.partition)));
    await this.flush(keys).catch(() => {}); // a failed commit here means redelivery, which at-least-once allows
    for (const tp of tps) {
      this.assignToken.delete(tpKey(tp.topic, tp.partition));
      this.fetcher.remove(tp.topic, tp.partition);
    }
  }

  private async assign(tps: TopicPartition[]): Promise<void> {
    if (!tps.length) return;
    const committed = await this.membership!.committed(tps);
    for (const tp of tps) {
      const c = committed.get(tp.topic)?.get(tp.partition) ?? -1n;
      const token = this.nextToken++;
      this.assignToken.set(tpKey(tp.topic, tp.partition), token);
      this.fetcher.add(tp.topic, tp.partition, c >= 0n ? c : this.cfg.startOffset).token = token;
    }
  }

  /**
   * Who this member is in its group now, for a transactional Writer's sendOffsets: the coordinator
   * refuses offsets from a member of an older generation, so a zombie's transaction cannot commit them.
   */
  groupMetadata(): GroupMetadata {
    const g = this.membership;
    if (!g) throw new KafkaError('groupMetadata needs a group (groupId)', false);
    return { groupId: g.groupId, generationId: g.generationId, memberId: g.memberId, groupInstanceId: this.cfg.groupInstanceId };
  }

  /** The partitions assigned to this member now. */
  assignment(): TopicPartition[] {
    return this.membership ? [...this.membership.assigned.values()].map((tp) => ({ ...tp })) : [{ topic: this.cfg.topic, partition: this.cfg.partition }];
  }

  /** Per assigned partition: committed offset, position, high watermark, last stable offset and lag. */
  async groupLag(opts: CallOptions = {}): Promise<Map<string, Map<number, PartitionLag>>> {
    this.checkOpen();
    const g = this.membership;
    if (!g) throw new KafkaError('groupLag needs a group (groupId)', false);
    const tps = [...g.assigned.values()];
    const out = new Map<string, Map<number, PartitionLag>>();
    if (!tps.length) return out;
    const committed = await g.committed(tps, opts);
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    for (const [topic, parts] of byTopic) {
      const [hw, lso] = await Promise.all([
        listOffsets(this.cluster, topic, parts, LATEST, 0, opts),
        listOffsets(this.cluster, topic, parts, LATEST, 1, opts),
      ]);
      const m = new Map<number, PartitionLag>();
      for (const p of parts) {
        const c = committed.get(topic)?.get(p) ?? -1n;
        const st = this.fetcher.get(topic, p);
        const position = st && st.consumed >= 0n ? st.consumed : c;
        const high = hw.get(p) ?? -1n;
        const stable = lso.get(p) ?? -1n;
        const end = this.cfg.isolationLevel === 1 ? stable : high;
        const lag = position >= 0n ? (end - position > 0n ? end - position : 0n) : -1n;
        m.set(p, { committed: c, position, highWatermark: high, lastStableOffset: stable, lag });
      }
      out.set(topic, m);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------- misc

  stats(): ReaderStats {
    return {
      ...this.counters.take(),
      offset: this.offset(),
      lag: this.lag(),
      minBytes: this.cfg.minBytes,
      maxBytes: this.cfg.maxBytes,
      maxWait: this.cfg.maxWaitMs,
      queueLength: this.queue.length,
      queueCapacity: this.cfg.queueCapacity,
      clientId: this.cfg.clientId,
      topic: this.cfg.topic || this.cfg.groupTopics.join(','),
      partition: this.membership ? -1 : this.cfg.partition,
    };
  }

  /** Leaves the group (commits pending offsets first), stops fetching, closes sockets and timers. */
  close(): Promise<void> {
    this.closing ??= this.shutdown(true);
    return this.closing;
  }

  /**
   * @internal Test hook: drops everything at once, without commits or LeaveGroup, as a crashed
   * process would; the group notices only when the session times out.
   */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.queue.close(new ClosedError('reader closed'));
    this.fetcher.stop();
    void this.membership?.stop(false);
    this.cluster.close();
  }

  private async shutdown(leave: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.queue.close(new ClosedError('reader closed'));
    this.fetcher.stop();
    const sessions = this.fetcher.closeSessions(Math.min(1_000, this.cfg.requestTimeoutMs));
    try {
      if (this.membership) {
        await this.flush().catch(() => {});
        await this.membership.stop(leave);
      }
    } finally {
      await sessions;
      this.cluster.close();
    }
  }
}


