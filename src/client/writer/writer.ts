// Writer: the single-cluster producer, after kafka-go's Writer. Its parts, each in its own module:
// call.ts (one call's outcomes and deadline), admission.ts (calls into the accumulator, in order),
// accumulator.ts (per-partition batches that grow until sent), sender.ts (the send loop),
// outcome.ts (what a failed batch calls for), producer-state.ts (idempotent id, epoch, sequences).
// Idempotent by default: retries keep producer id, epoch and sequence, so the broker drops duplicates,
// and a partition's batches are resent in order.
import { Api, ErrorCode } from '../../protocol/messages/index.ts';
import { AbortedError, ClosedError, KafkaError, KafkaProtocolError, TransactionStateError } from '../../protocol/errors.ts';
import { parseCompression } from '../../protocol/compression/index.ts';
import { Cluster, type CallOptions } from '../cluster.ts';
import { Coordinators } from '../coordinator.ts';
import { deadline, raceSignal } from '../deadline.ts';
import { Accumulator } from './accumulator.ts';
import { Admission } from './admission.ts';
import { parseWriteArgs, WriteCall, type WriteOptions } from './call.ts';
import { ACKS, resolveWriterConfig, type ResolvedWriterConfig, type WriteResult, type WriterConfig, type WriterMessage } from './config.ts';
import { ProducerState, type ProducerIdentity } from './producer-state.ts';
import { Sender } from './sender.ts';
import { WriterMeter, type WriterStats } from './stats.ts';
import { Transaction, type GroupMetadata, type TxnOffset, type TxnState } from './transaction.ts';

export type { WriterConfig, WriterMessage, WriteResult } from './config.ts';
export type { WriteOptions } from './call.ts';
export type { GroupMetadata, TxnOffset, TxnState } from './transaction.ts';

/** What transaction(fn) hands fn: the Writer's calls that belong inside a transaction. */
export interface TransactionScope {
  writeMessages: Writer['writeMessages'];
  sendOffsets: Writer['sendOffsets'];
}

export class Writer {
  readonly config: ResolvedWriterConfig;
  private readonly cluster: Cluster;
  private readonly meter = new WriterMeter();
  private readonly acc: Accumulator;
  private readonly sender: Sender;
  private readonly admission: Admission;
  private readonly pending = new Set<WriteCall>();
  private drained: (() => void)[] = [];
  /** Aborted at teardown: ends the Writer's own waits (metadata lookups' backoff). */
  private readonly lifetime = new AbortController();
  private closed = false;
  private closing: Promise<void> | null = null;

  private readonly producer: ProducerState | null;
  /** Set when the Writer is transactional (transactionalId). */
  private readonly txn: Transaction | null;

  constructor(config: WriterConfig) {
    this.config = resolveWriterConfig(config);
    const cfg = this.config;
    this.cluster = new Cluster(
      {
        ...config,
        // The broker answers a Produce within its timeoutMs (writeTimeoutMs); the margin covers the trip.
        requestTimeoutMs: config.requestTimeoutMs ?? cfg.writeTimeoutMs + 5_000,
        // Shared work (metadata, InitProducerId) must not outlast what a write may take.
        retryTimeoutMs: config.retryTimeoutMs ?? cfg.writeTimeoutMs,
        callTimeoutMs: config.callTimeoutMs ?? cfg.writeTimeoutMs,
      },
      { onDial: () => void this.meter.counters.dials++ },
    );
    this.acc = new Accumulator(
      {
        batchSize: cfg.batchSize,
        batchBytes: cfg.batchBytes,
        batchTimeoutMs: cfg.batchTimeoutMs,
        maxBufferedBytes: cfg.maxBufferedBytes,
        compression: parseCompression(cfg.compression),
        transactional: cfg.transactionalId !== undefined,
      },
      {
        wake: (d) => this.sender.wake(d),
        sealFailed: (b, e) => this.sender.sealFailed(b, e),
        closed: (ms) => this.meter.batchTime.observe(ms),
      },
    );
    const txn = cfg.transactionalId
      ? new Transaction({
          transactionalId: cfg.transactionalId,
          transactionTimeoutMs: cfg.transactionTimeoutMs ?? 60_000,
          maxTransactionVersion: cfg.maxTransactionVersion ?? 2,
          timeoutMs: cfg.writeTimeoutMs,
          cluster: this.cluster,
          coordinators: new Coordinators(this.cluster),
          acc: this.acc,
          writesSettled: () => this.writesSettled(),
          abandonWrites: (cause) => {
            for (const call of [...this.pending]) call.endEarly('abort', cause);
          },
        })
      : null;
    this.txn = txn;
    const producer = cfg.idempotent
      ? new ProducerState((current) => (txn ? txn.initProducerId(current) : this.initProducerId(current)), txn)
      : null;
    this.producer = producer;
    this.sender = new Sender(cfg, this.cluster, this.acc, producer, this.meter);
    if (txn) {
      txn.producer = producer!;
      txn.sender = this.sender;
      this.sender.txn = txn;
    }
    this.admission = new Admission(cfg, this.cluster, this.acc, this.meter, this.lifetime.signal);
  }

  // ------------------------------------------------------------------------------------- public API

  /**
   * Forgets the reconnect backoff its connections built up while brokers were down, so the next write
   * dials at once. For when something else has seen the brokers answer again (MultiWriter calls it when
   * its health probes do); the backoff exists not to hammer brokers that are down.
   */
  redialNow(): void {
    this.cluster.redialNow();
  }

  /**
   * Does ahead of time what the first write would wait for: metadata of the writer's topic (or
   * `topics`), produce connections to their leaders and the idempotent producer id. A standby that
   * takes over gets its first writes through at once. Ends by its own deadline (default
   * writeTimeoutMs); a failure changes nothing (the first write tries again).
   */
  async warmUp(opts: { topics?: string[]; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    const dl = deadline(opts, this.config.writeTimeoutMs, 'warmUp');
    try {
      const topics = opts.topics ?? (this.config.topic ? [this.config.topic] : []);
      const m = await this.cluster.metadata(topics, { signal: dl.signal, timeoutMs: dl.remaining() });
      const leaders = new Set(topics.flatMap((t) => m.topics.get(t)?.partitions.map((p) => p.leader) ?? []).filter((l) => l >= 0));
      await Promise.all([
        ...[...leaders].map((l) => this.cluster.brokerConnection(l, 'produce', { signal: dl.signal, timeoutMs: dl.remaining() })),
        raceSignal(this.producer?.warmUp() ?? Promise.resolve(), dl.signal, 'warmUp aborted'),
      ]);
    } finally {
      dl.dispose();
    }
  }

  /**
   * Writes messages; resolves with where each landed once all are acknowledged as configured. When some
   * fail, rejects with WriteErrors aligned with the messages. Options may come last: `{ signal,
   * timeoutMs }`. The call has one deadline, timeoutMs (default writeTimeoutMs) from now: when it
   * passes, or the signal fires, the call rejects at once with WriteErrors (TimeoutError or
   * AbortedError per message without an outcome); messages still queued are removed and never sent,
   * and `sent[i]` tells those already in a request (outcome unknown). In async mode resolves once the
   * messages are queued (the completion callback gets every outcome).
   */
  async writeMessages(...args: (WriterMessage | WriteOptions)[]): Promise<WriteResult[]> {
    const { messages, opts } = parseWriteArgs<WriterMessage>(args);
    if (this.closed) throw new ClosedError('writer closed');
    this.txn?.checkWrite();
    if (messages.length === 0) return [];
    this.validate(messages);
    const timeoutMs = opts.timeoutMs ?? this.config.writeTimeoutMs;
    if (!(timeoutMs >= 0)) throw new KafkaError(`timeoutMs must be a number of milliseconds ≥ 0, not ${timeoutMs}`, false);
    const call = new WriteCall(
      messages,
      timeoutMs,
      opts.signal,
      (c, reason) => c.endEarly(reason, reason === 'timeout' ? this.sender.trouble : undefined),
      (c) => this.callSettled(c),
    );
    this.pending.add(call);
    if (opts.signal?.aborted) call.endEarly('abort');
    else this.admission.submit(call);
    if (this.config.async) {
      await call.admitted;
      // Only a call that ended before its messages were even queued reports to the caller here.
      if (!call.wasAdmitted && call.endReason) throw call.toError();
      return [];
    }
    await call.settled;
    if (call.failed) throw call.toError();
    return call.results as WriteResult[];
  }

  // ------------------------------------------------------------------------------- transactions

  /**
   * Opens a transaction (transactional Writer only). The first call also gets the producer id from the
   * transactional id's coordinator, which fences any older Writer with the same id and aborts what it
   * left open. One deadline: timeoutMs (default writeTimeoutMs) from now.
   */
  async beginTransaction(opts: CallOptions = {}): Promise<void> {
    await this.transactional('beginTransaction').begin(opts);
  }

  /**
   * Sends what lingers, waits for every write of the transaction, then commits it (EndTxn). A failed
   * write makes it abortable: rejects with TransactionAbortableError, and abortTransaction() follows.
   * If the commit's outcome is unknown when the deadline passes (TimeoutError), call it again.
   */
  async commitTransaction(opts: CallOptions = {}): Promise<void> {
    await this.transactional('commitTransaction').commit(opts);
  }

  /** Aborts the open transaction: unsent writes fail, writes already made are never visible to read_committed. */
  async abortTransaction(opts: CallOptions = {}): Promise<void> {
    await this.transactional('abortTransaction').abort(opts);
  }

  /**
   * Commits consumer offsets with the transaction (AddOffsetsToTxn + TxnOffsetCommit): they take effect
   * only if it commits. `group` from the group Reader (Reader.groupMetadata()); each offset is the next
   * one to read (last processed + 1).
   */
  async sendOffsets(group: GroupMetadata, offsets: readonly TxnOffset[], opts: CallOptions = {}): Promise<void> {
    await this.transactional('sendOffsets').sendOffsets(group, offsets, opts);
  }

  /**
   * Runs fn inside a transaction: commits when it resolves, aborts when it (or the commit) throws, and
   * rethrows. `opts` bounds beginning and committing.
   */
  async transaction<T>(fn: (tx: TransactionScope) => Promise<T>, opts: CallOptions = {}): Promise<T> {
    const txn = this.transactional('transaction');
    const dl = deadline(opts, this.config.writeTimeoutMs, 'transaction');
    try {
      await txn.begin({ signal: dl.signal, timeoutMs: dl.remaining() });
      let result: T;
      try {
        result = await fn({ writeMessages: (...a) => this.writeMessages(...a), sendOffsets: (g, o, op) => this.sendOffsets(g, o, op) });
        await txn.commit({ signal: dl.signal, timeoutMs: dl.remaining() });
      } catch (e) {
        // Its own deadline: the caller's may be what just ran out. A fenced Writer cannot abort (the
        // broker already did): the caller gets the first error either way.
        if (txn.state === 'open' || txn.state === 'abortable' || txn.state === 'aborting') await txn.abort({}).catch(() => {});
        throw e;
      }
      return result;
    } finally {
      dl.dispose();
    }
  }

  /** Where the transaction is: ready, open, committing, aborting, abortable, fatal (null: not transactional). */
  get transactionState(): TxnState | null {
    return this.txn?.state ?? null;
  }

  private transactional(what: string): Transaction {
    if (this.closed) throw new ClosedError('writer closed');
    if (!this.txn) throw new TransactionStateError(`${what} needs a transactional Writer (transactionalId)`);
    return this.txn;
  }

  /** Sends what lingers and resolves once every write call has settled. */
  private writesSettled(): Promise<void> {
    this.acc.flush();
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise<void>((r) => this.drained.push(r));
  }

  /** Counters since the last call (then reset), with kafka-go's WriterStats fields. */
  stats(): WriterStats {
    return {
      ...this.meter.take(),
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
    return this.acc.buffered;
  }

  /**
   * Sends what is pending and waits for every call to end (each within its deadline); later writes fail
   * with ClosedError. With a signal, aborting stops the wait: what is still pending fails with
   * AbortedError (queued messages are not sent; `sent` marks those whose outcome is unknown).
   */
  async close(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        this.acc.lingerOff = true;
        this.acc.flush();
        while (this.pending.size) await new Promise<void>((r) => this.drained.push(r));
        this.teardown();
      })();
    }
    const signal = opts.signal;
    if (!signal) return this.closing;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.abortAll();
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

  // -------------------------------------------------------------------------------------- internals

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

  private callSettled(call: WriteCall): void {
    this.pending.delete(call);
    if (call.failed) this.txn?.writeFailed(call.errors);
    if (this.pending.size === 0) for (const r of this.drained.splice(0)) r();
    const completion = this.config.completion;
    if (!completion) return;
    // Not from inside the send loop: the callback may write again.
    queueMicrotask(() => {
      try {
        completion(call.messages, call.failed ? call.toError() : null, call.results);
      } catch {
        // A throwing callback must not break the writer.
      }
    });
  }

  /** close() gave up: every call without an outcome ends now; nothing is sent any more. */
  private abortAll(): void {
    this.lifetime.abort();
    this.sender.close();
    for (const call of [...this.pending]) call.endEarly('shutdown');
    this.teardown();
  }

  private teardown(): void {
    if (!this.lifetime.signal.aborted) this.lifetime.abort();
    this.sender.close();
    this.acc.wakeAll();
    this.cluster.close();
  }

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
    return { producerId: res.producerId, producerEpoch: res.producerEpoch };
  }
}
