// Writer: the single-cluster producer, after kafka-go's Writer. Messages go to per-partition batches
// (encoded as they grow), batches close on size, bytes or linger, and one Produce request per leader
// carries every ready batch for it. Idempotent by default: retries keep producer id, epoch and
// sequence, so the broker drops duplicates, and a partition's batches are resent in order.
import { Api, ErrorCode } from '../../protocol/messages/index.ts';
import { AbortedError, ClosedError, ConnectionError, KafkaError, KafkaProtocolError, TimeoutError } from '../../protocol/errors.ts';
import { estimateRecordSize, BatchLayout } from '../../protocol/records/index.ts';
import { Cluster } from '../cluster.ts';
import type { ClusterMetadata, TopicInfo } from '../metadata.ts';
import { backoff, invalidatesMetadata, sleep } from '../retry.ts';
import { parseCompression, type CompressionType } from '../../protocol/compression/index.ts';
import { createBatchEncoder, type OpenBatchEncoder, type SealedBatch } from './batch.ts';
import {
  ACKS,
  resolveWriterConfig,
  type ResolvedWriterConfig,
  type WriteResult,
  type WriterConfig,
  type WriterMessage,
} from './config.ts';
import { Summary, type WriterStats } from './stats.ts';
import { WriteErrors } from './write-errors.ts';

export type { WriterConfig, WriterMessage, WriteResult } from './config.ts';

const utf8 = new TextEncoder();
const SEQ_MOD = 0x80000000;

/** Options for one writeMessages call, given as its last argument. */
export interface WriteOptions {
  signal: AbortSignal;
}

interface WriteCall {
  readonly messages: readonly WriterMessage[];
  readonly errors: (Error | null)[];
  readonly results: (WriteResult | null)[];
  /** 1 once message i has an outcome (guards against settling twice). */
  readonly done: Uint8Array;
  left: number;
  failed: boolean;
  settle: () => void;
}

interface Entry {
  call: WriteCall;
  index: number;
  timestampMs: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: { key: string; value: Uint8Array | null }[];
  size: number;
}

interface Batch {
  readonly p: PartitionState;
  /** Position among the partition's batches; split batches take fractions between their neighbours. */
  readonly order: number;
  readonly entries: Entry[];
  readonly createdAt: number;
  encoder: OpenBatchEncoder | null;
  sealed: SealedBatch | null;
  sealedAt: number;
  bytes: number;
  attempts: number;
  /** Kafka sequence of the first record, -1 until first sent (or after a producer reset). */
  baseSequence: number;
  settled: boolean;
  /** Made by splitting a batch the broker found too large: sent one at a time. */
  split: boolean;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  open: Batch | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Uncompressed size the partition's previous batch reached: the next one starts with that much room. */
  lastBatchBytes: number;
  /** Sealed (or sealing) batches not in flight, in order. */
  queue: Batch[];
  inflight: Batch[];
  nextSequence: number;
  nextOrder: number;
  /** A retry is pending: nothing more is sent until the batches in flight have come back. */
  blocked: boolean;
  retryAt: number;
  /**
   * A batch of the current producer epoch was acknowledged here. Until then one batch at a time: a
   * broker with no state for the producer accepts any first sequence, so a later batch could land
   * before an earlier one that the broker refused.
   */
  acked: boolean;
}

interface ProducerIdentity {
  producerId: bigint;
  producerEpoch: number;
}

/** Runs fn after pending I/O callbacks, without the 1 ms clamp of timers (setImmediate where the runtime has it). */
const nextTurn: (fn: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (fn) => void globalThis.setImmediate(fn) : (fn) => void setTimeout(fn, 0);

export class Writer {
  readonly config: ResolvedWriterConfig;
  private readonly cluster: Cluster;
  private readonly partitions = new Map<string, PartitionState[]>();
  private readonly compressionType: CompressionType;
  private readonly partitionLists = new WeakMap<TopicInfo, number[]>();
  private producer: ProducerIdentity | null = null;
  private needsReset = false;
  private totalInflight = 0;
  private buffered = 0;
  private spaceWaiters: (() => void)[] = [];
  /**
   * Calls are queued one after another, in the order writeMessages was called: messages of concurrent
   * calls keep that order per partition, even when some wait for buffer space.
   */
  private admission: Promise<void> = Promise.resolve();
  private pendingCalls = new Set<WriteCall>();
  private callsDrained: (() => void)[] = [];
  private drainScheduled = false;
  private draining = false;
  private drainAgain = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimerAt = Infinity;
  private closed = false;
  private shutdown = false;
  private closing: Promise<void> | null = null;
  private readonly counters = { writes: 0, messages: 0, bytes: 0, errors: 0, retries: 0, dials: 0 };
  private readonly summaries = {
    batchTime: new Summary(),
    batchQueueTime: new Summary(),
    writeTime: new Summary(),
    waitTime: new Summary(),
    batchSize: new Summary(),
    batchBytes: new Summary(),
  };

  constructor(config: WriterConfig) {
    this.config = resolveWriterConfig(config);
    this.cluster = new Cluster(
      {
        ...config,
        requestTimeoutMs: config.requestTimeoutMs ?? this.config.writeTimeoutMs + 5_000,
        // A write is bounded by writeTimeoutMs; the engine's own retries must not outlast it.
        retryTimeoutMs: config.retryTimeoutMs ?? this.config.writeTimeoutMs,
      },
      { onDial: () => void this.counters.dials++ },
    );
    this.compressionType = parseCompression(this.config.compression);
  }

  // ------------------------------------------------------------------------------------- public API

  /**
   * Writes messages; resolves with where each landed once all are acknowledged as configured. When some
   * fail, rejects with WriteErrors aligned with the messages. In async mode resolves once they are queued
   * (the completion callback gets the outcome). An AbortSignal may be passed as `{ signal }` last:
   * aborting rejects with AbortedError, and whether the messages were written is then unknown.
   */
  async writeMessages(...args: (WriterMessage | WriteOptions)[]): Promise<WriteResult[]> {
    const last = args[args.length - 1];
    const opts = last !== undefined && isWriteOptions(last) ? (args.pop() as WriteOptions) : undefined;
    const messages = args as WriterMessage[];
    if (this.closed) throw new ClosedError('writer closed');
    const signal = opts?.signal;
    if (signal?.aborted) throw new AbortedError('writeMessages aborted before anything was sent', signal.reason);
    if (messages.length === 0) return [];
    this.validate(messages);

    let resolveCall!: () => void;
    const done = new Promise<void>((r) => (resolveCall = r));
    const call: WriteCall = {
      messages,
      errors: new Array(messages.length).fill(null),
      results: new Array(messages.length).fill(null),
      done: new Uint8Array(messages.length),
      left: messages.length,
      failed: false,
      settle: resolveCall,
    };
    this.pendingCalls.add(call);
    void done.then(() => this.completeCall(call));

    const enqueued = (this.admission = this.admission.then(() =>
      this.enqueue(call, signal).catch((e) => {
        for (let i = 0; i < messages.length; i++) this.fail(call, i, asError(e));
      }),
    ));
    if (!signal) {
      await enqueued;
      if (this.config.async) return [];
      await done;
    } else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(new AbortedError('writeMessages aborted; whether the messages were written is unknown', signal.reason));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        void enqueued
          .then(() => (this.config.async ? undefined : done))
          .then(() => {
            signal.removeEventListener('abort', onAbort);
            if (signal.aborted) onAbort();
            else resolve();
          });
      });
      if (this.config.async) return [];
    }
    if (call.failed) throw new WriteErrors(call.errors);
    return call.results as WriteResult[];
  }

  /** Counters since the last call (then reset), with kafka-go's WriterStats fields. */
  stats(): WriterStats {
    const c = { ...this.counters };
    for (const k of Object.keys(this.counters) as (keyof typeof this.counters)[]) this.counters[k] = 0;
    const s = this.summaries;
    return {
      ...c,
      batchTime: s.batchTime.take(),
      batchQueueTime: s.batchQueueTime.take(),
      writeTime: s.writeTime.take(),
      waitTime: s.waitTime.take(),
      batchSize: s.batchSize.take(),
      batchBytes: s.batchBytes.take(),
      maxAttempts: this.config.maxAttempts,
      writeBackoffMin: this.config.writeBackoffMinMs,
      writeBackoffMax: this.config.writeBackoffMaxMs,
      maxBatchSize: this.config.batchSize,
      maxBatchBytes: this.config.batchBytes,
      batchTimeout: this.config.batchTimeoutMs,
      writeTimeout: this.config.writeTimeoutMs,
      requiredAcks: ACKS[this.config.requiredAcks],
      async: this.config.async,
      idempotent: this.config.idempotent,
      compression: this.config.compression,
      topic: this.config.topic ?? '',
      clientId: this.config.clientId ?? 'mka',
    };
  }

  /** Bytes of messages accepted but not yet settled. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Flushes pending messages and waits for them; later writes fail with ClosedError. With a signal,
   * aborting stops the wait: what is still pending fails with AbortedError (delivery unknown).
   */
  async close(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        this.flush();
        while (this.pendingCalls.size) await new Promise<void>((r) => this.callsDrained.push(r));
        this.teardown();
      })();
    }
    const signal = opts.signal;
    if (!signal) return this.closing;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.abortAll(new AbortedError('writer closed before these messages were acknowledged; delivery unknown', signal.reason));
        reject(new AbortedError('close aborted; pending messages failed with AbortedError', signal.reason));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void this.closing!.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  // ---------------------------------------------------------------------------------------- enqueue

  /** kafka-go refuses the whole call when a message names a topic the writer already has, or none. */
  private validate(messages: readonly WriterMessage[]): void {
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (m === null || typeof m !== 'object') throw new KafkaError(`message ${i} is not an object`, false);
      if (this.config.topic !== undefined && m.topic !== undefined) {
        throw new KafkaError(`message ${i}: topic must not be specified for both the writer (${this.config.topic}) and the message (${m.topic})`, false);
      }
      if (this.config.topic === undefined && !m.topic) {
        throw new KafkaError(`message ${i}: topic must be specified on the message when the writer has none`, false);
      }
    }
  }

  private async enqueue(call: WriteCall, signal?: AbortSignal): Promise<void> {
    const { messages } = call;
    const topics = this.config.topic !== undefined ? [this.config.topic] : [...new Set(messages.map((m) => m.topic!))];
    let meta: ClusterMetadata;
    // Metadata of a cluster that is down can take many reconnect backoffs: bound it by writeTimeoutMs,
    // so the caller (or a MultiWriter) hears of it in time, with a retriable TimeoutError.
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(), this.config.writeTimeoutMs);
    const metaSignal = signal ? AbortSignal.any([signal, limit.signal]) : limit.signal;
    try {
      const lookup = this.topicMetadata(topics, metaSignal);
      lookup.catch(() => {});
      meta = await new Promise<ClusterMetadata>((resolve, reject) => {
        const onAbort = () => reject(new AbortedError('metadata lookup aborted'));
        metaSignal.addEventListener('abort', onAbort, { once: true });
        lookup.then(resolve, reject).finally(() => metaSignal.removeEventListener('abort', onAbort));
      });
    } catch (e) {
      const err = limit.signal.aborted && !signal?.aborted
        ? new TimeoutError(`no metadata for ${topics.join(', ')} within writeTimeoutMs (${this.config.writeTimeoutMs} ms): ${asError(e).message}`)
        : asError(e);
      for (let i = 0; i < messages.length; i++) this.fail(call, i, err);
      return;
    } finally {
      clearTimeout(timer);
    }
    const now = Date.now();
    for (let i = 0; i < messages.length; i++) {
      if (call.done[i]) continue;
      const m = messages[i];
      const topic = m.topic ?? this.config.topic!;
      const t = meta.topics.get(topic);
      if (!t || t.errorCode !== ErrorCode.NONE || t.partitions.length === 0) {
        this.fail(call, i, new KafkaProtocolError(t?.errorCode || ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic}${t?.errorCode ? '' : ' does not exist'}`));
        continue;
      }
      let entry: Entry;
      try {
        const key = toBytes(m.key ?? null);
        const value = toBytes(m.value);
        const headers = (m.headers ?? []).map((h) => ({ key: h.key, value: toBytes(h.value) }));
        const timestampMs = m.time ? m.time.getTime() : now;
        if (!Number.isSafeInteger(timestampMs)) throw new KafkaError(`message ${i}: time is not a valid date`, false);
        entry = { call, index: i, timestampMs, key, value, headers, size: estimateRecordSize(key, value, headers) };
      } catch (e) {
        this.fail(call, i, asError(e));
        continue;
      }
      if (entry.size + BatchLayout.HEADER_SIZE > this.config.batchBytes) {
        this.fail(call, i, new KafkaProtocolError(ErrorCode.MESSAGE_TOO_LARGE, `message ${i} of ${entry.size} bytes does not fit in batchBytes ${this.config.batchBytes}`));
        continue;
      }
      // Backpressure: wait (flushing what is open) until the buffer has room for this message.
      if (this.buffered > 0 && this.buffered + entry.size > this.config.maxBufferedBytes && !this.shutdown) {
        const t0 = performance.now();
        this.flush();
        while (this.buffered > 0 && this.buffered + entry.size > this.config.maxBufferedBytes && !signal?.aborted && !this.shutdown) {
          await this.waitForSpace(signal);
        }
        this.summaries.waitTime.observe(performance.now() - t0);
      }
      if (signal?.aborted || this.shutdown) {
        const err = this.shutdown
          ? new AbortedError('writer shut down before the message was queued')
          : new AbortedError('aborted before the message was queued', signal!.reason);
        for (let j = i; j < messages.length; j++) if (!call.done[j]) this.fail(call, j, err);
        return;
      }
      let partition: number;
      try {
        const list = this.partitionList(t);
        partition = this.config.balancer.balance({ key: entry.key, value: entry.value }, list);
        if (!list.includes(partition)) throw new KafkaError(`balancer chose partition ${partition}, which ${topic} does not have`, false);
      } catch (e) {
        this.fail(call, i, asError(e));
        continue;
      }
      const p = this.partitionState(topic, partition);
      let b = p.open;
      if (b && b.bytes + entry.size > this.config.batchBytes) {
        this.seal(p);
        b = null;
      }
      if (!b) b = this.openBatch(p);
      try {
        b.encoder!.append(entry.timestampMs, entry.key, entry.value, entry.headers);
      } catch (e) {
        this.fail(call, i, asError(e));
        continue;
      }
      b.entries.push(entry);
      b.bytes += entry.size;
      this.buffered += entry.size;
      if (b.entries.length >= this.config.batchSize) this.seal(p);
    }
  }

  /** Metadata that knows every topic: waits out topics still being created, fails unknown ones at once. */
  private async topicMetadata(topics: string[], signal?: AbortSignal): Promise<ClusterMetadata> {
    const autoCreate = this.config.allowAutoTopicCreation;
    let meta = await this.cluster.metadata(topics, { signal, autoCreate });
    for (let attempt = 1; attempt < this.config.maxAttempts; attempt++) {
      // A topic just created may not have reached every broker yet: an unknown topic is asked about
      // again twice (a few hundred ms, likely another broker), then reported.
      const recheck = autoCreate || attempt <= 2;
      const waiting = topics.some((name) => {
        const t = meta.topics.get(name);
        if (!t) return recheck;
        if (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return recheck;
        if (t.errorCode !== ErrorCode.NONE) return t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE;
        return t.partitions.length === 0;
      });
      if (!waiting) break;
      await sleep(backoff(attempt, this.config.writeBackoffMinMs, this.config.writeBackoffMaxMs), signal);
      meta = await this.cluster.refreshMetadata({ topics, signal, autoCreate });
    }
    return meta;
  }

  private partitionList(t: TopicInfo): number[] {
    let l = this.partitionLists.get(t);
    if (!l) this.partitionLists.set(t, (l = t.partitions.map((p) => p.partition)));
    return l;
  }

  private waitForSpace(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.spaceWaiters.push(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  private partitionState(topic: string, partition: number): PartitionState {
    let list = this.partitions.get(topic);
    if (!list) this.partitions.set(topic, (list = []));
    let p = list[partition];
    if (!p) {
      p = { topic, partition, open: null, timer: undefined, lastBatchBytes: 0, queue: [], inflight: [], nextSequence: 0, nextOrder: 0, blocked: false, retryAt: 0, acked: false };
      list[partition] = p;
    }
    return p;
  }

  private *allPartitions(): Generator<PartitionState> {
    for (const list of this.partitions.values()) for (const p of list) if (p) yield p;
  }

  private openBatch(p: PartitionState): Batch {
    const b = newBatch(p, p.nextOrder++, this.compressionType);
    p.open = b;
    const sealIfOpen = () => {
      if (p.open === b) this.seal(p);
    };
    // No linger: seal once the current burst of calls has run. A 0 ms timer would wait a whole
    // millisecond (timers are clamped to 1 ms), which is most of the latency of a quiet cluster.
    if (this.config.batchTimeoutMs === 0) nextTurn(sealIfOpen);
    else p.timer = setTimeout(sealIfOpen, this.config.batchTimeoutMs);
    return b;
  }

  /** Seals every open batch now (close, backpressure). */
  private flush(): void {
    for (const p of this.allPartitions()) if (p.open) this.seal(p);
  }

  /** Closes the partition's open batch: compress it (possibly off the event loop) and queue it. */
  private seal(p: PartitionState): void {
    const b = p.open;
    if (!b) return;
    p.open = null;
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    p.lastBatchBytes = b.bytes;
    this.summaries.batchTime.observe(performance.now() - b.createdAt);
    this.sealBatch(b);
    p.queue.push(b);
  }

  private sealBatch(b: Batch): void {
    const encoder = b.encoder!;
    b.encoder = null;
    let sealing: Promise<SealedBatch>;
    try {
      sealing = Promise.resolve(encoder.seal());
    } catch (e) {
      sealing = Promise.reject(e);
    }
    sealing.then(
      (sealed) => {
        b.sealed = sealed;
        b.sealedAt = performance.now();
        this.scheduleDrain();
      },
      (e) => {
        // Nothing was numbered yet (sequences are taken at first send): no gap to repair.
        b.p.queue = b.p.queue.filter((x) => x !== b);
        this.counters.errors++;
        this.settleBatch(b, asError(e));
        this.scheduleDrain();
      },
    );
  }

  // ----------------------------------------------------------------------------------------- sending

  private scheduleDrain(delayMs = 0): void {
    if (this.shutdown) return;
    if (delayMs > 0) {
      const at = performance.now() + delayMs;
      if (this.retryTimer && this.retryTimerAt <= at) return; // an earlier wake-up is already due
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimerAt = at;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.retryTimerAt = Infinity;
        this.scheduleDrain();
      }, delayMs);
      return;
    }
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      if (this.config.idempotent) {
        if (this.needsReset) {
          // A sequence gap (a batch failed for good) or lost producer state: start a new epoch once
          // nothing is in flight, so no batch of the old epoch can land after one of the new.
          if (this.totalInflight > 0) return;
          await this.resetProducer();
        }
        if (!this.producer && this.hasQueued()) await this.initProducerId(null);
      }
      this.sendReady();
    } catch (e) {
      // No producer id (after the cluster's own retries), or the writer closed.
      this.failQueued(asError(e));
    } finally {
      this.draining = false;
      if (this.drainAgain) {
        this.drainAgain = false;
        this.scheduleDrain();
      }
    }
  }

  private hasQueued(): boolean {
    for (const p of this.allPartitions()) if (p.queue.length) return true;
    return false;
  }

  /** Sends every batch that may go now: one Produce request per leader per round. */
  private sendReady(): void {
    const meta = this.cluster.current;
    const now = performance.now();
    let soonest = Infinity;
    let needMetadata = false;
    for (;;) {
      const byLeader = new Map<number, Batch[]>();
      for (const p of this.allPartitions()) {
        if (p.blocked || p.queue.length === 0) continue;
        if (p.inflight.length >= this.config.maxInFlightPerPartition) continue;
        if (p.retryAt > now) {
          soonest = Math.min(soonest, p.retryAt - now);
          continue;
        }
        const b = p.queue[0];
        if (!b.sealed) continue;
        if (p.inflight.length > 0 && this.config.idempotent && (!p.acked || b.split || p.inflight.some((x) => x.split))) continue;
        const leader = meta?.partition(p.topic, p.partition)?.leader ?? -1;
        if (leader < 0 || !meta?.brokers.has(leader)) {
          // No broker to send to: wait for metadata, but not beyond writeTimeoutMs, so that a cluster
          // that is down fails the write (and a MultiWriter fails over) instead of holding it.
          if (now - b.createdAt > this.config.writeTimeoutMs) this.expireLeaderless(p, now);
          else {
            needMetadata = true;
            // Expire on time even while a metadata refresh hangs on a cluster that is down.
            soonest = Math.min(soonest, b.createdAt + this.config.writeTimeoutMs - now + 1);
          }
          continue;
        }
        p.queue.shift();
        p.inflight.push(b);
        this.totalInflight++;
        if (this.config.idempotent) {
          if (b.baseSequence < 0) {
            b.baseSequence = p.nextSequence;
            p.nextSequence = (p.nextSequence + b.entries.length) % SEQ_MOD;
          }
          b.sealed.stamp(this.producer!.producerId, this.producer!.producerEpoch, b.baseSequence);
        }
        let list = byLeader.get(leader);
        if (!list) byLeader.set(leader, (list = []));
        list.push(b);
      }
      if (byLeader.size === 0) break;
      for (const [leader, batches] of byLeader) void this.produce(leader, batches);
    }
    if (needMetadata) {
      const delay = this.config.writeBackoffMinMs;
      this.cluster.refreshMetadata().then(
        () => this.scheduleDrain(Math.min(delay, 50)),
        () => this.scheduleDrain(delay),
      );
    }
    if (soonest < Infinity) this.scheduleDrain(Math.max(1, soonest));
  }

  /** Fails the partition's queued batches that have waited for a leader longer than writeTimeoutMs. */
  private expireLeaderless(p: PartitionState, now: number): void {
    const err = new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `${p.topic}/${p.partition}: no leader within writeTimeoutMs (${this.config.writeTimeoutMs} ms)`);
    const keep: Batch[] = [];
    for (const b of p.queue) {
      if (now - b.createdAt <= this.config.writeTimeoutMs) {
        keep.push(b);
        continue;
      }
      if (this.config.idempotent && b.baseSequence >= 0) this.needsReset = true;
      this.counters.errors++;
      this.settleBatch(b, err);
    }
    p.queue = keep;
    this.cluster.refreshMetadata().catch(() => {});
  }

  private async produce(leader: number, batches: Batch[]): Promise<void> {
    const sentAt = performance.now();
    for (const b of batches) this.summaries.batchQueueTime.observe(sentAt - b.sealedAt);
    const byTopic = new Map<string, { index: number; records: Uint8Array }[]>();
    for (const b of batches) {
      let list = byTopic.get(b.p.topic);
      if (!list) byTopic.set(b.p.topic, (list = []));
      list.push({ index: b.p.partition, records: b.sealed!.bytes });
    }
    const acks = ACKS[this.config.requiredAcks];
    const body = {
      transactionalId: null,
      acks,
      timeoutMs: this.config.writeTimeoutMs,
      // Produce v13 names topics by id (KIP-516); older versions by name. The codec writes the one its version has.
      topicData: [...byTopic].map(([name, partitionData]) => ({ name, topicId: this.cluster.current?.topics.get(name)?.topicId || undefined, partitionData })),
    };
    this.counters.writes++;
    try {
      const conn = await this.cluster.brokerConnection(leader, 'produce');
      if (acks === 0) {
        await conn.requestNoResponse(Api.Produce, body);
        this.summaries.writeTime.observe(performance.now() - sentAt);
        for (const b of batches) this.batchDone(b, -1n);
        return;
      }
      const res = await conn.request(Api.Produce, body);
      this.summaries.writeTime.observe(performance.now() - sentAt);
      const results = new Map<string, { errorCode: number; baseOffset: bigint; errorMessage?: string | null }>();
      const byId = new Map([...byTopic.keys()].map((n) => [this.cluster.current?.topics.get(n)?.topicId ?? '', n]));
      for (const t of res.responses) for (const pr of t.partitionResponses) results.set(`${t.name || byId.get(t.topicId) || ''}\u0000${pr.index}`, pr);
      for (const b of batches) {
        const r = results.get(`${b.p.topic}\u0000${b.p.partition}`);
        if (!r) this.batchFailed(b, new KafkaError(`Produce response lacks ${b.p.topic}/${b.p.partition}`, true));
        else if (r.errorCode === ErrorCode.NONE) this.batchDone(b, r.baseOffset);
        else if (r.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) this.batchDone(b, -1n);
        else this.batchFailed(b, new KafkaProtocolError(r.errorCode, `${b.p.topic}/${b.p.partition}${r.errorMessage ? `: ${r.errorMessage}` : ''}`));
      }
    } catch (e) {
      for (const b of batches) this.batchFailed(b, asError(e));
    } finally {
      this.scheduleDrain();
    }
  }

  private batchDone(b: Batch, baseOffset: bigint): void {
    if (!this.leaveFlight(b)) return;
    b.p.acked = true;
    this.counters.messages += b.entries.length;
    this.counters.bytes += b.sealed?.bytes.length ?? 0;
    this.summaries.batchSize.observe(b.entries.length);
    this.summaries.batchBytes.observe(b.sealed?.bytes.length ?? 0);
    b.settled = true;
    for (let i = 0; i < b.entries.length; i++) {
      const { call, index } = b.entries[i];
      this.settle(call, index, null, { topic: b.p.topic, partition: b.p.partition, offset: baseOffset >= 0n ? baseOffset + BigInt(i) : -1n });
    }
    this.release(b.bytes);
  }

  private batchFailed(b: Batch, err: Error): void {
    if (!this.leaveFlight(b)) return;
    const p = b.p;
    const code = err instanceof KafkaProtocolError ? err.code : ErrorCode.NONE;
    const producerLost = code === ErrorCode.UNKNOWN_PRODUCER_ID || code === ErrorCode.INVALID_PRODUCER_EPOCH;
    // A batch of this partition sent before this one has no answer yet, or is waiting to be resent:
    // this one was refused only because the broker has not seen that one.
    const earlier = (x: Batch) => x.order < b.order;
    const behindRetry = code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && (p.queue.some(earlier) || p.inflight.some(earlier));
    const tooLarge = code === ErrorCode.MESSAGE_TOO_LARGE || code === ErrorCode.RECORD_LIST_TOO_LARGE;
    if (tooLarge && b.entries.length > 1 && !this.shutdown) {
      // Split into halves that keep the batch's place and its sequence range, so nothing after it
      // needs renumbering; a single message still too large then fails on its own.
      this.counters.retries++;
      this.split(b);
      if (p.inflight.length > 0) p.blocked = true;
      return;
    }
    const retriable = (err instanceof KafkaError && err.retriable) || producerLost || code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER;
    if (!behindRetry) b.attempts++;
    if (!retriable || b.attempts >= this.config.maxAttempts || this.shutdown) {
      this.counters.errors++;
      this.settleBatch(b, err);
      // The sequence numbers of this batch were never written: later batches need a new epoch.
      if (this.config.idempotent && b.baseSequence >= 0) this.needsReset = true;
      return;
    }
    this.counters.retries++;
    if ((code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && !behindRetry) || producerLost) this.needsReset = true;
    if (invalidatesMetadata(err) || err instanceof ConnectionError || err instanceof TimeoutError || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
      this.cluster.invalidate();
      this.cluster.refreshMetadata().catch(() => {});
    }
    // Back in the queue in its original place; hold the partition until its other batches come back.
    this.requeue(b);
    if (p.inflight.length > 0) p.blocked = true;
    if (!behindRetry) p.retryAt = Math.max(p.retryAt, performance.now() + backoff(b.attempts, this.config.writeBackoffMinMs, this.config.writeBackoffMaxMs));
  }

  private requeue(b: Batch): void {
    const q = b.p.queue;
    const at = q.findIndex((x) => x.order > b.order);
    if (at < 0) q.push(b);
    else q.splice(at, 0, b);
  }

  private split(b: Batch): void {
    const half = Math.ceil(b.entries.length / 2);
    const parts = [b.entries.slice(0, half), b.entries.slice(half)];
    let next = b.order + 1;
    for (const x of [...b.p.queue, ...b.p.inflight]) if (x.order > b.order && x.order < next) next = x.order;
    let seq = b.baseSequence;
    parts.forEach((entries, i) => {
      const nb = newBatch(b.p, b.order + ((next - b.order) * i) / 2, this.compressionType);
      for (const e of entries) {
        nb.encoder!.append(e.timestampMs, e.key, e.value, e.headers);
        nb.entries.push(e);
        nb.bytes += e.size;
      }
      nb.attempts = b.attempts;
      nb.split = true;
      if (seq >= 0) {
        nb.baseSequence = seq;
        seq = (seq + entries.length) % SEQ_MOD;
      }
      this.sealBatch(nb);
      this.requeue(nb);
    });
  }

  /** Takes the batch out of its partition's in-flight list; false when it was already settled. */
  private leaveFlight(b: Batch): boolean {
    const p = b.p;
    const i = p.inflight.indexOf(b);
    if (i >= 0) {
      p.inflight.splice(i, 1);
      this.totalInflight--;
      if (p.inflight.length === 0) p.blocked = false;
    }
    return !b.settled;
  }

  private settleBatch(b: Batch, err: Error): void {
    if (b.settled) return;
    b.settled = true;
    for (const { call, index } of b.entries) this.settle(call, index, err, null);
    this.release(b.bytes);
  }

  private failQueued(err: Error): void {
    for (const p of this.allPartitions()) {
      for (const b of p.queue.splice(0)) {
        if (this.config.idempotent && b.baseSequence >= 0) this.needsReset = true;
        this.counters.errors++;
        this.settleBatch(b, err);
      }
    }
  }

  /** close() gave up: every message without an outcome fails now; nothing is sent any more. */
  private abortAll(err: Error): void {
    this.shutdown = true;
    for (const p of this.allPartitions()) {
      if (p.timer) clearTimeout(p.timer);
      p.timer = undefined;
      const batches = [...(p.open ? [p.open] : []), ...p.queue.splice(0), ...p.inflight];
      p.open = null;
      for (const b of batches) this.settleBatch(b, err);
    }
    for (const call of [...this.pendingCalls]) for (let i = 0; i < call.messages.length; i++) this.settle(call, i, err, null);
    for (const w of this.spaceWaiters.splice(0)) w();
    this.teardown();
  }

  private teardown(): void {
    this.shutdown = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const w of this.spaceWaiters.splice(0)) w();
    this.cluster.close();
  }

  private fail(call: WriteCall, index: number, err: Error): void {
    this.counters.errors++;
    this.settle(call, index, err, null);
  }

  private settle(call: WriteCall, index: number, err: Error | null, result: WriteResult | null): void {
    if (call.done[index]) return;
    call.done[index] = 1;
    if (err) {
      call.errors[index] = err;
      call.failed = true;
    } else {
      call.results[index] = result;
    }
    if (--call.left === 0) {
      this.pendingCalls.delete(call);
      call.settle();
      if (this.pendingCalls.size === 0) for (const r of this.callsDrained.splice(0)) r();
    }
  }

  private completeCall(call: WriteCall): void {
    if (!this.config.completion) return;
    try {
      this.config.completion(call.messages, call.failed ? new WriteErrors(call.errors) : null, call.results);
    } catch {
      // A throwing callback must not break the writer.
    }
  }

  /** Gives back a batch's share of the buffer (its records; the header was never counted). */
  private release(batchBytes: number): void {
    this.buffered -= batchBytes - BatchLayout.HEADER_SIZE;
    if (this.spaceWaiters.length) for (const w of this.spaceWaiters.splice(0)) w();
  }

  // ------------------------------------------------------------------------------------ idempotence

  private async initProducerId(current: ProducerIdentity | null): Promise<ProducerIdentity> {
    const res = await this.cluster.call((o) => this.cluster.anyConnection('control', o), Api.InitProducerId, (conn) => ({
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      // Bumping the epoch of the id we have (KIP-360) needs v3; older brokers give a new id.
      ...(current && conn.version(Api.InitProducerId) >= 3 ? { producerId: current.producerId, producerEpoch: current.producerEpoch } : { producerId: -1n, producerEpoch: -1 }),
    }), {
      check: (r) => {
        if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, 'InitProducerId');
      },
      // A coordinator still loading after a restart is normal: keep asking for as long as a write may take.
      retryUntil: performance.now() + this.config.writeTimeoutMs,
    });
    this.producer = { producerId: res.producerId, producerEpoch: res.producerEpoch };
    return this.producer;
  }

  private async resetProducer(): Promise<void> {
    const current = this.producer;
    this.producer = null;
    try {
      await this.initProducerId(current);
    } catch {
      await this.initProducerId(null);
    }
    this.needsReset = false;
    // Sequences restart at 0 in the new epoch; unsent and returned batches are numbered again, in order.
    for (const p of this.allPartitions()) {
      p.nextSequence = 0;
      p.acked = false;
      for (const b of p.queue) b.baseSequence = -1;
    }
  }
}

function newBatch(p: PartitionState, order: number, compression: CompressionType): Batch {
  return {
    p,
    order,
    entries: [],
    createdAt: performance.now(),
    // A steady stream fills batches of about the same size: starting there saves the builder's
    // doublings (each a fresh zeroed buffer and a copy); after a small batch the next starts small.
    encoder: createBatchEncoder(compression, p.lastBatchBytes ? p.lastBatchBytes + 64 : 1024),
    sealed: null,
    sealedAt: 0,
    bytes: BatchLayout.HEADER_SIZE,
    attempts: 0,
    baseSequence: -1,
    settled: false,
    split: false,
  };
}

function isWriteOptions(x: WriterMessage | WriteOptions): x is WriteOptions {
  return typeof x === 'object' && x !== null && 'signal' in x && !('value' in x);
}

function toBytes(v: Uint8Array | string | null | undefined): Uint8Array | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? utf8.encode(v) : v;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new KafkaError(String(e), false);
}
