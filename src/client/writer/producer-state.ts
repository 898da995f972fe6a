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

export class ProducerState {
  identity: ProducerIdentity | null = null;
  /** A new epoch must be started before anything more is sent. */
  needsReset = false;
  private work: Promise<void> | null = null;

  constructor(private readonly init: InitProducer) {}

  /**
   * Whether batches may be stamped now; if not, starts what is missing (a first id, or a new epoch once
   * `inflight` is 0). `partitions` are renumbered when a new epoch starts; `needed`: something waits
   * to be sent (no id is asked for before).
   */
  prepare(partitions: () => Iterable<PartitionQueue>, inflight: number, needed: () => boolean): Readiness {
    if (this.work) return { state: 'pending', work: this.work };
    if (this.needsReset) {
      if (inflight > 0) return { state: 'drain-first' };
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
    } catch {
      this.identity = await this.init(null);
    }
    this.needsReset = false;
    for (const p of partitions()) {
      p.nextSequence = 0;
      p.acked = false;
      for (const b of p.batches) b.baseSequence = -1;
    }
  }
}
