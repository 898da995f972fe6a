// Group APIs: FindCoordinator, the classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup),
// KIP-848's ConsumerGroupHeartbeat, DescribeGroups, ListGroups, OffsetCommit and OffsetFetch.
import { Api, ErrorCode } from '../../protocol/messages/index.ts';
import { ZERO_UUID } from '../../protocol/wire/index.ts';
import { handler, type ApiHandler, type RequestContext } from '../context.ts';
import { offsetKey } from '../state.ts';

const MAX_METADATA = 4096;

/** NONE when this broker coordinates the group, else the code a client must act on. */
function coordinatorError(ctx: RequestContext, groupId: string): number {
  const c = ctx.state.coordinatorFor(groupId);
  if (c === -1) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  return c === ctx.brokerId ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
}

function groupKind(ctx: RequestContext, groupId: string): 'classic' | 'consumer' | null {
  if (ctx.services.consumerGroups.get(groupId)?.members.size) return 'consumer';
  if (ctx.services.groups.get(groupId)?.members.size) return 'classic';
  return null;
}

export function groupHandlers(): ApiHandler[] {
  return [
    handler(Api.FindCoordinator, (ctx, req) => {
      const keys = ctx.version >= 4 ? req.coordinatorKeys : [req.key];
      const coordinators = keys.map((key) => {
        const id = ctx.state.coordinatorFor(key);
        const port = ctx.listener.ports.get(id);
        if (id === -1 || port === undefined) return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null };
        return { key, nodeId: id, host: ctx.listener.host, port, errorCode: ErrorCode.NONE, errorMessage: null };
      });
      if (ctx.version >= 4) return { throttleTimeMs: 0, coordinators };
      const first = coordinators[0];
      return { throttleTimeMs: 0, errorCode: first.errorCode, errorMessage: null, nodeId: first.nodeId, host: first.host, port: first.port };
    }),

    handler(Api.JoinGroup, async (ctx, req) => {
      const err = coordinatorError(ctx, req.groupId) || (groupKind(ctx, req.groupId) === 'consumer' ? ErrorCode.INCONSISTENT_GROUP_PROTOCOL : 0);
      const res = err
        ? { errorCode: err, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: req.memberId, members: [] }
        : await ctx.services.groups.join(req, ctx.version, ctx.clientId, ctx.clientHost, ctx.signal);
      // Before v7 the protocol name is not nullable: an error answer carries an empty one.
      return ctx.version >= 7 ? res : { ...res, protocolName: res.protocolName ?? '' };
    }),

    handler(Api.SyncGroup, (ctx, req) => {
      const err = coordinatorError(ctx, req.groupId);
      if (err) return { errorCode: err, protocolType: null, protocolName: null, assignment: new Uint8Array(0) };
      return ctx.services.groups.sync(req, ctx.signal);
    }),

    handler(Api.Heartbeat, (ctx, req) => ({
      throttleTimeMs: 0,
      errorCode: coordinatorError(ctx, req.groupId) || ctx.services.groups.heartbeat(req.groupId, req.memberId, req.generationId, req.groupInstanceId),
    })),

    handler(Api.LeaveGroup, (ctx, req) => {
      const err = coordinatorError(ctx, req.groupId);
      const who = ctx.version >= 3 ? req.members : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
      if (err) return { throttleTimeMs: 0, errorCode: err, members: [] };
      const codes = ctx.services.groups.leave(req.groupId, who);
      if (ctx.version < 3) return { throttleTimeMs: 0, errorCode: codes[0], members: [] };
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        members: who.map((w, i) => ({ memberId: w.memberId, groupInstanceId: w.groupInstanceId, errorCode: codes[i] })),
      };
    }),

    handler(Api.ConsumerGroupHeartbeat, (ctx, req) => {
      const err = coordinatorError(ctx, req.groupId) || (groupKind(ctx, req.groupId) === 'classic' ? ErrorCode.GROUP_ID_NOT_FOUND : 0);
      if (err) return { throttleTimeMs: 0, errorCode: err, errorMessage: null, memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
      return { throttleTimeMs: 0, ...ctx.services.consumerGroups.heartbeat(req) };
    }),

    handler(Api.DescribeGroups, (ctx, req) => ({
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) => {
        const base = { errorCode: ErrorCode.NONE as number, errorMessage: null, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] as never[], authorizedOperations: -2147483648 };
        const err = coordinatorError(ctx, groupId);
        if (err) return { ...base, errorCode: err };
        const cg = ctx.services.consumerGroups.get(groupId);
        if (cg?.members.size) return { ...base, groupState: 'Stable', protocolType: 'consumer' };
        const g = ctx.services.groups.get(groupId);
        if (!g) return ctx.state.offsets.has(groupId) ? { ...base, groupState: 'Empty' } : base;
        return { ...base, groupState: g.state, protocolType: g.protocolType ?? '', protocolData: g.protocol ?? '', members: ctx.services.groups.describe(g) };
      }),
    })),

    handler(Api.ListGroups, (ctx, req) => {
      const out = new Map<string, { groupId: string; protocolType: string; groupState: string; groupType: string }>();
      for (const id of ctx.state.offsets.keys()) out.set(id, { groupId: id, protocolType: '', groupState: 'Empty', groupType: 'classic' });
      for (const g of ctx.services.groups.groups.values()) {
        out.set(g.id, { groupId: g.id, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' });
      }
      for (const g of ctx.services.consumerGroups.groups.values()) {
        out.set(g.id, { groupId: g.id, protocolType: 'consumer', groupState: g.members.size ? 'Stable' : 'Empty', groupType: 'consumer' });
      }
      const groups = [...out.values()].filter(
        (g) => ctx.state.coordinatorFor(g.groupId) === ctx.brokerId &&
          (!req.statesFilter.length || req.statesFilter.some((s) => s.toLowerCase() === g.groupState.toLowerCase())) &&
          (!req.typesFilter.length || req.typesFilter.some((t) => t.toLowerCase() === g.groupType)),
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
    }),

    handler(Api.OffsetCommit, (ctx, req) => {
      const s = ctx.state;
      const kind = groupKind(ctx, req.groupId);
      const groupErr =
        coordinatorError(ctx, req.groupId) ||
        (kind === 'consumer'
          ? ctx.services.consumerGroups.checkCommit(req.groupId, req.memberId, req.generationIdOrMemberEpoch)
          : ctx.services.groups.checkCommit(req.groupId, req.memberId, req.generationIdOrMemberEpoch, req.groupInstanceId));
      let wrote = false;
      const topics = req.topics.map((rt) => {
        const byId = ctx.version >= 10 && !rt.name && rt.topicId !== ZERO_UUID;
        const t = byId ? s.topicById(rt.topicId) : s.topics.get(rt.name);
        return {
          name: rt.name,
          topicId: rt.topicId,
          partitions: rt.partitions.map((rp) => {
            let errorCode: number = groupErr;
            if (!errorCode && (!t || !t.partitions[rp.partitionIndex])) errorCode = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            if (!errorCode && (rp.committedMetadata?.length ?? 0) > MAX_METADATA) errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
            if (!errorCode) {
              s.commitOffset(req.groupId, t!.name, rp.partitionIndex, { offset: rp.committedOffset, leaderEpoch: rp.committedLeaderEpoch, metadata: rp.committedMetadata });
              wrote = true;
            }
            return { partitionIndex: rp.partitionIndex, errorCode };
          }),
        };
      });
      if (wrote) s.persist();
      return { throttleTimeMs: 0, topics };
    }),

    handler(Api.OffsetFetch, (ctx, req) => {
      const s = ctx.state;
      const one = (groupId: string, wanted: { name: string; topicId: string; partitionIndexes: number[] }[] | null) => {
        const committed = s.offsets.get(groupId);
        const entry = (topic: string, p: number) => {
          const c = committed?.get(offsetKey(topic, p));
          return { partitionIndex: p, committedOffset: c?.offset ?? -1n, committedLeaderEpoch: c?.leaderEpoch ?? -1, metadata: c?.metadata ?? '', errorCode: ErrorCode.NONE };
        };
        if (wanted === null) {
          const byTopic = new Map<string, number[]>();
          for (const k of committed?.keys() ?? []) {
            const [topic, p] = k.split('\u0000');
            byTopic.set(topic, [...(byTopic.get(topic) ?? []), Number(p)]);
          }
          return [...byTopic].map(([name, ps]) => ({ name, topicId: s.topics.get(name)?.id ?? ZERO_UUID, partitions: ps.sort((a, b) => a - b).map((p) => entry(name, p)) }));
        }
        return wanted.map((w) => {
          const byId = !w.name && w.topicId && w.topicId !== ZERO_UUID;
          const t = byId ? s.topicById(w.topicId) : undefined;
          const name = byId ? (t?.name ?? '') : w.name;
          if (byId && !t) {
            return { name: w.name, topicId: w.topicId, partitions: w.partitionIndexes.map((p) => ({ ...entry('', p), errorCode: ErrorCode.UNKNOWN_TOPIC_ID })) };
          }
          return { name: w.name, topicId: w.topicId, partitions: w.partitionIndexes.map((p) => entry(name, p)) };
        });
      };
      if (ctx.version < 8) {
        const err = coordinatorError(ctx, req.groupId);
        if (err) return { throttleTimeMs: 0, topics: [], errorCode: err };
        const wanted = req.topics?.map((t) => ({ name: t.name, topicId: ZERO_UUID, partitionIndexes: t.partitionIndexes })) ?? null;
        return { throttleTimeMs: 0, topics: one(req.groupId, wanted), errorCode: ErrorCode.NONE };
      }
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g) => {
          const err = coordinatorError(ctx, g.groupId);
          return { groupId: g.groupId, topics: err ? [] : one(g.groupId, g.topics), errorCode: err };
        }),
      };
    }),
  ];
}
