// Call admission: turns a call's messages into accumulator entries, in the order calls were made (so
// messages of concurrent calls keep that order per partition). A call whose topics are known and for
// which the buffer has room is admitted at once, synchronously; otherwise it queues behind the calls
// before it. Every wait (metadata, buffer space) is raced with the call's own end: a deadline or an
// abort frees the call at once, and the shared work it waited for goes on for the others.
import { ErrorCode } from '../../protocol/messages/index.ts';
import { AbortedError, KafkaError, KafkaProtocolError } from '../../protocol/errors.ts';
import { BatchLayout, estimateRecordSize } from '../../protocol/records/index.ts';
import type { Cluster } from '../cluster.ts';
import type { ClusterMetadata, TopicInfo } from '../metadata.ts';
import { backoff, isRetriable, sleep } from '../retry.ts';
import { Entry, type Accumulator } from './accumulator.ts';
import { untilEnded, type WriteCall } from './call.ts';
import type { ResolvedWriterConfig } from './config.ts';
import type { WriterMeter } from './stats.ts';

const utf8 = new TextEncoder();

type Wait = 'metadata' | 'space';

export class Admission {
  private readonly queue: WriteCall[] = [];
  private running = false;
  private refreshing = false;
  private readonly partitionLists = new WeakMap<TopicInfo, number[]>();

  constructor(
    private readonly cfg: ResolvedWriterConfig,
    private readonly cluster: Cluster,
    private readonly acc: Accumulator,
    private readonly meter: WriterMeter,
    /** Aborts when the writer shuts down: ends the waits of the metadata lookups. */
    private readonly lifetime: AbortSignal,
  ) {}

  submit(call: WriteCall): void {
    if (!this.running && this.queue.length === 0 && this.step(call) === null) {
      call.markAdmitted();
      return;
    }
    this.queue.push(call);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const call = this.queue[0];
        for (let wait = this.step(call); wait && !call.ended; wait = this.step(call)) {
          if (wait === 'metadata') await this.lookup(call);
          else await this.space(call);
        }
        this.queue.shift();
        call.markAdmitted();
      }
    } finally {
      this.running = false;
    }
  }

  /** Queues the call's messages from `call.next` on; stops at the first that must wait, and says for what. */
  private step(call: WriteCall): Wait | null {
    const meta = this.cluster.current;
    if (meta && performance.now() - meta.fetchedAt > this.cluster.metadataMaxAgeMs) this.refreshInBackground();
    const { messages } = call;
    if (this.lifetime.aborted) {
      const err = new AbortedError('writer shut down before the message was queued');
      for (let j = call.next; j < messages.length; j++) call.fail(j, err, false);
      return null;
    }
    const now = Date.now();
    for (; call.next < messages.length; call.next++) {
      const i = call.next;
      if (call.done[i]) continue;
      const m = messages[i];
      const topic = m.topic ?? this.cfg.topic!;
      const t = meta?.topics.get(topic);
      if (!t || t.errorCode !== ErrorCode.NONE || t.partitions.length === 0) {
        if (!call.lookedUp.has(topic)) return 'metadata';
        this.refuse(call, i, new KafkaProtocolError(t?.errorCode || ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic}${t?.errorCode ? '' : ' does not exist'}`));
        continue;
      }
      let entry: Entry;
      try {
        const key = toBytes(m.key ?? null);
        const value = toBytes(m.value);
        const headers = (m.headers ?? []).map((h) => ({ key: h.key, value: toBytes(h.value) }));
        const timestampMs = m.time ? m.time.getTime() : now;
        if (!Number.isSafeInteger(timestampMs)) throw new KafkaError(`message ${i}: time is not a valid date`, false);
        entry = new Entry(call, i, timestampMs, key, value, headers, estimateRecordSize(key, value, headers));
      } catch (e) {
        this.refuse(call, i, asError(e));
        continue;
      }
      if (entry.size + BatchLayout.HEADER_SIZE > this.cfg.batchBytes) {
        this.refuse(call, i, new KafkaProtocolError(ErrorCode.MESSAGE_TOO_LARGE, `message ${i} of ${entry.size} bytes does not fit in batchBytes ${this.cfg.batchBytes}`));
        continue;
      }
      if (!this.acc.hasRoom(entry.size)) return 'space';
      try {
        // After the room check: a stateful balancer (round-robin) must be asked once per message.
        const list = this.partitionList(t);
        const partition = m.partition ?? this.cfg.balancer.balance({ key: entry.key, value: entry.value }, list);
        if (!list.includes(partition)) {
          throw new KafkaError(`${m.partition === undefined ? 'balancer chose' : `message ${i} names`} partition ${partition}, which ${topic} does not have (it has ${list.length})`, false);
        }
        this.acc.append(this.acc.partition(topic, partition), entry);
      } catch (e) {
        this.refuse(call, i, asError(e));
        continue;
      }
      call.slots[i] = entry;
    }
    return null;
  }

  /**
   * Looks up the call's topics that the metadata does not know, until they are known, known not to
   * exist, or the call ends. The lookup is the Writer's, not the call's: it is given no signal.
   */
  private async lookup(call: WriteCall): Promise<void> {
    const topics = [...new Set(call.messages.slice(call.next).map((m) => m.topic ?? this.cfg.topic!))].filter((t) => !call.lookedUp.has(t));
    for (let attempt = 1; !call.ended && !this.lifetime.aborted; attempt++) {
      try {
        const r = await untilEnded(call, this.topicMetadata(topics, call));
        if (r.ok) for (const t of topics) call.lookedUp.add(t);
        return;
      } catch (e) {
        if (!isRetriable(e)) {
          const err = asError(e);
          for (let j = call.next; j < call.messages.length; j++) this.refuse(call, j, err);
          return;
        }
        // The cluster's own retries are spent and the call still has time: ask again.
        await untilEnded(call, sleep(backoff(attempt, this.cfg.writeBackoffMinMs, this.cfg.writeBackoffMaxMs), this.lifetime)).catch(() => {});
      }
    }
  }

  /** Metadata that knows every topic: waits out topics still being created, reports unknown ones soon. */
  private async topicMetadata(topics: string[], call: WriteCall): Promise<ClusterMetadata> {
    const autoCreate = this.cfg.allowAutoTopicCreation;
    let meta = await this.cluster.metadata(topics, { autoCreate });
    for (let attempt = 1; attempt < this.cfg.maxAttempts && !call.ended; attempt++) {
      // A topic just created may not have reached every broker yet: an unknown topic is asked about
      // again twice (a few hundred ms, likely another broker), then reported.
      const recheck = autoCreate || attempt <= 2;
      const waiting = topics.some((name) => {
        const t = meta.topics.get(name);
        if (!t || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return recheck;
        if (t.errorCode !== ErrorCode.NONE) return t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE;
        return t.partitions.length === 0;
      });
      if (!waiting) break;
      await sleep(backoff(attempt, this.cfg.writeBackoffMinMs, this.cfg.writeBackoffMaxMs), this.lifetime);
      meta = await this.cluster.refreshMetadata({ topics, autoCreate });
    }
    return meta;
  }

  /** Backpressure: the open batches are sent, and the call waits for room (or its end). */
  private async space(call: WriteCall): Promise<void> {
    const t0 = performance.now();
    this.acc.flush();
    await untilEnded(call, this.acc.space());
    this.meter.waitTime.observe(performance.now() - t0);
  }

  private refreshInBackground(): void {
    if (this.refreshing) return;
    this.refreshing = true;
    this.cluster.refreshMetadata().then(
      () => void (this.refreshing = false),
      () => void (this.refreshing = false),
    );
  }

  private refuse(call: WriteCall, i: number, err: Error): void {
    if (call.done[i]) return;
    this.meter.counters.errors++;
    call.fail(i, err, false);
  }

  private partitionList(t: TopicInfo): number[] {
    let l = this.partitionLists.get(t);
    if (!l) this.partitionLists.set(t, (l = t.partitions.map((p) => p.partition)));
    return l;
  }
}

function toBytes(v: Uint8Array | string | null | undefined): Uint8Array | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? utf8.encode(v) : v;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new KafkaError(String(e), false);
}
