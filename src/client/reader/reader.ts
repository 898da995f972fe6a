// Reader: the single-cluster consumer, after kafka-go's Reader. Without a group it reads one partition
// from an offset the caller controls; with a group it joins, reads what the group assigns and commits.
// Messages arrive through a bounded queue filled by the fetcher (one loop per leader broker).
import { ErrorCode } from '../../protocol/messages/index.ts';
import { ClosedError, KafkaError, KafkaProtocolError } from '../../protocol/errors.ts';
import { Cluster, type CallOptions } from '../cluster.ts';
import { deadline, raceSignal } from '../deadline.ts';
import { Coordinators } from '../coordinator.ts';
import { FirstOffset, LastOffset, resolveConfig, type ReaderConfig, type ResolvedReaderConfig } from './config.ts';
import { Fetcher, type PartitionState } from './fetcher.ts';
import type { TopicPartition } from './group/assignors.ts';
import { ClassicMembership } from './group/classic-membership.ts';
import { ConsumerProtocolMembership } from './group/consumer-protocol-membership.ts';
import type { GroupMembership, MembershipHooks } from './group/group-membership.ts';
import { ASSIGNMENT, messageBytes, type Message, type StampedMessage } from './message.ts';
import { LATEST, listOffsets, offsetsAtTime } from './offsets.ts';
import { partitionKey as tpKey } from './partition-key.ts';
import { MessageQueue, type TakeOptions } from './queue.ts';
import { ReaderCounters, type ReaderStats } from './stats.ts';
import type { GroupMetadata } from '../writer/transaction.ts';
import { Watchdog, type ReaderHealth, type StallEvent } from './watchdog.ts';

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

/** A partition of this reader: its topic may be left out when the reader reads one topic. */
export interface PartitionRef {
  topic?: string;
  partition: number;
}

export class Reader implements AsyncIterable<Message> {
  private readonly cfg: ResolvedReaderConfig;
  private readonly cluster: Cluster;
  private readonly coordinators: Coordinators;
  private readonly queue: MessageQueue;
  private readonly fetcher: Fetcher;
  private readonly counters = new ReaderCounters();
  private readonly membership: GroupMembership | null;
  private readonly watchdog: Watchdog;
  private closed = false;
  private closing: Promise<void> | null = null;
  // Partition mode starts on the first read: the partition count is checked and a start time looked up.
  private starting: Promise<void> | null = null;
  private started = false;
  private seeks = 0;
  /** Paused partitions (keys): not fetched, their queued messages held until resume. */
  private readonly pausedKeys = new Set<string>();
  // Partition mode, as kafka-go: the next offset to read and the lag after the last message read.
  private current: bigint;
  private lagValue = 0n;
  // Group mode: each partition gets a fresh token when assigned; a message carries the token of the
  // assignment it was read in, and a commit for a token that is no longer current is fenced.
  private readonly assignToken = new Map<string, number>();
  private nextToken = 1;
  private readonly pending = new Map<string, Map<number, bigint>>();
  // Per partition, the offset this member last committed in the partition's current assignment: an
  // offset sent again after a failure must not land after (and below) one committed since.
  private readonly committedUpTo = new Map<string, bigint>();
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
    this.watchdog = new Watchdog(this.cfg, this.fetcher, this.queue, this.membership, () => this.counters.stalls++);
    this.watchdog.start();
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
    const { msg, tag } = await this.take(opts);
    return this.handOver(msg, tag);
  }

  /**
   * Up to `max` messages fetched already, without waiting: [] when none is queued (or before a partition
   * reader has started; fetchMessage starts it). Each is handed over as by fetchMessage (no commit); a
   * queued error is left for the next fetchMessage to throw.
   */
  fetchReady(max: number): Message[] {
    this.checkOpen();
    const out: Message[] = [];
    if (!this.started && !this.membership) return out;
    while (out.length < max) {
      const it = this.queue.takeReady();
      if (!it) break;
      out.push(this.handOver(it.msg, it.tag));
    }
    return out;
  }

  private handOver(m: Message, tag: unknown): Message {
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

  // One deadline for the read, the partition reader's start included.
  private async take(opts: TakeOptions): Promise<{ msg: Message; tag: unknown }> {
    if (this.started || this.membership) return this.queue.takeTagged(opts);
    if (opts.timeoutMs === undefined) {
      await raceSignal(this.startPartitionReader(), opts.signal, 'read aborted');
      return this.queue.takeTagged(opts);
    }
    const d = deadline(opts, 0, 'read');
    try {
      await raceSignal(this.startPartitionReader(), d.signal, 'read aborted');
      return await this.queue.takeTagged({ signal: opts.signal, timeoutMs: d.remaining() });
    } finally {
      d.dispose();
    }
  }

  /** Shared by every read that waits for it; a failure lets the next read try again. */
  private startPartitionReader(): Promise<void> {
    this.starting ??= this.preparePartition().catch((e: unknown) => {
      this.starting = null;
      throw e;
    });
    return this.starting;
  }

  private async preparePartition(): Promise<void> {
    const { topic, partition, startTime, isolationLevel } = this.cfg;
    if (!this.cfg.partitionGiven) {
      // A topic that does not exist yet is waited for by the fetcher, as before: only a known count is checked.
      const count = await this.cluster.topic(topic).then((t) => t.partitions.length, () => 1);
      if (count > 1) {
        throw new KafkaError(`topic ${topic} has ${count} partitions: set partition (0-${count - 1}) to read one, or groupId to read them all in a group`, false);
      }
    }
    const seeks = this.seeks;
    if (startTime && seeks === 0) {
      const o = (await offsetsAtTime(this.cluster, topic, [partition], startTime, isolationLevel)).get(partition);
      if (this.seeks === seeks && o !== undefined) this.current = o;
    }
    if (this.closed || this.started) return;
    this.started = true;
    this.fetcher.add(topic, partition, this.current);
    if (this.pausedKeys.has(tpKey(topic, partition))) this.fetcher.pause(topic, partition);
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

  /**
   * Reads on from `offset` (an offset, FirstOffset or LastOffset); what was fetched ahead of it is
   * dropped. In group mode, `at` names an assigned partition (its topic may be left out when the group
   * reads one topic); the position holds until the partition is revoked (a new owner starts at the
   * committed offset). Commits are not touched: the next message read is committed as usual.
   */
  setOffset(offset: bigint, at?: PartitionRef): void {
    this.checkOpen();
    if (offset < 0n && offset !== FirstOffset && offset !== LastOffset) throw new KafkaError(`offset ${offset} is neither an offset nor FirstOffset/LastOffset`, false);
    const { topic, partition } = this.partitionOf(at, 'setOffset');
    if (this.membership) {
      // What is read after the seek is committed as read, also below what was committed before it.
      this.committedUpTo.delete(tpKey(topic, partition));
      this.fetcher.seek(topic, partition, offset);
      return;
    }
    this.seeks++;
    this.current = offset;
    if (this.started) this.fetcher.seek(topic, partition, offset);
  }

  /** Reads on from the first message at or after `time` (or the log end when there is none); `topic`/`partition` as for setOffset. */
  async setOffsetAt(time: Date, opts: CallOptions & Partial<PartitionRef> = {}): Promise<void> {
    this.checkOpen();
    const ref = opts.partition === undefined ? undefined : { topic: opts.topic, partition: opts.partition };
    const { topic, partition } = this.partitionOf(ref, 'setOffsetAt');
    const o = (await offsetsAtTime(this.cluster, topic, [partition], time, this.cfg.isolationLevel, opts)).get(partition) ?? LastOffset;
    this.setOffset(o, { topic, partition });
  }

  /**
   * Stops fetching these partitions until resume; messages of them already fetched are held, not lost,
   * and delivered after resume in order. In group mode a revoked partition forgets its pause.
   */
  pause(partitions: PartitionRef[]): void {
    this.checkOpen();
    const tps = partitions.map((at) => this.partitionOf(at, 'pause'));
    for (const { topic, partition } of tps) {
      this.pausedKeys.add(tpKey(topic, partition));
      this.fetcher.pause(topic, partition);
      this.queue.hold(topic, partition);
    }
  }

  /** Fetches these partitions again, after the messages held while they were paused. */
  resume(partitions: PartitionRef[]): void {
    this.checkOpen();
    const tps = partitions.map((at) => this.partitionOf(at, 'resume'));
    for (const { topic, partition } of tps) {
      if (!this.pausedKeys.delete(tpKey(topic, partition))) continue;
      this.queue.release(topic, partition);
      this.fetcher.resume(topic, partition);
    }
  }

  /** The partitions paused now. */
  paused(): TopicPartition[] {
    return this.assignment().filter((tp) => this.pausedKeys.has(tpKey(tp.topic, tp.partition)));
  }

  /** The partition `at` names: this reader's own one without a group, else one assigned now (else an error). */
  private partitionOf(at: PartitionRef | undefined, what: string): TopicPartition {
    if (!this.membership) {
      const { topic, partition } = this.cfg;
      if (at && (at.partition !== partition || (at.topic !== undefined && at.topic !== topic))) {
        throw new KafkaError(`${what}: this reader reads ${topic}/${partition} only, not ${at.topic ?? topic}/${at.partition}`, false);
      }
      return { topic, partition };
    }
    if (!at) throw new KafkaError(`${what} in a group needs the partition: ${what}(…, { topic, partition }) for one of assignment()`, false);
    const topics = this.cfg.groupTopics;
    if (at.topic === undefined && topics.length > 1) throw new KafkaError(`${what}: name the topic, this group reads ${topics.join(', ')}`, false);
    const topic = at.topic ?? topics[0];
    if (!this.assignToken.has(tpKey(topic, at.partition))) throw new KafkaError(`${what}: ${topic}/${at.partition} is not assigned to this member`, false);
    return { topic, partition: at.partition };
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
      for (const [t, ps] of offsets) for (const [p, o] of ps) this.addPending(t, p, o);
    } else if (offsets.size) {
      await this.flush(undefined, offsets);
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

  private addPending(topic: string, partition: number, offset: bigint): void {
    const byP = this.pending.get(topic) ?? new Map<number, bigint>();
    if ((byP.get(partition) ?? -1n) < offset) byP.set(partition, offset);
    this.pending.set(topic, byP);
  }

  /**
   * Commits what is pending (only the partitions of `only`, when given) together with `own`, the
   * offsets of a synchronous commitMessages. Offsets whose commit fails go back to pending while their
   * partition keeps the assignment they were read in, and go out with the next commit (the next
   * interval, the next synchronous commit, close): a commit refused during a rebalance is not lost when
   * the partition then goes quiet. A pending offset at or below one committed since is dropped.
   */
  private async flush(only?: Set<string>, own?: Map<string, Map<number, bigint>>): Promise<void> {
    const out = new Map<string, Map<number, bigint>>();
    const tokens = new Map<string, number | undefined>();
    const add = (t: string, p: number, o: bigint) => {
      const m = out.get(t) ?? new Map<number, bigint>();
      if ((m.get(p) ?? -1n) < o) m.set(p, o);
      out.set(t, m);
      tokens.set(tpKey(t, p), this.assignToken.get(tpKey(t, p)));
    };
    for (const [t, ps] of this.pending) {
      for (const [p, o] of ps) {
        const key = tpKey(t, p);
        if (only && !only.has(key)) continue;
        ps.delete(p);
        if (o > (this.committedUpTo.get(key) ?? -1n)) add(t, p, o);
      }
      if (!ps.size) this.pending.delete(t);
    }
    if (own) for (const [t, ps] of own) for (const [p, o] of ps) add(t, p, o);
    if (!out.size) return;
    const current = (t: string, p: number) => {
      const token = tokens.get(tpKey(t, p));
      return token !== undefined && this.assignToken.get(tpKey(t, p)) === token;
    };
    try {
      await this.serialCommit(out);
    } catch (e) {
      for (const [t, ps] of out) for (const [p, o] of ps) if (current(t, p)) this.addPending(t, p, o);
      throw e;
    }
    for (const [t, ps] of out) for (const [p, o] of ps) if (current(t, p)) this.committedUpTo.set(tpKey(t, p), o);
  }

  private async revoke(tps: TopicPartition[]): Promise<void> {
    const keys = new Set(tps.map((tp) => tpKey(tp.topic, tp.partition)));
    await this.flush(keys).catch(() => {}); // a failed commit here means redelivery, which at-least-once allows
    for (const tp of tps) {
      this.pending.get(tp.topic)?.delete(tp.partition);
      if (this.pending.get(tp.topic)?.size === 0) this.pending.delete(tp.topic);
      this.committedUpTo.delete(tpKey(tp.topic, tp.partition));
      this.assignToken.delete(tpKey(tp.topic, tp.partition));
      this.pausedKeys.delete(tpKey(tp.topic, tp.partition));
      this.fetcher.remove(tp.topic, tp.partition);
    }
  }

  private async assign(tps: TopicPartition[]): Promise<void> {
    if (!tps.length) return;
    const committed = await this.membership!.committed(tps);
    const fresh = await this.startOffsets(tps.filter((tp) => (committed.get(tp.topic)?.get(tp.partition) ?? -1n) < 0n));
    for (const tp of tps) {
      const c = committed.get(tp.topic)?.get(tp.partition) ?? -1n;
      const token = this.nextToken++;
      this.committedUpTo.delete(tpKey(tp.topic, tp.partition));
      this.assignToken.set(tpKey(tp.topic, tp.partition), token);
      this.fetcher.add(tp.topic, tp.partition, c >= 0n ? c : (fresh.get(tpKey(tp.topic, tp.partition)) ?? this.cfg.startOffset)).token = token;
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

  /** Where partitions without a committed offset start, when startOffset is a time. */
  private async startOffsets(tps: TopicPartition[]): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    const time = this.cfg.startTime;
    if (!time || !tps.length) return out;
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    for (const [topic, parts] of byTopic) {
      for (const [p, o] of await offsetsAtTime(this.cluster, topic, parts, time, this.cfg.isolationLevel)) out.set(tpKey(topic, p), o);
    }
    return out;
  }

  /**
   * The partitions this reader reads now: without a group its one partition; in a group, those the
   * coordinator assigned to this member and the reader has started (committed offset looked up), in
   * no particular order. It changes with every rebalance; setOffset and pause take these partitions.
   */
  assignment(): TopicPartition[] {
    if (!this.membership) return [{ topic: this.cfg.topic, partition: this.cfg.partition }];
    return [...this.membership.assigned.values()].filter((tp) => this.assignToken.has(tpKey(tp.topic, tp.partition))).map((tp) => ({ ...tp }));
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

  /**
   * Per partition being read: position, high watermark, leader, since when it last made progress and
   * last had a fetch answered; in a group, since when the coordinator last acknowledged a heartbeat;
   * and the stalls the liveness watchdog healed (see stallWindowMs).
   */
  health(): ReaderHealth {
    return this.watchdog.health();
  }

  /** Calls listener each time the watchdog finds and heals a stall; returns the function that unsubscribes. */
  onStall(listener: (e: StallEvent) => void): () => void {
    return this.watchdog.subscribe(listener);
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
    if (!this.stopLocally()) return;
    void this.membership?.stop(false);
    this.cluster.close();
  }

  /** Stops what runs in this process (timers, watchdog, queue, fetching); false when already closed. */
  private stopLocally(): boolean {
    if (this.closed) return false;
    this.closed = true;
    if (this.commitTimer) clearInterval(this.commitTimer);
    this.watchdog.stop();
    this.queue.close(new ClosedError('reader closed'));
    this.fetcher.stop();
    return true;
  }

  private async shutdown(leave: boolean): Promise<void> {
    if (!this.stopLocally()) return;
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


