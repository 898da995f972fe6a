// mka consume: messages of topics on one cluster or several, merged, each line able to say its
// cluster. Without a group, one partition reader per cluster, topic and partition, each started where
// -o / --from says; with a group, one group reader per cluster. Both go through one MultiReader.
import {
  AbortedError, ClosedError, FirstOffset, LastOffset, MultiReader, TimeoutError,
  type Client, type MultiMessage, type ReaderConfig,
} from '../../index.ts';
import { parseIntArg, type ParsedArgs } from '../args.ts';
import { withClients, callOpts, partitionsOf } from '../clients.ts';
import { QUIET, type Command, type Context } from '../command.ts';
import { Exit, UsageError, type ExitCode } from '../errors.ts';
import { compileFormat, concat, jsonLine, type ConsumedRecord } from '../format.ts';
import { Progress } from '../progress.ts';
import { CONNECTION_OPTIONS, resolveTargets, type Target } from '../settings.ts';
import { parseStart, type StartSpec } from '../time.ts';

export const consume: Command = {
  spec: {
    name: 'consume',
    summary: 'read messages of topics, from one cluster or several merged',
    usage: 'mka consume -b BROKERS [-b BROKERS ...] -t TOPIC [-p N] [-g GROUP] [-o OFFSET | --from TIME] [-e] [-f FMT | --json]',
    options: [
      ...CONNECTION_OPTIONS,
      { name: 'topic', short: 't', kind: 'list', arg: 'TOPIC', help: 'topic to read (required)' },
      { name: 'partition', short: 'p', kind: 'list', arg: 'N', help: 'read only partition N (default: every partition; not with -g)' },
      { name: 'group', short: 'g', kind: 'string', arg: 'GROUP', help: 'read as a member of this consumer group, committing what is printed' },
      { name: 'offset', short: 'o', kind: 'string', arg: 'OFFSET', help: 'beginning (default), end, an offset, or -N (N before the end); with -g only beginning or end, for partitions without a committed offset' },
      { name: 'from', kind: 'string', arg: 'TIME', help: 'start at the first message at or after TIME: ISO 8601 (UTC unless a zone is given), epoch ms, or a duration ago (15m, 2h, 1d)' },
      { name: 'exit', short: 'e', kind: 'flag', help: 'exit at the end: after the messages that were in the partitions when reading began (with -g: once the group has no lag)' },
      { name: 'count', short: 'c', kind: 'string', arg: 'N', help: 'exit after N messages' },
      { name: 'format', short: 'f', kind: 'string', arg: 'FMT', help: 'output template: %t topic %p partition %o offset %k key %K key length %s value %S value length %T timestamp ms %h headers %c cluster, \\n \\t escapes (default "%s\\n"; with several clusters "%c %s\\n")' },
      { name: 'key-delimiter', short: 'K', kind: 'string', arg: 'DELIM', help: 'print KEY<DELIM>VALUE lines (as -f "%k<DELIM>%s\\n")' },
      { name: 'json', kind: 'flag', help: 'one JSON object a line: cluster (several clusters), topic, partition, offset, timestamp, key, value, headers; binary as base64 with keyEncoding/valueEncoding' },
      { name: 'progress-ms', kind: 'string', arg: 'MS', help: 'interval of progress lines when stderr is not a terminal (default 10000)' },
      QUIET,
    ],
    details: `Exit codes: 0 done (also on Ctrl-C, or when stdout's reader goes away); 1 error; 2 usage; 4 no broker reachable in time.
Examples:
  mka consume -b localhost:9092 -t events -e -f '%p %o %k=%s\\n'
  mka consume -b localhost:9092 -t events --from 15m -K:
  mka consume -b a:9092 -b b:9092 -t events -g audit        # both clusters merged, each line says its cluster`,
  },
  run: runConsume,
};

/** What config i of the MultiReader reads. */
interface Slot {
  target: number;
  topic: string;
  partition: number;
  /** Exit-at-end: the log end when reading began (partition mode). */
  end: bigint;
  done: boolean;
}

function formatter(a: ParsedArgs, multi: boolean): (r: ConsumedRecord) => Uint8Array[] {
  a.exclusive('format', 'json', 'key-delimiter');
  if (a.flag('json')) {
    const enc = new TextEncoder();
    return (r) => [enc.encode(jsonLine(r))];
  }
  const kd = a.str('key-delimiter');
  const prefix = multi ? '%c ' : '';
  return compileFormat(a.str('format') ?? (kd !== undefined ? `${prefix}%k${kd.replace(/%/g, '%%')}%s\\n` : `${prefix}%s\\n`));
}

async function resolveStart(spec: StartSpec, client: Client, topic: string, t: Target, ctx: Context): Promise<Map<number, bigint>> {
  const o = callOpts(ctx, t);
  const offsets = async (s: 'earliest' | 'latest' | Date) => new Map([...(await client.listOffsets(topic, s, o))].map(([p, x]) => [p, x.offset]));
  switch (spec.kind) {
    case 'beginning':
      return offsets('earliest');
    case 'end':
      return offsets('latest');
    case 'offset': {
      const parts = await partitionsOf(client, topic, t, ctx);
      return new Map(parts.map((p) => [p, spec.offset]));
    }
    case 'tail': {
      const [low, high] = await Promise.all([offsets('earliest'), offsets('latest')]);
      return new Map([...high].map(([p, h]) => [p, h - spec.n > low.get(p)! ? h - spec.n : low.get(p)!]));
    }
    case 'time': {
      // No message at or after the time: start at the end, for the messages still to come.
      const [at, high] = await Promise.all([offsets(spec.time), offsets('latest')]);
      return new Map([...high].map(([p, h]) => [p, (at.get(p) ?? -1n) >= 0n ? at.get(p)! : h]));
    }
  }
}

async function runConsume(a: ParsedArgs, ctx: Context): Promise<ExitCode> {
  const topics = a.list('topic');
  if (!topics.length) throw new UsageError('--topic is required', 'consume');
  const group = a.str('group');
  const partitions = a.list('partition').map((p) => parseIntArg(p, '-p', 0, 'consume'));
  if (group && partitions.length) throw new UsageError('-p cannot be used with -g: the group assigns partitions', 'consume');
  if (group && (a.has('from') || (a.has('offset') && !['beginning', 'earliest', 'end', 'latest'].includes(a.str('offset')!)))) {
    throw new UsageError('with -g, -o is beginning or end (for partitions without a committed offset); move a group with `mka groups reset`', 'consume');
  }
  const count = a.int('count', 1);
  const start = parseStart(a.str('offset'), a.str('from'));
  const targets = resolveTargets(a, ctx.io.env);
  const multi = targets.length > 1;
  const format = formatter(a, multi);
  const exitAtEnd = a.flag('exit');

  const slots: Slot[] = [];
  const configs: ReaderConfig[] = [];
  const starts: bigint[] = [];
  if (group) {
    // A group waits for topics that do not exist yet; with -e there would be no end to wait for.
    if (exitAtEnd) await withClients(targets, (clients) => Promise.all(targets.flatMap((t, i) => topics.map((topic) => partitionsOf(clients[i], topic, t, ctx)))));
    targets.forEach((t, i) => {
      configs.push({ ...t.config, groupId: group, groupTopics: topics, startOffset: start.kind === 'end' ? LastOffset : FirstOffset, maxWaitMs: 500 });
      slots.push({ target: i, topic: '', partition: -1, end: -1n, done: false });
    });
  } else {
    await withClients(targets, (clients) =>
      Promise.all(targets.map(async (t, i) => {
        for (const topic of topics) {
          const all = await partitionsOf(clients[i], topic, t, ctx);
          for (const p of partitions) if (!all.includes(p)) throw new UsageError(`partition ${p} of ${topic} does not exist on ${t.label} (it has ${all.length})`, 'consume');
          const [from, end] = await Promise.all([
            resolveStart(start, clients[i], topic, t, ctx),
            clients[i].listOffsets(topic, 'latest', callOpts(ctx, t)),
          ]);
          for (const p of partitions.length ? partitions : all) {
            configs.push({ ...t.config, topic, partition: p, startOffset: start.kind === 'end' ? LastOffset : FirstOffset, maxWaitMs: 500 });
            const s = from.get(p) ?? FirstOffset;
            const e = end.get(p)?.offset ?? 0n;
            starts.push(s);
            slots.push({ target: i, topic, partition: p, end: e, done: s >= e });
          }
        }
      })),
    );
  }

  const reader = new MultiReader(configs);
  const progress = new Progress(ctx.io.err, { verb: 'read', quiet: a.flag('quiet'), intervalMs: a.int('progress-ms', 1) });
  try {
    if (!group) await Promise.all(starts.map((s, i) => reader.setOffset(i, s)));
    let printed = 0;
    const finished = () => (count !== undefined && printed >= count) || (exitAtEnd && !group && slots.every((s) => s.done));
    while (!finished() && !ctx.io.out.closed) {
      let batch: MultiMessage[];
      try {
        batch = await reader.fetchMessage({ signal: ctx.signal, timeoutMs: exitAtEnd && group ? GROUP_END_CHECK_MS : undefined });
      } catch (e) {
        if (e instanceof AbortedError || e instanceof ClosedError) break;
        if (e instanceof TimeoutError && group && exitAtEnd) {
          if (await groupAtEnd(reader, targets.length, ctx)) break;
          continue;
        }
        throw e;
      }
      const out: Uint8Array[] = [];
      const shown: MultiMessage[] = [];
      let bytes = 0;
      for (const m of batch) {
        const slot = slots[m.cluster];
        if (!group && exitAtEnd) {
          if (m.offset >= slot.end) continue; // written after reading began
          if (m.offset + 1n >= slot.end) slot.done = true;
        }
        if (count !== undefined && printed >= count) break;
        printed++;
        shown.push(m);
        bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
        out.push(...format({
          cluster: multi ? targets[slot.target].label : null,
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          time: m.time,
          key: m.key,
          value: m.value,
          headers: m.headers,
        }));
      }
      if (out.length) await ctx.io.out.write(concat(out));
      progress.add(shown.length, bytes);
      // Committed once printed: a crash in between prints a message twice, never loses one.
      if (group && shown.length && !ctx.io.out.closed) await reader.commitMessages(...shown);
    }
  } finally {
    progress.done();
    await reader.close();
  }
  return Exit.OK;
}

// With -e in group mode, how long no message arrives before the group's lag is asked (a ListOffsets
// per cluster): short, because a script waiting for `mka consume -e` waits this long at the end.
const GROUP_END_CHECK_MS = 250;

/** Group mode's end: every cluster's member has partitions and no lag on any of them. */
async function groupAtEnd(reader: MultiReader, clusters: number, ctx: Context): Promise<boolean> {
  for (let i = 0; i < clusters; i++) {
    const lag = await reader.groupLag(i, { signal: ctx.signal, timeoutMs: 10_000 });
    if (!lag.size) return false;
    for (const parts of lag.values()) for (const p of parts.values()) if (p.lag > 0n) return false;
  }
  return true;
}
