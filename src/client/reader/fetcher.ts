// The fetch side of a Reader: one loop per partition leader, each on the broker's 'fetch' connection so
// that its long-poll never delays another call. A loop waits for room in the bounded queue before it
// asks for more. Leader moves and stale metadata send the partition back to `reconcile`, which
// refreshes metadata and hands it to its new leader's loop; a fatal partition error goes to the caller
// through the queue and stops only that partition.
import { Api, ErrorCode, type Encodable, type FetchRequestFetchPartition, type FetchResponse, type FetchResponsePartitionData } from '../../protocol/messages/index.ts';
import { ZERO_UUID } from '../../protocol/wire/index.ts';
import { AuthenticationError, KafkaError, KafkaProtocolError, TimeoutError } from '../../protocol/errors.ts';
import type { Cluster } from '../cluster.ts';
import { backoff } from '../retry.ts';
import { deadline } from '../deadline.ts';
import { FetchSession, isSessionError, type WantedPartition } from './fetch-session.ts';
import { FirstOffset, LastOffset, type ResolvedReaderConfig } from './config.ts';
import { AbortFilter, ASSIGNMENT, batchSlices, decodeSlice, nextOffsetAfter, type StampedMessage } from './message.ts';
import { EARLIEST, LATEST, listOffsets } from './offsets.ts';
import type { MessageQueue } from './queue.ts';
import type { ReaderCounters } from './stats.ts';

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to fetch; FirstOffset or LastOffset until resolved against the log. */
  position: bigint;
  /** Next offset the caller will be given (-1n until known). */
  consumed: bigint;
  /** Bumped by every seek and by removal: what a fetch in flight brings for an older epoch is dropped. */
  epoch: number;
  /** Leader's node id; -1 while it is being looked up. */
  leader: number;
  /** The replica the leader pointed this reader to (KIP-392, same rack); -1: fetch from the leader. */
  readReplica: number;
  leaderEpoch: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  /** A fatal error was delivered; nothing more is fetched until a seek. */
  failed: boolean;
  removed: boolean;
  /** Not fetched until resumed; what is queued of it is held by the queue meanwhile. */
  paused: boolean;
  /** performance.now() of the last fetch answer for it (of its adding, before one): the watchdog's clock. */
  answeredAt: number;
  /** The reader's mark of the assignment this state belongs to (commit fencing). */
  token: number;
}

const OFFSET_OUT_OF_RANGE = 1;

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** The node a partition is fetched from: its preferred read replica, else its leader. */
const source = (p: PartitionState) => (p.readReplica >= 0 ? p.readReplica : p.leader);

/** A fetch sent to a broker: its response and, per partition, the epoch and offset it asked with. */
interface SentFetch {
  res: Promise<FetchResponse>;
  version: number;
  snapshot: Map<string, { p: PartitionState; epoch: number; offset: bigint }>;
  byId: Map<string, string>;
  sentAt: number;
}

export class Fetcher {
  private readonly parts = new Map<string, PartitionState>();
  private readonly loops = new Map<number, object>();
  /** KIP-227 session per broker node: outlives a loop, so a loop restarted for the node goes on incrementally. */
  private readonly sessions = new Map<number, FetchSession>();
  private readonly abort = new AbortController();
  private reconcileTimer: ReturnType<typeof setTimeout> | undefined;
  private reconciling = false;
  private reconcileAgain = false;
  private reconcileFailures = 0;
  private stopped = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly queue: MessageQueue,
    private readonly config: ResolvedReaderConfig,
    private readonly counters: ReaderCounters,
  ) {}

  get(topic: string, partition: number): PartitionState | undefined {
    return this.parts.get(key(topic, partition));
  }

  all(): PartitionState[] {
    return [...this.parts.values()];
  }

  /** Starts fetching a partition from `position` (an offset, FirstOffset or LastOffset). */
  add(topic: string, partition: number, position: bigint): PartitionState {
    const old = this.get(topic, partition);
    if (old) {
      this.seek(topic, partition, position);
      return old;
    }
    const p: PartitionState = {
      topic,
      partition,
      position,
      consumed: position >= 0n ? position : -1n,
      epoch: 0,
      leader: -1,
      readReplica: -1,
      leaderEpoch: -1,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      failed: false,
      removed: false,
      paused: false,
      answeredAt: performance.now(),
      token: 0,
    };
    this.parts.set(key(topic, partition), p);
    this.scheduleReconcile(0);
    return p;
  }

  /** Stops fetching a partition and drops what is queued of it. */
  remove(topic: string, partition: number): void {
    const p = this.get(topic, partition);
    if (!p) return;
    p.removed = true;
    p.epoch++;
    this.parts.delete(key(topic, partition));
    this.queue.drop((t, n) => t === topic && n === partition);
  }

  /** Moves a partition's position; queued messages of it are dropped, a failed partition resumes. */
  seek(topic: string, partition: number, position: bigint): void {
    const p = this.get(topic, partition);
    if (!p) return;
    p.epoch++;
    p.position = position;
    p.consumed = position >= 0n ? position : -1n;
    this.queue.drop((t, n) => t === topic && n === partition);
    if (p.failed) {
      p.failed = false;
      p.leader = -1;
    }
    if (p.leader >= 0) this.ensureLoop(source(p));
    else this.scheduleReconcile(0);
  }

  /** Stops fetching a partition; a fetch in flight for it is dropped (its position stays where the queue ends). */
  pause(topic: string, partition: number): void {
    const p = this.get(topic, partition);
    if (!p || p.paused) return;
    p.paused = true;
    p.epoch++;
  }

  resume(topic: string, partition: number): void {
    const p = this.get(topic, partition);
    if (!p || !p.paused) return;
    p.paused = false;
    if (p.leader >= 0) this.ensureLoop(source(p));
    else this.scheduleReconcile(0);
  }

  // ------------------------------------------------------------------------- watchdog hooks (watchdog.ts)

  /** True while a fetch loop runs for the node the partition is fetched from (leader or read replica). */
  hasLoop(p: PartitionState): boolean {
    return this.loops.has(source(p));
  }

  /**
   * Fetches these partitions afresh: what is in flight for them is dropped, their leader is looked up
   * again, and the old leader's fetch connection is closed, so a loop waiting on an answer that will
   * never come ends now instead of at its request timeout.
   */
  restart(parts: PartitionState[]): void {
    for (const p of parts) {
      if (p.removed) continue;
      if (p.leader >= 0) {
        this.cluster.closeConnection(source(p), 'fetch');
        this.loops.delete(source(p));
      }
      p.epoch++;
      p.leader = -1;
      p.readReplica = -1;
      p.answeredAt = performance.now();
    }
    this.cluster.invalidate();
    this.scheduleReconcile(0);
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.reconcileTimer = undefined;
    for (const p of this.parts.values()) {
      p.removed = true;
      p.epoch++;
    }
    this.parts.clear();
  }

  /**
   * Ends the broker-side fetch sessions (epoch -1) so that they do not hold slots of the broker's
   * session cache until it evicts them. Best effort, within `timeoutMs`. Sent on the control
   * connection: the fetch connection may still carry a long poll, which the broker answers first.
   */
  async closeSessions(timeoutMs: number): Promise<void> {
    const d = deadline({ timeoutMs }, timeoutMs, 'closing fetch sessions');
    const close = async (node: number, session: FetchSession) => {
      const fields = session.closing();
      if (!fields) return;
      const conn = await this.cluster.brokerConnection(node, 'control', { signal: d.signal });
      const request = { ...fields, replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 0, isolationLevel: this.config.isolationLevel, topics: [], forgottenTopicsData: [], rackId: '' };
      await conn.request(Api.Fetch, request, { signal: d.signal, timeoutMs: d.remaining() });
    };
    try {
      await Promise.all([...this.sessions].map(([node, session]) => close(node, session).catch(() => {})));
    } finally {
      d.dispose();
      this.sessions.clear();
    }
  }

  // ------------------------------------------------------------------------------------- leaders

  private scheduleReconcile(delayMs: number): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    if (this.reconcileTimer) return;
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined;
      void this.reconcile();
    }, delayMs);
  }

  /** Looks up leaders of partitions that have none and starts the loops they need. */
  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    this.reconciling = true;
    let retryIn = -1;
    try {
      const lost = [...this.parts.values()].filter((p) => p.leader < 0 && !p.failed);
      if (lost.length) {
        const meta = await this.cluster.refreshMetadata({ topics: [...new Set(lost.map((p) => p.topic))], signal: this.abort.signal });
        for (const p of lost) {
          if (p.removed) continue;
          const t = meta.topics.get(p.topic);
          if (t && t.errorCode !== ErrorCode.NONE && !new KafkaProtocolError(t.errorCode).retriable) {
            this.fail(p, new KafkaProtocolError(t.errorCode, `topic ${p.topic}`));
            continue;
          }
          const info = meta.partition(p.topic, p.partition);
          if (info && info.leader >= 0) {
            p.leader = info.leader;
            p.leaderEpoch = info.leaderEpoch;
          }
        }
      }
      this.reconcileFailures = 0;
      for (const p of this.parts.values()) if (p.leader >= 0 && !p.failed) this.ensureLoop(source(p));
      if ([...this.parts.values()].some((p) => p.leader < 0 && !p.failed)) retryIn = backoff(1, this.config.readBackoffMinMs, this.config.readBackoffMaxMs);
    } catch (e) {
      if (this.stopped) return;
      this.counters.errors++;
      if (e instanceof KafkaError && !e.retriable) {
        // A wrong password or a missing ACL does not heal by itself: every waiting partition hears of it.
        for (const p of this.parts.values()) if (p.leader < 0 && !p.failed) this.fail(p, e);
      } else {
        retryIn = backoff(++this.reconcileFailures, this.config.readBackoffMinMs, this.config.readBackoffMaxMs);
      }
    } finally {
      this.reconciling = false;
    }
    if (this.reconcileAgain) {
      this.reconcileAgain = false;
      retryIn = 0;
    }
    if (retryIn >= 0) this.scheduleReconcile(retryIn);
  }

  private ensureLoop(node: number): void {
    if (this.stopped || this.loops.has(node)) return;
    const token = {};
    this.loops.set(node, token);
    void this.loop(node, token);
  }

  private fail(p: PartitionState, err: Error): void {
    if (p.failed || p.removed) return;
    p.failed = true;
    this.counters.errors++;
    this.queue.pushError(err, p.topic, p.partition);
  }

  /** The partition goes back to reconcile for a fresh leader. */
  private lose(parts: PartitionState[], delayMs: number): void {
    for (const p of parts) {
      if (p.removed) continue;
      p.leader = -1;
      p.readReplica = -1;
    }
    this.cluster.invalidate();
    this.scheduleReconcile(delayMs);
  }

  // ------------------------------------------------------------------------------------- fetching

  private mine(node: number): PartitionState[] {
    const out: PartitionState[] = [];
    for (const p of this.parts.values()) if (source(p) === node && p.leader >= 0 && !p.failed && !p.paused) out.push(p);
    return out;
  }

  /**
   * One broker's fetch loop. Once a response is in, the next fetch goes out before this one is decoded
   * (its offsets read from the batch headers), so the broker's round trip overlaps decoding and the
   * caller's reading; at most one response waits beyond what the queue holds.
   */
  private async loop(node: number, token: object): Promise<void> {
    const signal = this.abort.signal;
    let ahead: SentFetch | null = null;
    let sessionRestarts = 0;
    try {
      for (;;) {
        // A loop the watchdog replaced (restart) ends here; its successor owns the broker's partitions.
        if (this.stopped || this.loops.get(node) !== token || !this.mine(node).length) return;
        try {
          let sent = ahead;
          ahead = null;
          if (!sent) {
            try {
              await this.queue.waitForSpace(signal);
            } catch {
              return; // closed
            }
            let parts = this.mine(node);
            if (!parts.length) return;
            await this.resolvePositions(parts);
            parts = this.mine(node).filter((p) => p.position >= 0n);
            if (!parts.length) continue;
            sent = await this.sendFetch(node, parts);
          }
          const res = await sent.res;
          const next = this.stopped ? null : this.nextPositions(node, sent, res);
          if (next) {
            ahead = await this.sendFetch(node, [...next.keys()], next);
            // Its failure is handled when it is awaited; a loop that ends first must not leave it unhandled.
            ahead.res.catch(() => {});
          }
          await this.handleFetch(node, sent, res);
          sessionRestarts = 0;
        } catch (e) {
          if (this.stopped || this.loops.get(node) !== token) return;
          // The broker lost the session or its sequence: the session already starts over with a full
          // fetch, at once; a second refusal in a row takes the ordinary way (backoff, fresh metadata).
          if (e instanceof KafkaProtocolError && isSessionError(e.code) && sessionRestarts++ === 0) continue;
          this.counters.errors++;
          if (e instanceof TimeoutError) this.counters.timeouts++;
          // Not retriable and not a sign of stale metadata (a refused password, a missing ACL, a version
          // neither side speaks): the partitions stop and the caller hears why.
          if (e instanceof AuthenticationError || (e instanceof KafkaError && !e.retriable && !(e instanceof KafkaProtocolError && e.invalidatesMetadata))) {
            for (const p of this.mine(node)) this.fail(p, e as Error);
            return;
          }
          // Broken connection, timeout, moved leader: refresh metadata and resume on the right broker.
          this.lose(this.mine(node), backoff(1, this.config.readBackoffMinMs, this.config.readBackoffMaxMs));
          return;
        }
      }
    } finally {
      if (this.loops.get(node) === token) this.loops.delete(node);
    }
  }

  /**
   * Where each partition will stand once `res` is handled, if that is known without decoding: every
   * partition answered without error, at least one brought data, all in magic-2 batches, and the node
   * serves exactly the partitions that were asked (a partition added meanwhile waits for a plain round).
   */
  private nextPositions(node: number, sent: SentFetch, res: FetchResponse): Map<PartitionState, bigint> | null {
    if (res.errorCode) return null;
    const mine = this.mine(node);
    if (mine.length !== sent.snapshot.size) return null;
    const next = new Map<PartitionState, bigint>();
    for (const p of mine) {
      const s = sent.snapshot.get(key(p.topic, p.partition));
      if (!s || s.p !== p || s.epoch !== p.epoch) return null;
      next.set(p, s.offset);
    }
    let data = false;
    for (const rt of res.responses) {
      const topic = sent.version >= 13 ? (sent.byId.get(rt.topicId) ?? rt.topic) : rt.topic;
      for (const pr of rt.partitions) {
        const s = sent.snapshot.get(key(topic, pr.partitionIndex));
        if (!s) continue;
        if (pr.errorCode !== ErrorCode.NONE) return null;
        if (!pr.records?.length) continue;
        const after = nextOffsetAfter(pr.records, s.offset);
        if (after === null) return null;
        if (after > s.offset) data = true;
        next.set(s.p, after);
      }
    }
    return data ? next : null;
  }

  /** Turns FirstOffset/LastOffset positions into offsets of the log. */
  private async resolvePositions(parts: PartitionState[]): Promise<void> {
    for (const spec of [FirstOffset, LastOffset]) {
      const todo = parts.filter((p) => p.position === spec);
      const byTopic = new Map<string, PartitionState[]>();
      for (const p of todo) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
      for (const [topic, list] of byTopic) {
        const epochs = list.map((p) => p.epoch);
        const offsets = await listOffsets(this.cluster, topic, list.map((p) => p.partition), spec === FirstOffset ? EARLIEST : LATEST, this.config.isolationLevel, {
          signal: this.abort.signal,
        });
        list.forEach((p, i) => {
          const o = offsets.get(p.partition);
          if (p.epoch !== epochs[i] || o === undefined || o < 0n) return;
          p.position = o;
          p.consumed = o;
        });
      }
    }
  }

  /** Sends a Fetch for `parts` from their positions (or from `at`, the positions a fetch in hand will leave them at). */
  private async sendFetch(node: number, parts: PartitionState[], at?: Map<PartitionState, bigint>): Promise<SentFetch> {
    const signal = this.abort.signal;
    const conn = await this.cluster.brokerConnection(node, 'fetch', { signal });
    const version = conn.version(Api.Fetch);
    const meta = this.cluster.current;
    const snapshot: SentFetch['snapshot'] = new Map();
    const wanted: WantedPartition[] = [];
    const byId = new Map<string, string>();
    for (const p of parts) {
      const offset = at?.get(p) ?? p.position;
      snapshot.set(key(p.topic, p.partition), { p, epoch: p.epoch, offset });
      const topicId = meta?.topics.get(p.topic)?.topicId ?? '';
      byId.set(topicId, p.topic);
      const fields: Encodable<FetchRequestFetchPartition> = {
        partition: p.partition,
        currentLeaderEpoch: p.leaderEpoch,
        fetchOffset: offset,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: this.config.partitionMaxBytes,
        replicaDirectoryId: ZERO_UUID,
      };
      wanted.push({ topic: p.topic, topicId, partition: p.partition, fields });
    }
    let session = this.sessions.get(node);
    if (!session) this.sessions.set(node, (session = new FetchSession(this.config.fetchSessions)));
    const s = session.next(wanted, version);
    const t0 = performance.now();
    const request = {
      clusterId: null,
      replicaId: -1,
      maxWaitMs: this.config.maxWaitMs,
      minBytes: this.config.minBytes,
      // A fetch never brings more than the queue could hold: memory stays bounded by the config.
      maxBytes: Math.min(this.config.maxBytes, this.config.queueBytes),
      isolationLevel: this.config.isolationLevel,
      sessionId: s.sessionId,
      sessionEpoch: s.sessionEpoch,
      topics: s.topics,
      forgottenTopicsData: s.forgottenTopicsData,
      rackId: this.config.rack,
    };
    const res = conn.request(Api.Fetch, request, { signal, timeoutMs: this.config.maxWaitMs + this.config.requestTimeoutMs }).then((r) => {
      session.answered(s.ticket, r);
      this.counters.fetches++;
      this.counters.waitTime.observe(performance.now() - t0);
      return r;
    }, (e: unknown) => {
      session.failed(s.ticket);
      throw e;
    });
    return { res, version, snapshot, byId, sentAt: t0 };
  }

  /**
   * KIP-392: the leader names a replica in the reader's rack (the partition moves there), or the
   * replica read from answers with an error (the partition goes back to its leader, which decides
   * again; a replica behind the leader says OFFSET_OUT_OF_RANGE, which is no reason to reset).
   */
  private followReplica(p: PartitionState, node: number, pr: FetchResponsePartitionData): boolean {
    let to: number;
    if (pr.errorCode === ErrorCode.NONE && pr.preferredReadReplica >= 0 && pr.preferredReadReplica !== node) to = pr.preferredReadReplica;
    else if (pr.errorCode !== ErrorCode.NONE && p.readReplica >= 0) to = p.leader;
    else return false;
    p.readReplica = to === p.leader ? -1 : to;
    this.ensureLoop(source(p));
    return true;
  }

  private async handleFetch(node: number, sent: SentFetch, res: FetchResponse): Promise<void> {
    const { snapshot, byId, version } = sent;
    if (res.errorCode) throw new KafkaProtocolError(res.errorCode, `Fetch from node ${node}`);
    // An incremental session answers only partitions with news: an answer counts for all the node serves.
    const now = performance.now();
    for (const p of this.mine(node)) p.answeredAt = now;
    let messages = 0;
    let bytes = 0;
    let readMs = 0;
    const relost: PartitionState[] = [];
    for (const rt of res.responses) {
      const topic = version >= 13 ? (byId.get(rt.topicId) ?? rt.topic) : rt.topic;
      for (const pr of rt.partitions) {
        const s = snapshot.get(key(topic, pr.partitionIndex));
        if (!s) continue;
        bytes += pr.records?.length ?? 0;
        const r = await this.handlePartition(node, s.p, s.epoch, s.offset, pr);
        messages += r.messages;
        readMs += r.readMs;
        if (r.lost) relost.push(s.p);
      }
    }
    this.counters.fetchSize.observe(messages);
    this.counters.fetchBytes.observe(bytes);
    this.counters.readTime.observe(readMs);
    const tel = this.cluster.telemetry.fetch;
    if (tel.on) tel.emit({ node, partitions: [...snapshot.values()].map(({ p }) => ({ topic: p.topic, partition: p.partition })), records: messages, bytes, ms: performance.now() - sent.sentAt });
    if (relost.length) this.lose(relost, backoff(1, this.config.readBackoffMinMs, this.config.readBackoffMaxMs));
  }

  private async handlePartition(node: number, p: PartitionState, epoch: number, offset: bigint, pr: FetchResponsePartitionData): Promise<{ messages: number; readMs: number; lost: boolean }> {
    const none = { messages: 0, readMs: 0, lost: false };
    // Fetched for another position (a seek, or a fetch sent ahead that the previous one did not end at)
    // or from a node the partition has left: dropped, fetched again.
    if (p.epoch !== epoch || p.removed || p.failed || p.position !== offset || source(p) !== node) return none;
    if (this.followReplica(p, node, pr)) return none;
    if (pr.errorCode !== ErrorCode.NONE) {
      if (pr.errorCode === OFFSET_OUT_OF_RANGE) {
        const policy = this.config.offsetOutOfRange;
        if (policy === 'error') this.fail(p, new KafkaProtocolError(pr.errorCode, `${p.topic}/${p.partition} offset ${p.position}`));
        else p.position = policy === 'earliest' ? FirstOffset : LastOffset;
        return none;
      }
      const err = new KafkaProtocolError(pr.errorCode, `Fetch ${p.topic}/${p.partition}`);
      if (err.retriable || err.invalidatesMetadata) return { ...none, lost: true };
      this.fail(p, err);
      return none;
    }
    p.highWatermark = pr.highWatermark;
    p.lastStableOffset = pr.lastStableOffset;
    p.logStartOffset = pr.logStartOffset;
    const data = pr.records;
    if (!data || !data.length) return none;
    const filter = this.config.isolationLevel === 1 ? new AbortFilter(pr.abortedTransactions) : null;
    let messages = 0;
    let readMs = 0;
    for (const slice of batchSlices(data)) {
      const t0 = performance.now();
      let batches;
      try {
        batches = await decodeSlice(slice, p.topic, p.partition);
      } catch (e) {
        this.fail(p, e instanceof Error ? e : new KafkaError(String(e), false));
        return { messages, readMs, lost: false };
      }
      readMs += performance.now() - t0;
      // Decoding may have yielded (decompression): a seek or revoke meanwhile makes these stale.
      if (p.epoch !== epoch) return { messages, readMs, lost: false };
      const copy = this.config.copyBytes;
      for (const b of batches) {
        const keep = filter ? filter.keep(b) : !b.isControl;
        if (keep) {
          for (const r of b.records) {
            if (r.offset < p.position) continue;
            if (!this.queue.hasSpace) {
              await this.queue.waitForSpace(this.abort.signal);
              if (p.epoch !== epoch) return { messages, readMs, lost: false };
            }
            const m: StampedMessage = {
              topic: p.topic,
              partition: p.partition,
              offset: r.offset,
              highWaterMark: pr.highWatermark,
              key: copy && r.key ? r.key.slice() : r.key,
              value: copy && r.value ? r.value.slice() : r.value,
              headers: copy ? r.headers.map((h) => ({ key: h.key, value: h.value ? h.value.slice() : null })) : r.headers,
              time: r.timestamp,
              [ASSIGNMENT]: -1,
            };
            this.queue.push(m, p);
            messages++;
            p.position = r.offset + 1n;
          }
        }
        if (p.epoch !== epoch) return { messages, readMs, lost: false };
        if (b.lastOffset >= p.position) p.position = b.lastOffset + 1n;
      }
    }
    return { messages, readMs, lost: false };
  }
}
