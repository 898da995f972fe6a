// Idempotent producer state: the producer id and epoch, and each partition's next sequence number.
// Sequences are taken when a batch is first sent, never earlier, so messages removed before sending
// leave no gap. A gap that cannot be filled (a numbered batch failed for good, or was abandoned), or a
// broker that lost our state, calls for a new epoch; it is started once nothing is in flight, so no
// batch of the old epoch can land after one of the new, and every unsent batch is numbered afresh.
import type { Batch, PartitionQueue } from './accumulator.ts';
import { SEQ_MOD } from './accumulator.ts';

export interface ProducerIdentity {
  producerId: bigint;
  producerEpoch: number;
}

/** InitProducerId: `current` asks to bump that id's epoch (KIP-360); null asks for a new id. */
export type InitProducer = (current: ProducerIdentity | null) => Promise<ProducerIdentity>;

export type Readiness =
  | { state: 'ready' }
  /** A new epoch is due, but batches are still in flight: wait for them to come back. */
  | { state: 'drain-first' }
  /** InitProducerId is under way (or just started): wait for it. */
  | { state: 'pending'; work: Promise<void> };

/**
 * A transactional producer does not start a new epoch by itself: InitProducerId with its transactional
 * id aborts the open transaction, so writes already acknowledged in it would silently vanish. It tells
 * the transaction (`bumpNeeded`), which fails and starts the new epoch when the caller aborts (`bump`).
 */
export interface EpochOwner {
  bumpNeeded(): void;
}

export class ProducerState {
  identity: ProducerIdentity | null = null;
  /** A new epoch must be started before anything more is sent. */
  needsReset = false;
  private work: Promise<void> | null = null;
  private bumpSignalled = false;

  constructor(
    private readonly init: InitProducer,
    private readonly owner: EpochOwner | null = null,
  ) {}

  /**
   * Whether batches may be stamped now; if not, starts what is missing (a first id, or a new epoch once
   * `inflight` is 0). `partitions` are renumbered when a new epoch starts; `needed`: something waits
   * to be sent (no id is asked for before).
   */
  prepare(partitions: () => Iterable<PartitionQueue>, inflight: number, needed: () => boolean): Readiness {
    if (this.work) return { state: 'pending', work: this.work };
    if (this.needsReset) {
      if (inflight > 0) return { state: 'drain-first' };
      if (this.owner) {
        if (!this.bumpSignalled) this.owner.bumpNeeded();
        this.bumpSignalled = true;
        return { state: 'drain-first' }; // nothing more is sent until the transaction is aborted
      }
      return { state: 'pending', work: this.track(this.reset(partitions)) };
    }
    if (!this.identity) {
      if (!needed()) return { state: 'ready' };
      return { state: 'pending', work: this.track(this.first()) };
    }
    return { state: 'ready' };
  }

  /** Numbers the batch (first send in this epoch) and writes producer id, epoch and sequence into it. */
  stamp(p: PartitionQueue, b: Batch): void {
    if (b.baseSequence < 0) {
      b.baseSequence = p.nextSequence;
      p.nextSequence = (p.nextSequence + b.entries.length) % SEQ_MOD;
    }
    const id = this.identity!;
    b.sealed!.stamp(id.producerId, id.producerEpoch, b.baseSequence);
  }

  /** Gets the first producer id ahead of the first write (shares the work with a send that needs it). */
  warmUp(): Promise<void> {
    if (this.work) return this.work;
    if (this.identity || this.needsReset) return Promise.resolve();
    return this.track(this.first());
  }

  /** Starts a new epoch now (a transactional abort that needs one); shares work already under way. */
  bump(partitions: () => Iterable<PartitionQueue>): Promise<void> {
    if (this.work) return this.work.then(() => this.bump(partitions));
    return this.track(this.reset(partitions));
  }

  /** Takes the id and epoch the coordinator gave at the end of a transaction (KIP-890: a new epoch per transaction). */
  adopt(identity: ProducerIdentity, partitions: () => Iterable<PartitionQueue>): void {
    const same = this.identity && this.identity.producerId === identity.producerId && this.identity.producerEpoch === identity.producerEpoch;
    this.identity = identity;
    if (same) return;
    this.needsReset = false;
    this.bumpSignalled = false;
    this.renumber(partitions);
  }

  private track(work: Promise<void>): Promise<void> {
    this.work = work;
    const clear = () => void (this.work = null);
    work.then(clear, clear);
    return work;
  }

  private async first(): Promise<void> {
    this.identity = await this.init(null);
  }

  private async reset(partitions: () => Iterable<PartitionQueue>): Promise<void> {
    const current = this.identity;
    this.identity = null;
    try {
      this.identity = await this.init(current);
    } catch (e) {
      // A transactional producer refused the bump is fenced: asking as a new producer would fence the
      // newer one instead, and let this zombie write.
      if (this.owner) {
        this.identity = current;
        throw e;
      }
      this.identity = await this.init(null);
    }
    this.needsReset = false;
    this.bumpSignalled = false;
    this.renumber(partitions);
  }

  private renumber(partitions: () => Iterable<PartitionQueue>): void {
    for (const p of partitions()) {
      p.nextSequence = 0;
      p.acked = false;
      for (const b of p.batches) b.baseSequence = -1;
    }
  }
}
