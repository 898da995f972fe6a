// The transactional side of a Writer (KIP-98): the transactional id's producer id and epoch from its
// coordinator, the state of the open transaction, partitions added to it (AddPartitionsToTxn, one
// request per round of the send loop), offsets sent in it (AddOffsetsToTxn + TxnOffsetCommit) and its
// end (EndTxn). Where the cluster has transaction version 2 (KIP-890 part 2, Kafka 4.0+: ApiVersions'
// finalized feature transaction.version ≥ 2) it does what the Java client does there: Produce v12+ and
// TxnOffsetCommit v5 add the partition or group by themselves, and EndTxn v5 gives a new epoch per
// transaction. What each error means is decided in txn-errors.ts, nowhere else.
import { Api, ErrorCode } from '../../protocol/messages/index.ts';
import { KafkaError, TransactionAbortableError, TransactionStateError } from '../../protocol/errors.ts';
import type { CallOptions, Cluster } from '../cluster.ts';
import type { Connection } from '../connection.ts';
import type { Coordinators } from '../coordinator.ts';
import { deadline, raceSignal } from '../deadline.ts';
import { coordinatorCall } from '../group-call.ts';
import type { Accumulator, PartitionQueue } from './accumulator.ts';
import type { ProducerIdentity, ProducerState } from './producer-state.ts';
import type { Sender, TxnGate } from './sender.ts';
import { classifyTxnError, coordinatorError } from './txn-errors.ts';

/** What a consumer group member gives a transaction so its offsets commit with it (Reader.groupMetadata()). */
export interface GroupMetadata {
  groupId: string;
  /** Generation (classic protocol) or member epoch (consumer protocol, KIP-848). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

/** An offset to commit in the transaction: the next one to read (the last processed message's offset + 1). */
export interface TxnOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch?: number;
  metadata?: string | null;
}

export type TxnState =
  | 'uninitialized'
  /** No transaction open. */
  | 'ready'
  | 'open'
  /** EndTxn(commit) is under way, or failed without an answer: only commitTransaction may follow. */
  | 'committing'
  | 'aborting'
  /** A write or request in the transaction failed: only abortTransaction may follow. */
  | 'abortable'
  /** Fenced or refused for good: nothing may follow. */
  | 'fatal';

export interface TransactionDeps {
  transactionalId: string;
  transactionTimeoutMs: number;
  maxTransactionVersion: 1 | 2;
  /** Default deadline of the blocking calls, and how long shared coordinator work keeps retrying. */
  timeoutMs: number;
  cluster: Cluster;
  coordinators: Coordinators;
  acc: Accumulator;
  /** Resolves once every write call made so far has settled (after flushing what lingers). */
  writesSettled(): Promise<void>;
  /** Ends every write call still pending now (queued messages are removed, never sent), failing them with `cause`. */
  abandonWrites(cause: Error): void;
}

const TXN_VERSION_FEATURE = 'transaction.version';

export class Transaction implements TxnGate {
  readonly transactionalId: string;
  private s: TxnState = 'uninitialized';
  /** Transaction version 2 (KIP-890 part 2): decided once, from the coordinator's ApiVersions. */
  private tv2 = false;
  private error: Error | null = null;
  /** The producer's sequence state is unknown: the abort must start a new epoch (KIP-360). */
  private bumpRequired = false;
  private readonly added = new Set<PartitionQueue>();
  private readonly toAdd = new Set<PartitionQueue>();
  private adding = false;
  /** The AddPartitionsToTxn under way: the transaction does not end before it has its answer. */
  private addWork: Promise<void> = Promise.resolve();
  /**
   * The coordinator knows of this transaction (a partition or a group was added to it, or with
   * transaction version 2 a write went out). Until then there is nothing to end: EndTxn would be
   * refused with INVALID_TXN_STATE, so commit and abort end it here, as the Java client does.
   */
  private started = false;
  /** sendOffsets calls under way: commit waits for them. */
  private readonly ops = new Set<Promise<unknown>>();
  /** EndTxn (or the epoch bump that replaces an abort) under way: shared by every caller that waits for it. */
  private ending: Promise<void> | null = null;
  producer!: ProducerState;
  sender!: Sender;

  constructor(private readonly d: TransactionDeps) {
    this.transactionalId = d.transactionalId;
  }

  get state(): TxnState {
    return this.s;
  }

  // ------------------------------------------------------------------------------- producer id

  /** InitProducerId with the transactional id, at its coordinator. `current` bumps that epoch (KIP-360/588). */
  async initProducerId(current: ProducerIdentity | null): Promise<ProducerIdentity> {
    const res = await this.coordinatorCall(Api.InitProducerId, (_v, conn) => {
      this.tv2 = this.d.maxTransactionVersion >= 2 && supportsTv2(conn);
      return {
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.d.transactionTimeoutMs,
        producerId: current?.producerId ?? -1n,
        producerEpoch: current?.producerEpoch ?? -1,
      };
    }, (r) => r.errorCode, {});
    if (this.s === 'uninitialized') this.s = 'ready';
    return { producerId: res.producerId, producerEpoch: res.producerEpoch };
  }

  // ------------------------------------------------------------------------------- the caller's calls

  async begin(opts: CallOptions): Promise<void> {
    this.throwIfFatal();
    if (this.s === 'open' || this.s === 'abortable' || this.s === 'committing' || this.s === 'aborting') {
      throw new TransactionStateError(`beginTransaction: a transaction is already ${this.s === 'open' ? 'open' : this.s}`);
    }
    const dl = deadline(opts, this.d.timeoutMs, 'beginTransaction');
    try {
      // The first begin gets the producer id (fencing any older Writer with this transactional id).
      await raceSignal(this.producer.warmUp(), dl.signal, 'beginTransaction aborted');
    } catch (e) {
      this.failedWith(e, 'coordinator');
      throw e;
    } finally {
      dl.dispose();
    }
    this.throwIfFatal();
    this.added.clear();
    this.toAdd.clear();
    this.started = false;
    this.error = null;
    this.s = 'open';
  }

  /** Throws unless writes may be made now (inside an open transaction). */
  checkWrite(): void {
    this.throwIfFatal();
    if (this.s === 'abortable') throw new TransactionAbortableError(`the transaction must be aborted: ${this.error?.message}`, this.error);
    if (this.s !== 'open') throw new TransactionStateError('a transactional Writer writes only inside a transaction: call beginTransaction() first');
  }

  async sendOffsets(group: GroupMetadata, offsets: readonly TxnOffset[], opts: CallOptions): Promise<void> {
    this.checkWrite();
    if (!offsets.length) return;
    const dl = deadline(opts, this.d.timeoutMs, 'sendOffsets');
    const work = this.commitOffsets(group, offsets, { signal: dl.signal, timeoutMs: dl.remaining() });
    this.ops.add(work);
    try {
      await work;
    } catch (e) {
      this.failedWith(e, 'coordinator');
      throw e;
    } finally {
      this.ops.delete(work);
      dl.dispose();
    }
  }

  async commit(opts: CallOptions): Promise<void> {
    this.throwIfFatal();
    const dl = deadline(opts, this.d.timeoutMs, 'commitTransaction');
    try {
      if (this.s === 'open') {
        await raceSignal(Promise.allSettled([this.d.writesSettled(), ...this.ops]), dl.signal, 'commitTransaction aborted');
        if (this.producer.needsReset) this.bumpNeeded();
        this.checkWrite(); // a write or sendOffsets that failed meanwhile made it abortable
        this.s = 'committing';
      } else if (this.s !== 'committing') {
        if (this.s === 'abortable') this.checkWrite();
        throw new TransactionStateError(`commitTransaction: no transaction open (${this.s})`);
      }
      await raceSignal((this.ending ??= this.end(true)), dl.signal, 'commitTransaction aborted');
    } finally {
      dl.dispose();
    }
  }

  async abort(opts: CallOptions): Promise<void> {
    this.throwIfFatal();
    if (this.s === 'committing') throw new TransactionStateError('abortTransaction: the commit is under way or its outcome unknown; call commitTransaction again');
    if (this.s === 'ready' || this.s === 'uninitialized') throw new TransactionStateError('abortTransaction: no transaction open');
    const dl = deadline(opts, this.d.timeoutMs, 'abortTransaction');
    try {
      if (this.s !== 'aborting') {
        this.s = 'aborting';
        // Writes not sent yet never will be (also those still waiting for buffer space: they must not
        // land in the next transaction); those in flight come back before the transaction ends.
        const aborted = new TransactionAbortableError('the transaction was aborted before this message was acknowledged');
        this.d.abandonWrites(aborted);
        this.sender.failQueued(aborted);
      }
      // A retry after an abort that got no answer in time ends the transaction again.
      await raceSignal((this.ending ??= this.sender.whenIdle().then(() => this.end(false))), dl.signal, 'abortTransaction aborted');
    } finally {
      dl.dispose();
    }
  }

  // ---------------------------------------------------------------------- hooks from the send loop

  produceVersion(conn: Connection): number {
    const v = conn.version(Api.Produce);
    // Without transaction version 2 the broker does not add partitions itself: v12+ must not be used.
    return this.tv2 ? v : Math.min(v, 11);
  }

  admit(p: PartitionQueue): boolean {
    // Nothing is sent outside an open transaction (with transaction version 2 a write would open one);
    // what waits here is failed by the transition that closed it, or by the abort.
    if (this.s !== 'open') return false;
    if (this.tv2) this.started = true;
    if (this.tv2 || this.added.has(p)) return true;
    this.toAdd.add(p);
    if (!this.adding) this.scheduleAdd();
    return false;
  }

  /** ProducerState: the sequence state is lost (a gap, a timed-out write): the transaction cannot commit. */
  bumpNeeded(): void {
    this.bumpRequired = true;
    this.failedWith(new TransactionAbortableError('a write in the transaction failed or timed out: its sequence state is unknown'), 'produce');
  }

  /** A write call in the transaction failed: the transaction cannot commit (or the Writer is fenced). */
  writeFailed(errors: readonly (Error | null)[]): void {
    for (const e of errors) if (e && !(e instanceof TransactionAbortableError)) return this.failedWith(e, 'produce');
    const first = errors.find((e) => e);
    if (first) this.failedWith(first, 'produce');
  }

  // -------------------------------------------------------------------------------------- internals

  private throwIfFatal(): void {
    if (this.s === 'fatal') throw this.error!;
  }

  /** Records a failure by its class (txn-errors.ts): a fatal one ends the Writer's transactions, others make the open one abortable. */
  private failedWith(e: unknown, source: 'coordinator' | 'produce'): void {
    const err = e instanceof Error ? e : new KafkaError(String(e), false);
    const k = classifyTxnError(err, source);
    if (k.kind === 'fatal') {
      this.s = 'fatal';
      this.error = err;
      this.sender.failQueued(err);
      return;
    }
    if (k.kind === 'abortable' && k.bump) this.bumpRequired = true;
    if (this.s !== 'open') return;
    this.s = 'abortable';
    this.error = err;
    this.sender.failQueued(new TransactionAbortableError(`the transaction must be aborted: ${err.message}`, err));
  }

  /** Ends the open transaction; the shared work of every commit/abort call waiting for it. */
  private async end(commit: boolean): Promise<void> {
    try {
      const id = this.producer.identity!;
      await this.addWork;
      // First EndTxn with our epoch, always: a Writer fenced by a newer one is refused here
      // (PRODUCER_FENCED) without touching the newer one's transaction. An InitProducerId first
      // would not be: the coordinator checks only the producer id before aborting the ongoing
      // transaction, which would be the newer Writer's. A transaction the coordinator never heard of
      // has no EndTxn.
      const res = this.started
        ? await this.coordinatorCall(Api.EndTxn, () => ({
            transactionalId: this.transactionalId,
            producerId: id.producerId,
            producerEpoch: id.producerEpoch,
            committed: commit,
          }), (r) => r.errorCode, { version: (c) => (this.tv2 ? c.version(Api.EndTxn) : Math.min(4, c.version(Api.EndTxn))) })
        : null;
      if (res && this.tv2) {
        // KIP-890 part 2: every transaction ends with a new epoch, which the next one writes with.
        if (res.producerId >= 0n) this.producer.adopt({ producerId: res.producerId, producerEpoch: res.producerEpoch }, () => this.d.acc.all());
      } else if (!commit && (this.bumpRequired || this.producer.needsReset)) {
        // Our sequence state is unknown: a new epoch (KIP-360), now that no transaction is open.
        await this.producer.bump(() => this.d.acc.all());
      }
      this.s = 'ready';
      this.error = null;
      this.bumpRequired = false;
      this.added.clear();
    } catch (e) {
      const k = classifyTxnError(e, 'coordinator');
      if (k.kind === 'fatal') {
        this.s = 'fatal';
        this.error = e as Error;
      } else if (k.kind === 'abortable' && commit) {
        this.s = 'abortable';
        this.error = e as Error;
      }
      // Otherwise (no answer in time) the state stays: the same call may be made again.
      throw e;
    } finally {
      this.ending = null;
    }
  }

  /** One AddPartitionsToTxn for every partition waiting to be added (v3 and below: the client's versions). */
  private async addPartitions(): Promise<void> {
    const batch = [...this.toAdd];
    this.toAdd.clear();
    const id = this.producer.identity;
    try {
      if (!batch.length || !id || this.s !== 'open') return;
      const byTopic = new Map<string, number[]>();
      for (const p of batch) (byTopic.get(p.topic) ?? byTopic.set(p.topic, []).get(p.topic)!).push(p.partition);
      // From the moment a request that adds to the transaction may have reached the coordinator.
      this.started = true;
      await this.coordinatorCall(Api.AddPartitionsToTxn, () => ({
        v3AndBelowTransactionalId: this.transactionalId,
        v3AndBelowProducerId: id.producerId,
        v3AndBelowProducerEpoch: id.producerEpoch,
        v3AndBelowTopics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      }), (r) => firstError((r.resultsByTopicV3AndBelow ?? []).flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode))), {
        version: (c) => Math.min(3, c.version(Api.AddPartitionsToTxn)),
      });
      for (const p of batch) this.added.add(p);
    } catch (e) {
      this.failedWith(e, 'coordinator');
    } finally {
      this.adding = false;
      if (this.toAdd.size && this.s === 'open') this.scheduleAdd();
      this.sender.wake(0);
    }
  }

  /** The next AddPartitionsToTxn, once the writes admitted in this turn are collected. */
  private scheduleAdd(): void {
    this.adding = true;
    const work = this.addWork.then(() => new Promise<void>((resolve) => queueMicrotask(() => void this.addPartitions().finally(resolve))));
    this.addWork = work;
  }

  private async commitOffsets(group: GroupMetadata, offsets: readonly TxnOffset[], opts: CallOptions): Promise<void> {
    const id = this.producer.identity!;
    this.started = true;
    if (!this.tv2) {
      await this.coordinatorCall(Api.AddOffsetsToTxn, () => ({
        transactionalId: this.transactionalId,
        producerId: id.producerId,
        producerEpoch: id.producerEpoch,
        groupId: group.groupId,
      }), (r) => r.errorCode, opts);
    }
    const byTopic = new Map<string, TxnOffset[]>();
    for (const o of offsets) (byTopic.get(o.topic) ?? byTopic.set(o.topic, []).get(o.topic)!).push(o);
    await coordinatorCall(this.d.cluster, this.d.coordinators, { key: group.groupId, type: 'group' }, Api.TxnOffsetCommit, () => ({
      transactionalId: this.transactionalId,
      groupId: group.groupId,
      producerId: id.producerId,
      producerEpoch: id.producerEpoch,
      generationIdOrMemberEpoch: group.generationId,
      memberId: group.memberId,
      groupInstanceId: group.groupInstanceId,
      topics: [...byTopic].map(([name, list]) => ({
        name,
        topicId: this.d.cluster.current?.topics.get(name)?.topicId ?? '',
        partitions: list.map((o) => ({
          partitionIndex: o.partition,
          committedOffset: o.offset,
          committedLeaderEpoch: o.leaderEpoch ?? -1,
          committedMetadata: o.metadata ?? null,
        })),
      })),
    }), (r) => firstError(r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))), {
      ...opts,
      // v5 adds the group to the transaction by itself (transaction version 2); v6 names topics by id only.
      version: (c) => Math.min(this.tv2 ? 5 : 4, c.version(Api.TxnOffsetCommit)),
    }, (code) => coordinatorError(code, `TxnOffsetCommit ${group.groupId}`));
  }

  private coordinatorCall<Req, Res>(
    api: Parameters<typeof coordinatorCall<Req, Res>>[3],
    body: Parameters<typeof coordinatorCall<Req, Res>>[4],
    errorOf: (res: Res) => number,
    opts: CallOptions & { version?: (conn: Connection) => number },
  ): Promise<Res> {
    return coordinatorCall(this.d.cluster, this.d.coordinators, { key: this.transactionalId, type: 'transaction' }, api, body, errorOf, {
      // Shared work (an id, an EndTxn several callers wait for) retries for as long as a call may take.
      retryUntil: performance.now() + this.d.timeoutMs,
      timeoutMs: this.d.timeoutMs,
      ...opts,
    }, (code) => coordinatorError(code, `${api.name} ${this.transactionalId}`));
  }
}

/** The first error of a batched answer; OPERATION_NOT_ATTEMPTED only echoes another partition's error. */
function firstError(codes: number[]): number {
  return codes.find((c) => c !== ErrorCode.NONE && c !== ErrorCode.OPERATION_NOT_ATTEMPTED) ?? codes.find((c) => c !== ErrorCode.NONE) ?? ErrorCode.NONE;
}

function supportsTv2(conn: Connection): boolean {
  const upTo = (api: typeof Api.EndTxn | typeof Api.Produce): number => {
    try {
      return conn.version(api);
    } catch {
      return -1;
    }
  };
  return (conn.features.get(TXN_VERSION_FEATURE) ?? 0) >= 2 && upTo(Api.EndTxn) >= 5 && upTo(Api.Produce) >= 12;
}
