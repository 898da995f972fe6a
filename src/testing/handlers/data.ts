// The data path: Produce (batch checks, offsets, idempotence), Fetch (long poll), ListOffsets,
// DeleteRecords, InitProducerId and OffsetForLeaderEpoch.
import { Api, ErrorCode } from '../../protocol/messages/index.ts';
import { BatchLayout as L, crc32c } from '../../protocol/records/index.ts';
import { ZERO_UUID } from '../../protocol/wire/index.ts';
import { handler, NO_RESPONSE, type ApiHandler, type RequestContext } from '../context.ts';
import { describeBatch } from '../log.ts';
import { lastStableOffset, type PartitionState, type TopicState } from '../state.ts';

/** The partition a request names, or the error code a broker would answer for it. */
export function leaderPartition(ctx: RequestContext, t: TopicState | undefined, index: number, currentLeaderEpoch = -1, byId = false): PartitionState | number {
  if (!t) return byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const p = t.partitions[index];
  if (!p) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (p.leader === -1) return ErrorCode.LEADER_NOT_AVAILABLE;
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch > p.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < p.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (p.leader !== ctx.brokerId) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  return p;
}

function resolveTopic(ctx: RequestContext, name: string, topicId: string): { t: TopicState | undefined; byId: boolean } {
  const byId = !!topicId && topicId !== ZERO_UUID && !name;
  return { t: byId ? ctx.state.topicById(topicId) : ctx.state.topics.get(name), byId };
}

/**
 * The partition a consumer's Fetch names: served by its leader or, from Fetch v11 (KIP-392), by any
 * replica that is up (replication is not simulated: every replica holds the leader's log).
 */
function fetchPartition(ctx: RequestContext, t: TopicState | undefined, index: number, currentLeaderEpoch: number, byId: boolean): PartitionState | number {
  const p = leaderPartition(ctx, t, index, currentLeaderEpoch, byId);
  if (p !== ErrorCode.NOT_LEADER_OR_FOLLOWER || ctx.version < 11) return p;
  const q = t!.partitions[index]!;
  return q.replicas.includes(ctx.brokerId) ? q : p;
}

/** The replica in the fetcher's rack a leader points it to (RackAwareReplicaSelector), or -1. */
function preferredReplica(ctx: RequestContext, p: PartitionState, rackId: string): number {
  if (!rackId || p.leader !== ctx.brokerId || ctx.state.rackOf(ctx.brokerId) === rackId) return -1;
  const live = new Set(ctx.state.liveBrokers());
  return p.replicas.find((r) => r !== p.leader && live.has(r) && ctx.state.rackOf(r) === rackId) ?? -1;
}

/** Where the leader moved, for the `currentLeader` and `nodeEndpoints` hints of Produce/Fetch (KIP-951). */
function leaderHint(ctx: RequestContext, t: TopicState | undefined, index: number) {
  const p = t?.partitions[index];
  return p ? { leaderId: p.leader, leaderEpoch: p.leaderEpoch } : { leaderId: -1, leaderEpoch: -1 };
}

function endpoints(ctx: RequestContext, ids: Set<number>) {
  return [...ids].filter((id) => id >= 0 && ctx.listener.ports.has(id)).map((id) => ({ nodeId: id, host: ctx.listener.host, port: ctx.listener.ports.get(id)!, rack: ctx.state.rackOf(id) }));
}

/** Checks a produced record set: exactly one batch of magic 2, whole, with a good CRC and records. */
function checkBatch(records: Uint8Array | null): number {
  if (!records || records.length < L.HEADER_SIZE) return ErrorCode.CORRUPT_MESSAGE;
  const v = new DataView(records.buffer, records.byteOffset, records.byteLength);
  if (L.LOG_OVERHEAD + v.getInt32(L.BATCH_LENGTH) !== records.length) return ErrorCode.INVALID_RECORD;
  if (records[L.MAGIC] !== 2) return ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT;
  if (v.getUint32(L.CRC) !== crc32c(records.subarray(L.CRC_FROM))) return ErrorCode.CORRUPT_MESSAGE;
  if (v.getInt32(L.RECORD_COUNT) <= 0 || v.getInt32(L.LAST_OFFSET_DELTA) !== v.getInt32(L.RECORD_COUNT) - 1) return ErrorCode.INVALID_RECORD;
  if (v.getInt16(L.ATTRIBUTES) & L.CONTROL_BIT) return ErrorCode.INVALID_RECORD;
  return ErrorCode.NONE;
}

export function dataHandlers(): ApiHandler[] {
  return [
    handler(Api.Produce, (ctx, req) => {
      const moved = new Set<number>();
      const responses = req.topicData.map((td) => {
        const { t, byId } = resolveTopic(ctx, td.name, td.topicId);
        return {
          name: td.name,
          topicId: td.topicId,
          partitionResponses: td.partitionData.map((pd) => {
            const out = { index: pd.index, errorCode: ErrorCode.NONE as number, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null as string | null };
            const fail = (code: number, message: string | null = null) => {
              if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
                const hint = leaderHint(ctx, t, pd.index);
                moved.add(hint.leaderId);
                return { ...out, errorCode: code, errorMessage: message, currentLeader: hint };
              }
              return { ...out, errorCode: code, errorMessage: message };
            };
            if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) return fail(ErrorCode.INVALID_REQUIRED_ACKS);
            const p = leaderPartition(ctx, t, pd.index, -1, byId);
            if (typeof p === 'number') return fail(p);
            const bad = checkBatch(pd.records);
            if (bad !== ErrorCode.NONE) return fail(bad);
            const records = pd.records!;
            const maxBytes = Number(ctx.state.topicConfig(t!, 'max.message.bytes'));
            if (records.length > maxBytes) return fail(ErrorCode.MESSAGE_TOO_LARGE, `The batch of ${records.length} bytes is larger than max.message.bytes ${maxBytes}`);
            const incoming = describeBatch(records);
            const transactional = (new DataView(records.buffer, records.byteOffset).getInt16(L.ATTRIBUTES) & L.TRANSACTIONAL_BIT) !== 0;
            if (transactional !== (req.transactionalId !== null)) return fail(ErrorCode.INVALID_TXN_STATE);
            if (req.transactionalId !== null) {
              const err = ctx.services.transactions.checkProduce(req.transactionalId, incoming.producerId, incoming.producerEpoch, p);
              if (err !== ErrorCode.NONE) return fail(err);
            }
            const seq = ctx.state.checkSequence(p, incoming);
            const logAppend = ctx.state.topicConfig(t!, 'message.timestamp.type') === 'LogAppendTime';
            if (seq && 'error' in seq) return fail(seq.error);
            if (seq) {
              return { ...out, baseOffset: seq.duplicate, logAppendTimeMs: logAppend ? seq.appendTime : -1n, logStartOffset: p.log.logStartOffset };
            }
            const now = BigInt(Date.now());
            const stored = p.log.append(records, p.leaderEpoch, logAppend ? now : null);
            if (transactional && !p.openTxns.has(stored.producerId)) p.openTxns.set(stored.producerId, stored.baseOffset);
            ctx.state.recordSequence(p, stored, now);
            return { ...out, baseOffset: stored.baseOffset, logAppendTimeMs: logAppend ? now : -1n, logStartOffset: p.log.logStartOffset };
          }),
        };
      });
      if (req.acks === 0) return NO_RESPONSE;
      return { responses, throttleTimeMs: 0, nodeEndpoints: endpoints(ctx, moved) };
    }),

    handler(Api.Fetch, async (ctx, req) => {
      const byTopicId = ctx.version >= 13;
      const session = ctx.version >= 7 ? ctx.state.brokers.get(ctx.brokerId)!.fetchSessions.open(req, byTopicId) : null;
      if (typeof session === 'number') return { throttleTimeMs: 0, errorCode: session, sessionId: 0, responses: [], nodeEndpoints: [] };
      const wanted = (session?.topics ?? req.topics).map((ft) => ({ ft, ...resolveTopic(ctx, byTopicId ? '' : ft.topic, byTopicId ? ft.topicId : '') }));
      const build = () => {
        let total = 0;
        let errors = false;
        const moved = new Set<number>();
        const responses = wanted.map(({ ft, t, byId }) => ({
          topic: ft.topic,
          topicId: ft.topicId,
          partitions: ft.partitions.map((fp) => {
            const out = { partitionIndex: fp.partition, errorCode: ErrorCode.NONE as number, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: null, preferredReadReplica: -1, records: null as Uint8Array | null };
            const p = fetchPartition(ctx, t, fp.partition, fp.currentLeaderEpoch, byId);
            if (typeof p === 'number') {
              errors = true;
              if (p !== ErrorCode.NOT_LEADER_OR_FOLLOWER) return { ...out, errorCode: p };
              const hint = leaderHint(ctx, t, fp.partition);
              moved.add(hint.leaderId);
              return { ...out, errorCode: p, currentLeader: hint };
            }
            const log = p.log;
            const lso = lastStableOffset(p);
            const marks = { highWatermark: log.endOffset, lastStableOffset: lso, logStartOffset: log.logStartOffset };
            const preferredReadReplica = preferredReplica(ctx, p, req.rackId);
            if (preferredReadReplica >= 0) {
              errors = true; // Kafka answers a redirect at once, as it does an error
              return { ...out, ...marks, preferredReadReplica };
            }
            if (fp.fetchOffset < log.logStartOffset || fp.fetchOffset > log.endOffset) {
              errors = true;
              return { ...out, ...marks, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
            }
            const budget = Math.min(fp.partitionMaxBytes, Math.max(req.maxBytes - total, 0));
            // read_committed: nothing at or past the last stable offset, and the aborted transactions in range.
            const committed = req.isolationLevel === 1;
            const chunks = total > 0 && budget === 0 ? [] : log.read(fp.fetchOffset, Math.max(budget, 1), committed ? lso : log.endOffset);
            const records = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
            total += records.length;
            const abortedTransactions = committed
              ? p.aborted.filter((a) => a.lastOffset >= fp.fetchOffset).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }))
              : null;
            return { ...out, ...marks, abortedTransactions, records };
          }),
        }));
        return { total, errors, responses, moved };
      };
      let res = build();
      const deadline = performance.now() + req.maxWaitMs;
      // minBytes 0 answers at once, as Kafka does; otherwise wait for that much, an error, or maxWaitMs.
      while (!res.errors && res.total < req.minBytes && req.maxWaitMs > 0 && !ctx.signal.aborted) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        await waitForAppend(wanted.flatMap(({ ft, t }) => ft.partitions.map((fp) => t?.partitions[fp.partition]).filter((p) => p !== undefined)), left, ctx.signal);
        res = build();
      }
      let responses = res.responses;
      if (session) {
        // Every partition's marks are noted; an incremental answer leaves out those with nothing new.
        responses = responses
          .map((rt) => ({ ...rt, partitions: rt.partitions.filter((pr) => session.changed(byTopicId ? rt.topicId : rt.topic, pr.partitionIndex, pr) || !session.incremental) }))
          .filter((rt) => rt.partitions.length || !session.incremental);
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session?.sessionId ?? 0, responses, nodeEndpoints: endpoints(ctx, res.moved) };
    }),

    handler(Api.ListOffsets, async (ctx, req) => ({
      throttleTimeMs: 0,
      topics: await Promise.all(req.topics.map(async (lt) => ({
        name: lt.name,
        partitions: await Promise.all(lt.partitions.map(async (lp) => {
          const out = { partitionIndex: lp.partitionIndex, errorCode: ErrorCode.NONE as number, timestamp: -1n, offset: -1n, leaderEpoch: -1 };
          const p = leaderPartition(ctx, ctx.state.topics.get(lt.name), lp.partitionIndex, lp.currentLeaderEpoch);
          if (typeof p === 'number') return { ...out, errorCode: p };
          const log = p.log;
          const epoch = ctx.version >= 4 ? p.leaderEpoch : -1;
          const at = (offset: bigint, timestamp = -1n) => ({ ...out, offset, timestamp, leaderEpoch: epoch });
          switch (lp.timestamp) {
            case -1n: return at(req.isolationLevel === 1 ? lastStableOffset(p) : log.endOffset);
            case -2n: case -4n: return at(log.logStartOffset);
            case -3n: { const m = await log.maxTimestamp(); return m ? at(m.offset, m.timestamp) : at(-1n); }
            case -5n: return at(-1n);
            default: { const f = await log.offsetForTime(lp.timestamp); return f ? at(f.offset, f.timestamp) : { ...out, leaderEpoch: epoch }; }
          }
        })),
      }))),
    })),

    handler(Api.DeleteRecords, (ctx, req) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((dt) => ({
        name: dt.name,
        partitions: dt.partitions.map((dp) => {
          const p = leaderPartition(ctx, ctx.state.topics.get(dt.name), dp.partitionIndex);
          if (typeof p === 'number') return { partitionIndex: dp.partitionIndex, lowWatermark: -1n, errorCode: p };
          const to = dp.offset === -1n ? p.log.endOffset : dp.offset;
          if (to < 0n || to > p.log.endOffset) return { partitionIndex: dp.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
          p.log.deleteBefore(to);
          ctx.state.persist();
          return { partitionIndex: dp.partitionIndex, lowWatermark: p.log.logStartOffset, errorCode: ErrorCode.NONE };
        }),
      })),
    })),

    handler(Api.InitProducerId, async (ctx, req) => {
      const none = { throttleTimeMs: 0, producerId: -1n, producerEpoch: -1, ongoingTxnProducerId: -1n, ongoingTxnProducerEpoch: -1 };
      if (req.transactionalId !== null) {
        const t = await ctx.services.transactions.init(req.transactionalId, req.transactionTimeoutMs, ctx.version >= 3 ? { producerId: req.producerId, epoch: req.producerEpoch } : undefined);
        if (typeof t === 'number') return { ...none, errorCode: t === ErrorCode.PRODUCER_FENCED && ctx.version < 4 ? ErrorCode.INVALID_PRODUCER_EPOCH : t };
        return { ...none, errorCode: ErrorCode.NONE, producerId: t.producerId, producerEpoch: t.epoch };
      }
      // KIP-360: a producer that knows its id asks for a bumped epoch instead of a new id.
      if (req.producerId >= 0n && req.producerEpoch >= 0) {
        return { ...none, errorCode: ErrorCode.NONE, producerId: req.producerId, producerEpoch: (req.producerEpoch + 1) & 0x7fff };
      }
      return { ...none, errorCode: ErrorCode.NONE, producerId: ctx.state.allocateProducerId(), producerEpoch: 0 };
    }, { max: 5 }),

    handler(Api.OffsetForLeaderEpoch, (ctx, req) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((ot) => ({
        topic: ot.topic,
        partitions: ot.partitions.map((op) => {
          const p = leaderPartition(ctx, ctx.state.topics.get(ot.topic), op.partition, op.currentLeaderEpoch);
          if (typeof p === 'number') return { errorCode: p, partition: op.partition, leaderEpoch: -1, endOffset: -1n };
          if (op.leaderEpoch >= p.leaderEpoch) return { errorCode: ErrorCode.NONE, partition: op.partition, leaderEpoch: p.leaderEpoch, endOffset: p.log.endOffset };
          const batches = p.log.allBatches();
          const next = batches.find((b) => b.leaderEpoch > op.leaderEpoch);
          const prior = batches.filter((b) => b.leaderEpoch <= op.leaderEpoch).pop();
          return { errorCode: ErrorCode.NONE, partition: op.partition, leaderEpoch: prior?.leaderEpoch ?? -1, endOffset: next ? next.baseOffset : p.log.endOffset };
        }),
      })),
    })),
  ];
}

/** Resolves when any of the partitions gets a batch, after `ms`, or when the signal fires. */
function waitForAppend(partitions: PartitionState[], ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    const done = () => {
      clearTimeout(timer);
      for (const off of offs) off();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const p of partitions) offs.push(p.log.onAppend(done));
    signal.addEventListener('abort', done, { once: true });
  });
}
