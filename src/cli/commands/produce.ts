// mka produce: messages from stdin (a line each, or all of it as one) or from files (each file one
// message, or line by line) to one cluster through a Writer, or to several through a MultiWriter in
// backup, multi-rw or mirror mode.
import { createReadStream, statSync } from 'node:fs';
import {
  MultiWriteErrors, MultiWriter, RWMode, WriteErrors, Writer,
  type Balancer, type RequiredAcks, type WriterConfig, type WriterMessage,
} from '../../index.ts';
import { parseIntArg, type ParsedArgs } from '../args.ts';
import { QUIET, type Command, type Context } from '../command.ts';
import { CommandFailed, Exit, UsageError, describeError, exitCodeOf, type ExitCode } from '../errors.ts';
import { parseHeader, parseJsonLine, type Header } from '../format.ts';
import { readAll, splitBytes } from '../io.ts';
import { Progress } from '../progress.ts';
import { CONNECTION_OPTIONS, resolveTargets, type Target } from '../settings.ts';

const MODES: Record<string, RWMode> = { backup: RWMode.Backup, 'multi-rw': RWMode.MultiRW, mirror: RWMode.Mirror };
const COMPRESSION = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
type Compression = (typeof COMPRESSION)[number];
const ACKS: Record<string, RequiredAcks> = { all: 'all', '-1': 'all', leader: 'leader', '1': 'leader', none: 'none', '0': 'none' };

const enc = new TextEncoder();

/** Where a message landed; cluster is null with one cluster. */
interface Landed {
  partition: number;
  offset: bigint;
  cluster: number | null;
}

/** One cluster or several behind the same call shape. */
interface Destination {
  write(messages: WriterMessage[]): Promise<(Landed | null)[]>;
  close(): Promise<void>;
}

/** Always sends to one partition (-p). */
class FixedPartition implements Balancer {
  constructor(private readonly partition: number) {}
  balance(_msg: unknown, partitions: readonly number[]): number {
    if (!partitions.includes(this.partition)) throw new UsageError(`partition ${this.partition} does not exist (the topic has ${partitions.length})`);
    return this.partition;
  }
}

export const produce: Command = {
  spec: {
    name: 'produce',
    summary: 'write messages from stdin or files to a topic, on one cluster or several',
    usage: 'mka produce -b BROKERS [-b BROKERS --mode MODE] -t TOPIC [options] [FILE...]',
    options: [
      ...CONNECTION_OPTIONS,
      { name: 'topic', short: 't', kind: 'string', arg: 'TOPIC', help: 'topic to write to (required)' },
      { name: 'partition', short: 'p', kind: 'string', arg: 'N', help: 'write every message to partition N (default: by key hash, keyless messages spread)' },
      { name: 'key', short: 'k', kind: 'string', arg: 'KEY', help: 'the key of every message' },
      { name: 'key-delimiter', short: 'K', kind: 'string', arg: 'DELIM', help: 'each line is KEY<DELIM>VALUE (e.g. -K: or -K "\\t"); a line without it is a value with no key' },
      { name: 'delimiter', short: 'D', kind: 'string', arg: 'DELIM', help: 'message delimiter of line input (default \\n)' },
      { name: 'header', short: 'H', kind: 'list', arg: 'K=V', help: 'a header on every message' },
      { name: 'json', kind: 'flag', help: 'each line is a JSON object as consume --json writes it: key, value, headers, timestamp (binary as base64 with keyEncoding/valueEncoding); partition and offset are ignored' },
      { name: 'lines', short: 'l', kind: 'flag', help: 'read FILEs line by line (default: each FILE is one message)' },
      { name: 'whole', kind: 'flag', help: 'all of stdin is one message' },
      { name: 'mode', short: 'm', kind: 'string', arg: 'MODE', help: 'with several -b: backup (first cluster, fail over to the next), multi-rw (spread over healthy clusters) or mirror (every cluster)' },
      { name: 'mirror-min', kind: 'string', arg: 'N', help: 'mirror: a message counts as written once N clusters have it (default: all)' },
      { name: 'compression', short: 'z', kind: 'string', arg: 'CODEC', help: `${COMPRESSION.join(', ')} (default none)` },
      { name: 'acks', kind: 'string', arg: 'ACKS', help: 'all (default, idempotent), leader or none' },
      { name: 'batch', kind: 'string', arg: 'N', help: 'messages per write call, at most (default 1000)' },
      { name: 'max-bytes', kind: 'string', arg: 'N', help: 'largest message read from input (default 1048576)' },
      { name: 'report', kind: 'flag', help: 'print where each message landed on stdout: [cluster] partition offset' },
      { name: 'progress-ms', kind: 'string', arg: 'MS', help: 'interval of progress lines when stderr is not a terminal (default 10000)' },
      QUIET,
    ],
    details: `Input: without FILEs, stdin line by line (empty lines skipped), or as one message with --whole.
Each FILE is one message unless -l. "-" as a FILE is stdin.
Exit codes: 0 all written; 1 error; 2 usage; 3 some messages not written (or, mirror, missing in a cluster);
4 no broker reachable in time; 130 interrupted.
Examples:
  seq 1000 | mka produce -b localhost:9092 -t events
  printf 'user-1:hello\\n' | mka produce -b localhost:9092 -t events -K:
  mka consume -b old:9092 -t events -e --json | mka produce -b new:9092 -t events --json
  mka produce -b a:9092 -b b:9092 --mode backup -t events < events.txt`,
  },
  run: runProduce,
};

function unescape(s: string): string {
  return s.replace(/\\([ntr0\\])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\' })[c]!);
}

function split(line: Uint8Array, delim: Uint8Array): [Uint8Array | null, Uint8Array] {
  outer: for (let i = line.indexOf(delim[0]); i >= 0; i = line.indexOf(delim[0], i + 1)) {
    for (let j = 1; j < delim.length; j++) if (line[i + j] !== delim[j]) continue outer;
    return [line.subarray(0, i), line.subarray(i + delim.length)];
  }
  return [null, line];
}

interface Shape {
  json: boolean;
  keyDelim: Uint8Array | null;
  key: Uint8Array | null;
  headers: Header[];
}

/** One input piece to a message, as -K, -k, -H and --json say. */
function toMessage(piece: Uint8Array, shape: Shape, where: () => string): WriterMessage {
  if (shape.json) {
    const r = parseJsonLine(new TextDecoder().decode(piece), where());
    return { key: r.key ?? shape.key, value: r.value, headers: [...shape.headers, ...r.headers], time: r.time };
  }
  if (shape.keyDelim) {
    const [key, value] = split(piece, shape.keyDelim);
    return { key: key ?? shape.key, value, headers: shape.headers };
  }
  return { key: shape.key, value: piece, headers: shape.headers };
}

/** The input as batches of messages, at most `batch` each. */
async function* input(a: ParsedArgs, ctx: Context, shape: Shape, batch: number, maxBytes: number): AsyncGenerator<WriterMessage[]> {
  const files = a.positionals;
  const delim = enc.encode(unescape(a.str('delimiter') ?? '\n'));
  if (!delim.length) throw new UsageError('-D: the delimiter is empty', 'produce');
  const whole = files.length ? !a.flag('lines') : a.flag('whole');
  const sources = files.length ? files : ['-'];
  let n = 0;
  for (const file of sources) {
    if (ctx.signal.aborted) return;
    const stream = (): AsyncIterable<Uint8Array> => (file === '-' ? ctx.io.stdin() : createReadStream(file));
    if (whole) {
      if (file !== '-') {
        // The size is checked before the file is read.
        let size: number;
        try {
          size = statSync(file).size;
        } catch (e) {
          throw new CommandFailed(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, Exit.ERROR);
        }
        if (size > maxBytes) throw new CommandFailed(`${file} is ${size} bytes, larger than --max-bytes ${maxBytes}`, Exit.ERROR);
      }
      const data = await readAll(stream(), maxBytes, file === '-' ? 'stdin' : file);
      n++;
      yield [toMessage(data, shape, () => (file === '-' ? 'stdin' : file))];
      continue;
    }
    for await (const pieces of splitBytes(stream(), delim, maxBytes)) {
      const out: WriterMessage[] = [];
      for (const p of pieces) {
        n++;
        if (p.length === 0) continue;
        out.push(toMessage(p, shape, () => `${file === '-' ? 'stdin' : file} line ${n}`));
        if (out.length >= batch) yield out.splice(0);
      }
      if (out.length) yield out;
      if (ctx.signal.aborted) return;
    }
  }
}

function destination(a: ParsedArgs, targets: Target[], topic: string): Destination {
  const partition = a.int('partition', 0);
  const compression = (a.str('compression') ?? 'none') as Compression;
  if (!COMPRESSION.includes(compression)) throw new UsageError(`--compression must be one of ${COMPRESSION.join(', ')}`, 'produce');
  const acksArg = a.str('acks') ?? 'all';
  const requiredAcks = ACKS[acksArg];
  if (!requiredAcks) throw new UsageError('--acks must be all, leader or none', 'produce');
  const configs: WriterConfig[] = targets.map((t) => ({
    ...t.config,
    topic,
    compression,
    requiredAcks,
    writeTimeoutMs: t.timeoutMs,
    ...(partition !== undefined ? { balancer: new FixedPartition(partition) } : {}),
  }));
  const modeArg = a.str('mode');
  if (targets.length === 1 && modeArg === undefined) {
    const w = new Writer(configs[0]);
    return {
      write: async (ms) => {
        try {
          return (await w.writeMessages(...ms)).map((r) => ({ partition: r.partition, offset: r.offset, cluster: null }));
        } catch (e) {
          if (e instanceof WriteErrors) throw new PartialWrite(e.errors.map((x) => x === null), e);
          throw e;
        }
      },
      close: () => w.close(),
    };
  }
  if (modeArg === undefined) throw new UsageError('several clusters (-b ... -b ...) need --mode backup, multi-rw or mirror', 'produce');
  const mode = MODES[modeArg];
  if (!mode) throw new UsageError('--mode must be backup, multi-rw or mirror', 'produce');
  const mirrorMin = a.str('mirror-min');
  const mw = new MultiWriter(mode, configs, {
    mirrorMinClusters: mirrorMin === undefined ? undefined : parseIntArg(mirrorMin, '--mirror-min', 1, 'produce'),
  });
  return {
    write: async (ms) => {
      try {
        return (await mw.writeMessages(...ms)).map((r) => ({ partition: r.partition, offset: r.offset, cluster: r.cluster }));
      } catch (e) {
        if (e instanceof MultiWriteErrors) throw new PartialWrite(e.errors.map((x) => x === null), e, e.missing);
        throw e;
      }
    },
    close: () => mw.close(),
  };
}

/** Some messages of a call were not written: which, and why. */
class PartialWrite extends Error {
  constructor(
    readonly written: boolean[],
    readonly error: WriteErrors,
    readonly missing: readonly (readonly number[])[] = [],
  ) {
    super(error.message);
  }
}

const messageBytes = (m: WriterMessage) => (m.key ? (m.key as Uint8Array).length : 0) + (m.value ? (m.value as Uint8Array).length : 0);

async function runProduce(a: ParsedArgs, ctx: Context): Promise<ExitCode> {
  const topic = a.required('topic');
  if (a.has('key-delimiter') && a.flag('json')) throw new UsageError('-K and --json cannot be used together (JSON lines carry their keys)', 'produce');
  if (a.flag('whole') && a.positionals.length) throw new UsageError('--whole is for stdin; FILEs are whole by default', 'produce');
  if (a.flag('lines') && !a.positionals.length) throw new UsageError('-l is for FILEs; stdin is read line by line by default', 'produce');
  const keyDelim = a.str('key-delimiter');
  if (keyDelim === '') throw new UsageError('-K: the key delimiter is empty', 'produce');
  const shape: Shape = {
    json: a.flag('json'),
    keyDelim: keyDelim === undefined ? null : enc.encode(unescape(keyDelim)),
    key: a.str('key') === undefined ? null : enc.encode(a.str('key')),
    headers: a.list('header').map(parseHeader),
  };
  const batch = a.int('batch', 1) ?? 1000;
  const maxBytes = a.int('max-bytes', 1) ?? 1024 * 1024;
  const progressMs = a.int('progress-ms', 1);
  const targets = resolveTargets(a, ctx.io.env);
  const labels = targets.map((t) => t.label);
  const dest = destination(a, targets, topic);
  const progress = new Progress(ctx.io.err, { verb: 'written', quiet: a.flag('quiet'), intervalMs: progressMs });
  const report = a.flag('report');

  // Not written anywhere; written to some clusters but not all that mirror mode asked for.
  let failed = 0;
  let incomplete = 0;
  let fatal: unknown = null;
  let firstError: Error | null = null;
  const reasons = new Map<string, number>();
  const perCluster = new Map<number, number>();
  // Calls in flight, oldest first: their outcomes are reported in input order.
  const inflight: Promise<void>[] = [];
  const MAX_INFLIGHT = 4;

  const settle = async (ms: WriterMessage[], p: Promise<(Landed | null)[]>): Promise<void> => {
    let landed: (Landed | null)[];
    try {
      landed = await p;
    } catch (e) {
      if (!(e instanceof PartialWrite)) {
        fatal ??= e;
        failed += ms.length;
        return;
      }
      const lines: string[] = [];
      e.error.errors.forEach((err, i) => {
        const missing = e.missing[i] ?? [];
        const somewhere = err === null || (missing.length > 0 && missing.length < labels.length);
        if (somewhere) progress.add(1, messageBytes(ms[i]));
        if (err === null) {
          lines.push('written (offset not known: the call failed in part)\n');
          return;
        }
        if (somewhere) incomplete++;
        else failed++;
        firstError ??= err;
        const why = describeError(err) + (missing.length ? ` (missing in ${missing.map((c) => labels[c]).join(', ')})` : '');
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
        lines.push(`${somewhere ? 'INCOMPLETE' : 'FAILED'} ${why}\n`);
      });
      if (report) await ctx.io.out.write(lines.join(''));
      return;
    }
    progress.add(ms.length, ms.reduce((s, m) => s + messageBytes(m), 0));
    for (const l of landed) if (l && l.cluster !== null) perCluster.set(l.cluster, (perCluster.get(l.cluster) ?? 0) + 1);
    if (report) {
      await ctx.io.out.write(landed.map((l) => (l ? `${l.cluster === null ? '' : `${labels[l.cluster]} `}${l.partition} ${l.offset}\n` : '')).join(''));
    }
  };

  // Ctrl-C must end a wait for input that may never come (a terminal, an idle pipe): the wait is raced
  // with the signal and left behind; bin.ts closes stdin after the command.
  const interrupted = new Promise<null>((resolve) => {
    if (ctx.signal.aborted) resolve(null);
    else ctx.signal.addEventListener('abort', () => resolve(null), { once: true });
  });
  const source = input(a, ctx, shape, batch, maxBytes);
  try {
    for (;;) {
      const next = source.next();
      next.catch(() => {}); // an input error after an interrupt has nobody left to tell
      const r = await Promise.race([next, interrupted]);
      if (r === null || r.done || fatal) break;
      inflight.push(settle(r.value, dest.write(r.value)));
      if (inflight.length >= MAX_INFLIGHT) await inflight.shift();
    }
  } catch (e) {
    // A bad line in the input: the messages before it may be written already, so it is not a usage
    // error (exit 2 says nothing was done); the summary line tells how far it got.
    fatal ??= e instanceof UsageError ? new CommandFailed(`${e.message}; stopped there`, Exit.ERROR) : e;
  } finally {
    await Promise.all(inflight);
    await dest.close();
  }
  const spread = perCluster.size ? ` (${[...perCluster].sort((x, y) => x[0] - y[0]).map(([c, n]) => `${n} to ${labels[c]}`).join(', ')})` : '';
  const bad = [failed ? `${failed} not written` : '', incomplete ? `${incomplete} not on every cluster` : ''].filter(Boolean).join(', ');
  progress.done((bad ? `; ${bad}` : '') + spread);
  for (const [why, n] of reasons) progress.interrupt(`mka produce: ${n} message${n > 1 ? 's' : ''}: ${why}\n`);
  if (fatal) throw fatal;
  if (ctx.signal.aborted) return Exit.INTERRUPTED;
  // Nothing written at all: the cause's own code (an unreachable cluster says 4); some written: 3.
  if (failed && !incomplete && progress.count === 0 && firstError) return exitCodeOf(firstError);
  if (failed || incomplete) return Exit.PARTIAL;
  return Exit.OK;
}
