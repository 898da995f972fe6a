// Writer: the single-cluster producer, after kafka-go's Writer. Messages go to per-partition batches
// (encoded as they grow), batches close on size, bytes or linger, and one Produce request per leader
// carries every ready batch for it. Idempotent by default: retries keep producer id, epoch and
// sequence, so the broker drops duplicates, and a partition's batches are resent in order.
import { Api } from '../../protocol/messages/index.ts';
import { AbortedError, ClosedError, ConnectionError, KafkaError, KafkaProtocolError } from '../../protocol/errors.ts';
import { Cluster } from '../cluster.ts';
import { backoff, invalidatesMetadata } from '../retry.ts';
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
const ERR = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  MESSAGE_TOO_LARGE: 10,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  UNKNOWN_PRODUCER_ID: 59,
} as const;

/** Options for one writeMessages call, given as its last argument. */
export interface WriteOptions {
  signal: AbortSignal;
}

interface WriteCall {
  readonly messages: WriterMessage[];
  readonly errors: (Error | null)[];
  readonly results: (WriteResult | null)[];
  left: number;
  failed: boolean;
  settle: () => void;
}

interface Entry {
  call: WriteCall;
  index: number;
}

interface Batch {
  readonly p: PartitionState;
  readonly order: number;
  readonly entries: Entry[];
  readonly createdAt: number;
  encoder: OpenBatchEncoder | null;
  sealing: Promise<SealedBatch> | null;
  sealed: SealedBatch | null;
  sealedAt: number;
  bytes: number;
  attempts: number;
  /** Kafka sequence of the first record, -1 until first sent (or after a producer reset). */
  baseSequence: number;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  open: Batch | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  queue: Batch[];
  inflight: number;
  nextSequence: number;
  nextOrder: number;
  /** A retry is pending: nothing more is sent until the batches in flight have come back. */
  blocked: boolean;
  retryAt: number;
}

interface ProducerIdentity {
  producerId: bigint;
  producerEpoch: number;
}

export class Writer {
  readonly config: ResolvedWriterConfig;
  private readonly cluster: Cluster;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly compressionType: CompressionType;
  private producer: ProducerIdentity | null = null;
  private producerInit: Promise<ProducerIdentity> | null = null;
  private needsReset = false;
  private totalInflight = 0;
  private buffered = 0;
  private spaceWaiters: (() => void)[] = [];
  private pendingCalls = new Set<Promise<unknown>>();
  private drainScheduled = false;
  private draining = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
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
    this.cluster = new Cluster({ ...config, requestTimeoutMs: config.requestTimeoutMs ?? this.config.writeTimeoutMs + 5_000 });
    this.compressionType = parseCompression(this.config.compression);
  }

  // ------------------------------------------------------------------------------------- public API

  /**
   * Writes messages; resolves with where each landed once all are acknowledged as configured. When some
   * fail, rejects with WriteErrors aligned with the messages. In async mode resolves once they are queued
   * (the completion callback gets the outcome). An AbortSignal may be passed as `{ signal }` last.
   */
  async writeMessages(...args: (WriterMessage | WriteOptions)[]): Promise<WriteResult[]> {
    const last = args[args.length - 1];
    const opts = last && isWriteOptions(last) ? (args.pop() as WriteOptions) : undefined;
    const messages = args as WriterMessage[];
    if (this.closed) throw new ClosedError('writer closed');
    if (messages.length === 0) return [];
    const signal = opts?.signal;
    if (signal?.aborted) throw new AbortedError('writeMessages aborted before anything was sent', signal.reason);

    let resolveCall!: () => void;
    const done = new Promise<void>((r) => (resolveCall = r));
    const call: WriteCall = {
      messages,
      errors: new Array(messages.length).fill(null),
      results: new Array(messages.length).fill(null),
      left: messages.length,
      failed: false,
      settle: resolveCall,
    };
    const tracked = done.then(() => this.completeCall(call));
    this.pendingCalls.add(tracked);
    void tracked.finally(() => this.pendingCalls.delete(tracked));

    await this.enqueue(call, signal);
    if (this.config.async) return [];
    if (!signal) {
      await done;
    } else {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(new AbortedError('writeMessages aborted; whether the messages were written is unknown', signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        void done.then(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
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

  /** Flushes pending messages and waits for them; later writes fail with ClosedError. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        for (const p of this.partitions.values()) if (p.open) this.seal(p);
        this.scheduleDrain();
        while (this.pendingCalls.size) await Promise.allSettled([...this.pendingCalls]);
        if (this.retryTimer) clearTimeout(this.retryTimer);
        for (const w of this.spaceWaiters.splice(0)) w();
        this.cluster.close();
      })();
    }
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------- enqueue

  private async enqueue(call: WriteCall, signal?: AbortSignal): Promise<void> {
    const { messages } = call;
    const topics = new Set<string>();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (this.config.topic && m.topic && m.topic !== this.config.topic) {
        this.fail(call, i, new KafkaError(`message ${i} names topic ${m.topic} but the writer writes to ${this.config.topic}`, false));
      } else if (!this.config.topic && !m.topic) {
        this.fail(call, i, new KafkaError(`message ${i} has no topic and the writer has none`, false));
      } else {
        topics.add((m.topic ?? this.config.topic)!);
      }
    }
    let meta;
    try {
      meta = await this.cluster.metadata([...topics], { signal, autoCreate: this.config.allowAutoTopicCreation });
      // A topic that is still unknown after fresh metadata does not exist: report it, do not retry it.
      if ([...topics].some((t) => !meta!.topics.get(t)?.partitions.length)) {
        meta = await this.cluster.refreshMetadata({ topics: [...topics], signal, autoCreate: this.config.allowAutoTopicCreation });
      }
    } catch (e) {
      for (let i = 0; i < messages.length; i++) if (!call.errors[i]) this.fail(call, i, asError(e));
      return;
    }
    const waitStart = performance.now();
    while (this.buffered > this.config.maxBufferedBytes && !this.closed) {
      await new Promise<void>((r) => this.spaceWaiters.push(r));
      if (signal?.aborted) break;
    }
    if (this.buffered > 0) this.summaries.waitTime.observe(performance.now() - waitStart);
    if (signal?.aborted) {
      for (let i = 0; i < messages.length; i++) if (!call.errors[i] && !call.results[i]) this.fail(call, i, new AbortedError('aborted before it was queued', signal.reason));
      return;
    }

    const now = Date.now();
    for (let i = 0; i < messages.length; i++) {
      if (call.errors[i]) continue;
      const m = messages[i];
      const topic = (m.topic ?? this.config.topic)!;
      const t = meta.topics.get(topic);
      if (!t || t.errorCode !== 0 || t.partitions.length === 0) {
        this.fail(call, i, new KafkaProtocolError(t?.errorCode || ERR.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic}`));
        continue;
      }
      const key = toBytes(m.key ?? null);
      const value = toBytes(m.value);
      const headers = (m.headers ?? []).map((h) => ({ key: h.key, value: toBytes(h.value) }));
      const size = (key?.length ?? 0) + (value?.length ?? 0) + headers.reduce((n, h) => n + h.key.length + (h.value?.length ?? 0), 0) + 32;
      if (size > this.config.batchBytes) {
        this.fail(call, i, new KafkaProtocolError(ERR.MESSAGE_TOO_LARGE, `message ${i} of ${size} bytes exceeds batchBytes ${this.config.batchBytes}`));
        continue;
      }
      const partition = this.config.balancer.balance({ key, value }, t.partitions.map((p) => p.partition));
      const p = this.partitionState(topic, partition);
      let b = p.open;
      if (b && b.bytes + size > this.config.batchBytes) {
        this.seal(p);
        b = null;
      }
      if (!b) b = this.openBatch(p);
      b.encoder!.append(m.time ? m.time.getTime() : now, key, value, headers);
      b.entries.push({ call, index: i });
      b.bytes += size;
      this.buffered += size;
      if (b.entries.length >= this.config.batchSize) this.seal(p);
    }
  }

  private partitionState(topic: string, partition: number): PartitionState {
    const key = `${topic}\u0000${partition}`;
    let p = this.partitions.get(key);
    if (!p) {
      p = { topic, partition, open: null, timer: undefined, queue: [], inflight: 0, nextSequence: 0, nextOrder: 0, blocked: false, retryAt: 0 };
      this.partitions.set(key, p);
    }
    return p;
  }

  private openBatch(p: PartitionState): Batch {
    const b: Batch = {
      p,
      order: p.nextOrder++,
      entries: [],
      createdAt: performance.now(),
      encoder: createBatchEncoder(this.compressionType),
      sealing: null,
      sealed: null,
      sealedAt: 0,
      bytes: 0,
      attempts: 0,
      baseSequence: -1,
    };
    p.open = b;
    p.timer = setTimeout(() => {
      if (p.open === b) this.seal(p);
    }, this.config.batchTimeoutMs);
    return b;
  }

  /** Closes the partition's open batch: compress it (possibly off the event loop) and queue it. */
  private seal(p: PartitionState): void {
    const b = p.open;
    if (!b) return;
    p.open = null;
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    this.summaries.batchTime.observe(performance.now() - b.createdAt);
    const encoder = b.encoder!;
    b.encoder = null;
    b.sealing = Promise.resolve(encoder.seal()).then(
      (sealed) => {
        b.sealed = sealed;
        b.sealedAt = performance.now();
        this.scheduleDrain();
        return sealed;
      },
      (e) => {
        this.settleBatch(b, asError(e));
        p.queue = p.queue.filter((x) => x !== b);
        this.scheduleDrain();
        throw e;
      },
    );
    b.sealing.catch(() => {});
    p.queue.push(b);
  }

  // ----------------------------------------------------------------------------------------- sending

  private scheduleDrain(delayMs = 0): void {
    if (delayMs > 0) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
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
    if (this.draining) return this.scheduleDrain(1);
    this.draining = true;
    try {
      if (this.config.idempotent) {
        if (this.needsReset) {
          // A sequence gap (a batch failed for good) or lost producer state: start a new epoch once
          // nothing is in flight, so no batch of the old epoch can land after one of the new.
          if (this.totalInflight > 0) return;
          await this.resetProducer();
        }
        if (!this.producer) await this.producerId();
      }
      const meta = this.cluster.current;
      const now = performance.now();
      let soonest = Infinity;
      let needMetadata = false;
      for (;;) {
        const byLeader = new Map<number, Batch[]>();
        for (const p of this.partitions.values()) {
          if (p.blocked || p.queue.length === 0) continue;
          if (p.inflight >= this.config.maxInFlightPerPartition) continue;
          if (p.retryAt > now) {
            soonest = Math.min(soonest, p.retryAt - now);
            continue;
          }
          const b = p.queue[0];
          if (!b.sealed) continue;
          const leader = meta?.partition(p.topic, p.partition)?.leader ?? -1;
          if (leader < 0 || !meta?.brokers.has(leader)) {
            needMetadata = true;
            continue;
          }
          p.queue.shift();
          p.inflight++;
          this.totalInflight++;
          if (this.config.idempotent && b.baseSequence < 0) {
            b.baseSequence = p.nextSequence;
            p.nextSequence = (p.nextSequence + b.entries.length) | 0;
          }
          if (this.config.idempotent) b.sealed.stamp(this.producer!.producerId, this.producer!.producerEpoch, b.baseSequence);
          let list = byLeader.get(leader);
          if (!list) byLeader.set(leader, (list = []));
          list.push(b);
        }
        if (byLeader.size === 0) break;
        for (const [leader, batches] of byLeader) void this.produce(leader, batches);
      }
      if (needMetadata) {
        this.cluster.refreshMetadata().then(() => this.scheduleDrain(), () => this.scheduleDrain(this.config.writeBackoffMinMs));
      } else if (soonest < Infinity) {
        this.scheduleDrain(Math.max(1, soonest));
      }
    } catch (e) {
      // Producer id unobtainable (or the cluster closed): every queued batch fails or retries.
      this.failQueued(asError(e));
    } finally {
      this.draining = false;
    }
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
      topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
    };
    this.counters.writes++;
    try {
      const conn = await this.cluster.brokerConnection(leader, 'produce');
      if (acks === 0) {
        await conn.requestNoResponse(Api.Produce, body);
        for (const b of batches) this.batchDone(b, -1n);
        return;
      }
      const res = await conn.request(Api.Produce, body);
      this.summaries.writeTime.observe(performance.now() - sentAt);
      const results = new Map<string, { errorCode: number; baseOffset: bigint; errorMessage?: string | null }>();
      for (const t of res.responses) for (const pr of t.partitionResponses) results.set(`${t.name}\u0000${pr.index}`, pr);
      for (const b of batches) {
        const r = results.get(`${b.p.topic}\u0000${b.p.partition}`);
        if (!r) this.batchFailed(b, new KafkaError(`Produce response lacks ${b.p.topic}/${b.p.partition}`, true));
        else if (r.errorCode === 0) this.batchDone(b, r.baseOffset);
        else if (r.errorCode === ERR.DUPLICATE_SEQUENCE_NUMBER) this.batchDone(b, -1n);
        else this.batchFailed(b, new KafkaProtocolError(r.errorCode, `${b.p.topic}/${b.p.partition}${r.errorMessage ? `: ${r.errorMessage}` : ''}`));
      }
    } catch (e) {
      for (const b of batches) this.batchFailed(b, asError(e));
    } finally {
      this.scheduleDrain();
    }
  }

  private batchDone(b: Batch, baseOffset: bigint): void {
    this.inflightDone(b.p);
    this.counters.messages += b.entries.length;
    this.counters.bytes += b.sealed?.bytes.length ?? 0;
    this.summaries.batchSize.observe(b.entries.length);
    this.summaries.batchBytes.observe(b.sealed?.bytes.length ?? 0);
    for (let i = 0; i < b.entries.length; i++) {
      const { call, index } = b.entries[i];
      call.results[index] = { topic: b.p.topic, partition: b.p.partition, offset: baseOffset >= 0n ? baseOffset + BigInt(i) : -1n };
      this.settleEntry(call);
    }
    this.release(b.bytes);
  }

  private batchFailed(b: Batch, err: Error): void {
    const p = b.p;
    this.inflightDone(p);
    const code = err instanceof KafkaProtocolError ? err.code : 0;
    const producerLost = code === ERR.UNKNOWN_PRODUCER_ID || code === ERR.INVALID_PRODUCER_EPOCH;
    // An earlier batch of this partition is waiting to be resent: this one failed only because of it.
    const behindRetry = code === ERR.OUT_OF_ORDER_SEQUENCE_NUMBER && p.queue.some((x) => x.order < b.order);
    const retriable = (err instanceof KafkaError && err.retriable) || producerLost || code === ERR.OUT_OF_ORDER_SEQUENCE_NUMBER;
    if (!behindRetry) b.attempts++;
    if (!retriable || b.attempts >= this.config.maxAttempts) {
      this.counters.errors++;
      this.settleBatch(b, err);
      // The sequence numbers of this batch were never written: later batches need a new epoch.
      if (this.config.idempotent && b.baseSequence >= 0) this.needsReset = true;
      return;
    }
    this.counters.retries++;
    if ((code === ERR.OUT_OF_ORDER_SEQUENCE_NUMBER && !behindRetry) || producerLost) this.needsReset = true;
    if (invalidatesMetadata(err) || err instanceof ConnectionError || err.name === 'TimeoutError') {
      this.cluster.invalidate();
      this.cluster.refreshMetadata().catch(() => {});
    }
    // Back in the queue in its original place; hold the partition until its other batches come back.
    const at = p.queue.findIndex((x) => x.order > b.order);
    if (at < 0) p.queue.push(b);
    else p.queue.splice(at, 0, b);
    if (p.inflight > 0) p.blocked = true;
    p.retryAt = performance.now() + backoff(b.attempts, this.config.writeBackoffMinMs, this.config.writeBackoffMaxMs);
  }

  private inflightDone(p: PartitionState): void {
    p.inflight--;
    this.totalInflight--;
    if (p.inflight === 0) p.blocked = false;
  }

  private settleBatch(b: Batch, err: Error): void {
    for (const { call, index } of b.entries) {
      if (!call.errors[index]) {
        call.errors[index] = err;
        call.failed = true;
        this.settleEntry(call);
      }
    }
    this.release(b.bytes);
  }

  private failQueued(err: Error): void {
    for (const p of this.partitions.values()) {
      const queued = p.queue.splice(0);
      for (const b of queued) this.settleBatch(b, err);
    }
  }

  private fail(call: WriteCall, index: number, err: Error): void {
    call.errors[index] = err;
    call.failed = true;
    this.counters.errors++;
    this.settleEntry(call);
  }

  private settleEntry(call: WriteCall): void {
    if (--call.left === 0) call.settle();
  }

  private completeCall(call: WriteCall): void {
    if (!this.config.completion) return;
    try {
      this.config.completion(call.messages, call.failed ? new WriteErrors(call.errors) : null, call.results);
    } catch {
      // A throwing callback must not break the writer.
    }
  }

  private release(bytes: number): void {
    this.buffered -= bytes;
    if (this.buffered <= this.config.maxBufferedBytes) for (const w of this.spaceWaiters.splice(0)) w();
  }

  // ------------------------------------------------------------------------------------ idempotence

  private producerId(): Promise<ProducerIdentity> {
    if (this.producer) return Promise.resolve(this.producer);
    if (!this.producerInit) {
      this.producerInit = this.initProducerId(null).finally(() => (this.producerInit = null));
    }
    return this.producerInit;
  }

  private async initProducerId(current: ProducerIdentity | null): Promise<ProducerIdentity> {
    const res = await this.cluster.call((o) => this.cluster.anyConnection('control', o), Api.InitProducerId, (conn) => ({
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      // Bumping the epoch of the id we have (KIP-360) needs v3; older brokers give a new id.
      ...(current && conn.version(Api.InitProducerId) >= 3 ? { producerId: current.producerId, producerEpoch: current.producerEpoch } : { producerId: -1n, producerEpoch: -1 }),
    }), {
      check: (r) => {
        if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, 'InitProducerId');
      },
    });
    this.producer = { producerId: res.producerId, producerEpoch: res.producerEpoch };
    return this.producer;
  }

  private async resetProducer(): Promise<void> {
    this.needsReset = false;
    const current = this.producer;
    this.producer = null;
    try {
      await this.initProducerId(current);
    } catch {
      await this.initProducerId(null);
    }
    // Sequences restart at 0 in the new epoch; unsent and returned batches are numbered again, in order.
    for (const p of this.partitions.values()) {
      p.nextSequence = 0;
      for (const b of p.queue) b.baseSequence = -1;
    }
  }
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
