// mka groups list | describe | reset
import type { Client } from '../../index.ts';
import { parseIntArg, type ParsedArgs } from '../args.ts';
import { callOpts } from '../clients.ts';
import { JSON_OUT, type Command, type Context } from '../command.ts';
import { CommandFailed, Exit, UsageError, type ExitCode } from '../errors.ts';
import { groupLag, totalLag } from '../group-lag.ts';
import { table } from '../io.ts';
import { perCluster } from '../per-cluster.ts';
import { CONNECTION_OPTIONS, type Target } from '../settings.ts';
import { parseTime } from '../time.ts';

const GROUP = { name: 'group', short: 'g', kind: 'string', arg: 'GROUP', help: 'consumer group (required)' } as const;
const dash = (v: bigint | null) => (v === null || v < 0n ? '-' : v);

const list: Command = {
  spec: {
    name: 'groups list',
    summary: 'consumer groups and their state',
    usage: 'mka groups list -b BROKERS [--json]',
    options: [...CONNECTION_OPTIONS, JSON_OUT],
  },
  run: (a, ctx) =>
    perCluster(a, ctx, async (client, t) => {
      const groups = await client.listGroups(callOpts(ctx, t));
      return { text: table([['group', 'state', 'type', 'protocol'], ...groups.map((g) => [g.groupId, g.state || '-', g.type || '-', g.protocolType || '-'])]), json: groups };
    }),
};

const describe: Command = {
  spec: {
    name: 'groups describe',
    summary: 'a group\'s state, members, and committed offset, log end and lag per partition',
    usage: 'mka groups describe -b BROKERS -g GROUP [-t TOPIC ...] [--json]',
    options: [...CONNECTION_OPTIONS, GROUP, { name: 'topic', short: 't', kind: 'list', arg: 'TOPIC', help: 'only these topics (default: every topic the group committed)' }, JSON_OUT],
  },
  run: (a, ctx) => {
    const group = a.required('group');
    const topics = a.list('topic');
    return perCluster(a, ctx, async (client, t) => {
      const g = await groupLag(client, group, topics.length ? topics : undefined, callOpts(ctx, t));
      const text = `group ${g.groupId}  state ${g.state}  members ${g.members}  total lag ${totalLag(g.rows)}\n` +
        table([['topic', 'partition', 'committed', 'end', 'lag', 'member'], ...g.rows.map((r) => [r.topic, r.partition, dash(r.committed), r.end, dash(r.lag), r.member ?? '-'])]);
      return { text, json: { ...g, totalLag: totalLag(g.rows) } };
    });
  },
};

type ResetTo = { kind: 'earliest' | 'latest' } | { kind: 'offset'; offset: bigint } | { kind: 'time'; time: Date } | { kind: 'shift'; by: bigint };

function resetTo(a: ParsedArgs): ResetTo {
  const given = ['to-earliest', 'to-latest', 'to-offset', 'to-time', 'shift-by'].filter((n) => a.has(n));
  if (given.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset, --to-time, --shift-by', a.command);
  if (a.flag('to-earliest')) return { kind: 'earliest' };
  if (a.flag('to-latest')) return { kind: 'latest' };
  if (a.has('to-offset')) return { kind: 'offset', offset: BigInt(parseIntArg(a.str('to-offset')!, '--to-offset', 0, a.command)) };
  if (a.has('to-time')) return { kind: 'time', time: parseTime(a.str('to-time')!, '--to-time') };
  return { kind: 'shift', by: BigInt(parseIntArg(a.str('shift-by')!, '--shift-by', Number.MIN_SAFE_INTEGER, a.command)) };
}

interface Move {
  topic: string;
  partition: number;
  from: bigint;
  to: bigint;
}

async function plan(client: Client, group: string, topics: string[], to: ResetTo, t: Target, ctx: Context): Promise<Move[]> {
  const o = callOpts(ctx, t);
  const current = await client.fetchOffsets(group, topics.length ? topics.map((topic) => ({ topic })) : undefined, o);
  if (!current.length) throw new CommandFailed(`group ${group} has committed no offsets on ${t.label}: name the topics with -t`, Exit.ERROR);
  const moves: Move[] = [];
  for (const topic of [...new Set(current.map((c) => c.topic))]) {
    const cs = current.filter((c) => c.topic === topic);
    const partitions = cs.map((c) => c.partition);
    const [low, high, at] = await Promise.all([
      client.listOffsets(topic, 'earliest', { ...o, partitions }),
      client.listOffsets(topic, 'latest', { ...o, partitions }),
      to.kind === 'time' ? client.listOffsets(topic, to.time, { ...o, partitions }) : Promise.resolve(null),
    ]);
    for (const c of cs) {
      const lo = low.get(c.partition)?.offset ?? 0n;
      const hi = high.get(c.partition)?.offset ?? 0n;
      const clamp = (x: bigint) => (x < lo ? lo : x > hi ? hi : x);
      let target: bigint;
      switch (to.kind) {
        case 'earliest': target = lo; break;
        case 'latest': target = hi; break;
        case 'offset': target = clamp(to.offset); break;
        // No message at or after the time: the end, as a consumer seeking there would.
        case 'time': target = (at!.get(c.partition)?.offset ?? -1n) >= 0n ? at!.get(c.partition)!.offset : hi; break;
        case 'shift': target = clamp((c.offset >= 0n ? c.offset : lo) + to.by); break;
      }
      moves.push({ topic, partition: c.partition, from: c.offset, to: target });
    }
  }
  return moves.sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition);
}

// Groups in these states have no member that would overwrite (or be confused by) a reset.
const RESETTABLE = new Set(['Empty', 'Dead', '']);

const reset: Command = {
  spec: {
    name: 'groups reset',
    summary: 'move a group\'s committed offsets (a dry run unless --execute)',
    usage: 'mka groups reset -b BROKERS -g GROUP [-t TOPIC ...] (--to-earliest | --to-latest | --to-offset N | --to-time TIME | --shift-by N) [--execute]',
    options: [
      ...CONNECTION_OPTIONS,
      GROUP,
      { name: 'topic', short: 't', kind: 'list', arg: 'TOPIC', help: 'topics to reset, all partitions (default: every topic the group committed)' },
      { name: 'to-earliest', kind: 'flag', help: 'to the log start' },
      { name: 'to-latest', kind: 'flag', help: 'to the log end (skip everything so far)' },
      { name: 'to-offset', kind: 'string', arg: 'N', help: 'to offset N (kept within the log)' },
      { name: 'to-time', kind: 'string', arg: 'TIME', help: 'to the first message at or after TIME (ISO 8601, epoch ms, or a duration ago: 2h)' },
      { name: 'shift-by', kind: 'string', arg: 'N', help: 'by N from the committed offset (negative: back)' },
      { name: 'execute', kind: 'flag', help: 'commit the new offsets (without it, only print them)' },
      JSON_OUT,
    ],
    details: 'The group must have no active members (stop its consumers first). Without --execute nothing changes.',
  },
  run: async (a, ctx): Promise<ExitCode> => {
    const group = a.required('group');
    const to = resetTo(a);
    const execute = a.flag('execute');
    const code = await perCluster(a, ctx, async (client, t) => {
      const o = callOpts(ctx, t);
      const moves = await plan(client, group, a.list('topic'), to, t, ctx);
      if (execute) {
        const [d] = await client.describeGroups([group], o);
        if (d && !RESETTABLE.has(d.state)) {
          throw new CommandFailed(`group ${group} on ${t.label} is ${d.state} with ${d.members.length} member(s): stop its consumers before a reset`, Exit.ERROR);
        }
        await client.commitOffsets(group, moves.map((m) => ({ topic: m.topic, partition: m.partition, offset: m.to })), o);
      }
      const text = table([['topic', 'partition', 'committed', 'new'], ...moves.map((m) => [m.topic, m.partition, dash(m.from), m.to])]);
      return { text, json: { group, executed: execute, offsets: moves } };
    });
    if (!execute) ctx.io.err.write('dry run: nothing changed; add --execute to commit these offsets\n');
    return code;
  },
};

export const groupCommands: Command[] = [list, describe, reset];
