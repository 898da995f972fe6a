// Transactions, as much as a client needs to write them and a read_committed reader to filter them:
// InitProducerId with a transactional id (epoch bumps fence the previous producer), AddPartitionsToTxn,
// transactional Produce, AddOffsetsToTxn/TxnOffsetCommit (offsets applied on commit only), and EndTxn
// writing a commit or abort marker (a control batch) to each partition.
// The last stable offset holds read_committed fetches below open transactions; aborted ones are listed
// in Fetch answers. Transaction state lives in memory only: a killed harness process forgets it.
import { Api, ErrorCode } from '../protocol/messages/index.ts';
import { BatchLayout as L, crc32c, encodeRecordBatch } from '../protocol/records/index.ts';
import { handler, type ApiHandler, type RequestContext } from './context.ts';
import type { ClusterState, CommittedOffset, PartitionState } from './state.ts';

interface Txn {
  producerId: bigint;
  epoch: number;
  /** The epoch before a timeout abort bumped it (KIP-588): its producer may still ask for a bump. */
  lastEpoch: number;
  timeoutMs: number;
  /** Aborts the transaction when it stays open longer than timeoutMs, as the coordinator does. */
  timer: ReturnType<typeof setTimeout> | null;
  partitions: Set<PartitionState>;
  /** Groups added by AddOffsetsToTxn, and the offsets TxnOffsetCommit staged: written on commit only. */
  groups: Set<string>;
  offsets: { group: string; topic: string; partition: number; offset: CommittedOffset }[];
}

const COMMIT = 1;
const ABORT = 0;

export class Transactions {
  private readonly txns = new Map<string, Txn>();

  constructor(private readonly state: ClusterState) {}

  /** The error code for a transactional produce to `p`, NONE when the transaction may write there. */
  checkProduce(transactionalId: string, producerId: bigint, epoch: number, p: PartitionState): number {
    const t = this.txns.get(transactionalId);
    if (!t || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (epoch !== t.epoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    return t.partitions.has(p) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
  }

  /**
   * `known`: the id and epoch of a producer asking for its own epoch to be bumped (KIP-360); refused
   * with PRODUCER_FENCED when a newer producer took the transactional id since.
   */
  async init(transactionalId: string, timeoutMs: number, known?: { producerId: bigint; epoch: number }): Promise<{ producerId: bigint; epoch: number } | number> {
    let t = this.txns.get(transactionalId);
    if (known && known.producerId >= 0n && (!t || t.producerId !== known.producerId || (t.epoch !== known.epoch && t.lastEpoch !== known.epoch))) {
      return t ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    }
    if (!t) {
      t = { producerId: this.state.allocateProducerId(), epoch: 0, lastEpoch: -1, timeoutMs, timer: null, partitions: new Set(), groups: new Set(), offsets: [] };
      this.txns.set(transactionalId, t);
      return t;
    }
    t.timeoutMs = timeoutMs;
    t.lastEpoch = -1;
    // A new producer with this id fences the old one; what the old one left open is aborted.
    await this.end(t, false);
    t.epoch++;
    return t;
  }

  /** The coordinator's check of a request's id and epoch: an older epoch is fenced (PRODUCER_FENCED). */
  private check(transactionalId: string, producerId: bigint, epoch: number): Txn | number {
    const t = this.txns.get(transactionalId);
    if (!t || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (epoch !== t.epoch) return ErrorCode.PRODUCER_FENCED;
    return t;
  }

  add(transactionalId: string, producerId: bigint, epoch: number, p: PartitionState | undefined): number {
    const t = this.check(transactionalId, producerId, epoch);
    if (typeof t === 'number') return t;
    if (!p) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    this.started(t);
    t.partitions.add(p);
    return ErrorCode.NONE;
  }

  addGroup(transactionalId: string, producerId: bigint, epoch: number, group: string): number {
    const t = this.check(transactionalId, producerId, epoch);
    if (typeof t === 'number') return t;
    this.started(t);
    t.groups.add(group);
    return ErrorCode.NONE;
  }

  /** The transaction is ongoing from its first partition or group: its timeout runs from then. */
  private started(t: Txn): void {
    if (t.timer) return;
    t.timer = setTimeout(() => {
      t.timer = null;
      // Aborted by the coordinator, with the epoch bumped so the producer's next write is refused
      // (INVALID_PRODUCER_EPOCH) and only an epoch bump from the epoch it had is accepted (KIP-588).
      void this.end(t, false).then(() => {
        t.lastEpoch = t.epoch;
        t.epoch++;
      });
    }, t.timeoutMs);
    t.timer.unref?.();
  }

  /** Stops the transaction timers (the cluster is stopping). */
  close(): void {
    for (const t of this.txns.values()) if (t.timer) clearTimeout(t.timer);
  }

  stageOffset(transactionalId: string, producerId: bigint, epoch: number, group: string, topic: string, partition: number, offset: CommittedOffset): number {
    const t = this.check(transactionalId, producerId, epoch);
    if (typeof t === 'number') return t;
    if (!t.groups.has(group)) return ErrorCode.INVALID_TXN_STATE;
    t.offsets.push({ group, topic, partition, offset });
    return ErrorCode.NONE;
  }

  async endTxn(transactionalId: string, producerId: bigint, epoch: number, commit: boolean): Promise<number> {
    const t = this.check(transactionalId, producerId, epoch);
    if (typeof t === 'number') return t;
    await this.end(t, commit);
    return ErrorCode.NONE;
  }

  private async end(t: Txn, commit: boolean): Promise<void> {
    if (t.timer) clearTimeout(t.timer);
    t.timer = null;
    for (const p of t.partitions) {
      const marker = await controlBatch(t.producerId, t.epoch, commit ? COMMIT : ABORT);
      const first = p.openTxns.get(t.producerId);
      const stored = p.log.append(marker, p.leaderEpoch, null);
      p.openTxns.delete(t.producerId);
      if (!commit && first !== undefined) {
        p.aborted.push({ producerId: t.producerId, firstOffset: first, lastOffset: stored.baseOffset });
        // Bounded like the log: entries wholly below the log start can no longer matter.
        while (p.aborted.length && p.aborted[0].lastOffset < p.log.logStartOffset) p.aborted.shift();
      }
    }
    t.partitions.clear();
    if (commit) {
      for (const o of t.offsets) this.state.commitOffset(o.group, o.topic, o.partition, o.offset);
      if (t.offsets.length) this.state.persist();
    }
    t.offsets = [];
    t.groups.clear();
  }
}

/** A transaction marker: one control record, key (version, type), value (version, coordinator epoch). */
async function controlBatch(producerId: bigint, epoch: number, type: number): Promise<Uint8Array> {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, type);
  const value = new Uint8Array(6);
  const batch = await encodeRecordBatch([{ key, value }], { transactional: true, producerId, producerEpoch: epoch, baseSequence: -1 });
  const v = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  v.setInt16(L.ATTRIBUTES, v.getInt16(L.ATTRIBUTES) | L.CONTROL_BIT);
  v.setUint32(L.CRC, crc32c(batch.subarray(L.CRC_FROM)));
  return batch;
}

/** PRODUCER_FENCED came with v2 of AddPartitionsToTxn, AddOffsetsToTxn and EndTxn: older versions say INVALID_PRODUCER_EPOCH. */
function fencedAs(version: number, code: number): number {
  return code === ErrorCode.PRODUCER_FENCED && version < 2 ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
}

function partitionOf(ctx: RequestContext, topic: string, index: number): PartitionState | undefined {
  return ctx.state.topics.get(topic)?.partitions[index];
}

export function txnHandlers(): ApiHandler[] {
  return [
    handler(Api.AddPartitionsToTxn, (ctx, req) => {
      const txns = ctx.services.transactions;
      const results = (id: string, pid: bigint, epoch: number, topics: { name: string; partitions: number[] }[]) =>
        topics.map((t) => ({
          name: t.name,
          resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: fencedAs(ctx.version, txns.add(id, pid, epoch, partitionOf(ctx, t.name, p))) })),
        }));
      if (ctx.version <= 3) {
        return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics) };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        resultsByTransaction: req.transactions.map((t) => ({ transactionalId: t.transactionalId, topicResults: results(t.transactionalId, t.producerId, t.producerEpoch, t.topics) })),
      };
    }, { max: 5 }),

    handler(Api.AddOffsetsToTxn, (ctx, req) => ({
      throttleTimeMs: 0,
      errorCode: fencedAs(ctx.version, ctx.services.transactions.addGroup(req.transactionalId, req.producerId, req.producerEpoch, req.groupId)),
    })),

    handler(Api.TxnOffsetCommit, (ctx, req) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((rt) => {
        const t = ctx.version >= 6 && !rt.name ? ctx.state.topicById(rt.topicId) : ctx.state.topics.get(rt.name);
        return {
          name: rt.name,
          topicId: rt.topicId,
          partitions: rt.partitions.map((rp) => ({
            partitionIndex: rp.partitionIndex,
            errorCode: !t?.partitions[rp.partitionIndex]
              ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
              : ctx.services.transactions.stageOffset(req.transactionalId, req.producerId, req.producerEpoch, req.groupId, t.name, rp.partitionIndex, {
                  offset: rp.committedOffset, leaderEpoch: rp.committedLeaderEpoch, metadata: rp.committedMetadata,
                }),
          })),
        };
      }),
    })),

    handler(Api.EndTxn, async (ctx, req) => ({
      throttleTimeMs: 0,
      errorCode: fencedAs(ctx.version, await ctx.services.transactions.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed)),
      producerId: -1n,
      producerEpoch: -1,
    }), { max: 4 }),
  ];
}
