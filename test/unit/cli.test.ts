// The command line's pieces without a broker: argument parsing, formats, JSON lines, times and
// offsets, settings from flags, environment and config file, input splitting, exit codes and help.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArgs, type CommandSpec } from '../../src/cli/args.ts';
import { Exit, UsageError, describeError, exitCodeOf } from '../../src/cli/errors.ts';
import { compileFormat, concat, jsonLine, parseJsonLine, type ConsumedRecord } from '../../src/cli/format.ts';
import { splitBytes, type Io } from '../../src/cli/io.ts';
import { Progress } from '../../src/cli/progress.ts';
import { main } from '../../src/cli/main.ts';
import { CONNECTION_OPTIONS, resolveTargets } from '../../src/cli/settings.ts';
import { parseStart, parseTime } from '../../src/cli/time.ts';
import { ConnectionError, KafkaProtocolError, ErrorCode, TimeoutError } from '../../src/index.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

const SPEC: CommandSpec = {
  name: 'x',
  summary: '',
  usage: '',
  options: [
    ...CONNECTION_OPTIONS,
    { name: 'topic', short: 't', kind: 'string', help: '' },
    { name: 'key-delimiter', short: 'K', kind: 'string', help: '' },
    { name: 'exit', short: 'e', kind: 'flag', help: '' },
    { name: 'quiet', short: 'q', kind: 'flag', help: '' },
    { name: 'offset', short: 'o', kind: 'string', help: '' },
  ],
};

const rec = (over: Partial<ConsumedRecord> = {}): ConsumedRecord => ({
  cluster: null,
  topic: 'tp',
  partition: 2,
  offset: 41n,
  time: new Date(1700000000123),
  key: enc.encode('k'),
  value: enc.encode('v'),
  headers: [{ key: 'h', value: enc.encode('x') }, { key: 'n', value: null }],
  ...over,
});

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield enc.encode(p);
}

describe('cli argument parser', () => {
  it('reads long, short, attached, clustered and repeated options', () => {
    const a = parseArgs(SPEC, ['-b', 'h:1', '--brokers=h:2', '-bh:3', '-K:', '-eq', '--topic', 't1', 'file', '-o', '-10', '--', '-e']);
    assert.deepEqual(a.list('brokers'), ['h:1', 'h:2', 'h:3']);
    assert.equal(a.str('key-delimiter'), ':');
    assert.equal(a.flag('exit'), true);
    assert.equal(a.flag('quiet'), true);
    assert.equal(a.str('topic'), 't1');
    assert.equal(a.str('offset'), '-10');
    assert.deepEqual(a.positionals, ['file', '-e']);
  });

  it('refuses unknown options, missing values and values given to flags', () => {
    assert.throws(() => parseArgs(SPEC, ['--nope']), UsageError);
    assert.throws(() => parseArgs(SPEC, ['-x']), UsageError);
    assert.throws(() => parseArgs(SPEC, ['--topic']), /needs a value/);
    assert.throws(() => parseArgs(SPEC, ['--exit=1']), /takes no value/);
    assert.throws(() => parseArgs(SPEC, ['-t']), /needs a value/);
  });
});

describe('cli formats', () => {
  it('fills every kcat field and escape', () => {
    const f = compileFormat('%t|%p|%o|%k|%K|%s|%S|%T|%h|%c|%%\\t\\n');
    assert.equal(dec.decode(concat(f(rec({ cluster: 'A' })))), 'tp|2|41|k|1|v|1|1700000000123|h=x,n=|A|%\t\n');
    assert.equal(dec.decode(concat(f(rec({ key: null, value: null })))), 'tp|2|41||-1||-1|1700000000123|h=x,n=||%\t\n');
    assert.throws(() => compileFormat('%z'), /unknown field %z/);
  });

  it('writes binary bytes as they are', () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x0a]);
    assert.deepEqual(concat(compileFormat('%s')(rec({ value: bytes }))), bytes);
  });

  it('JSON lines carry text as text and binary as base64, and read back to the same bytes', () => {
    const bin = new Uint8Array([0xff, 0xfe, 0x00, 0x80]);
    const r = rec({ key: bin, value: enc.encode('héllo\n"x"'), headers: [{ key: 'b', value: bin }, { key: 't', value: enc.encode('y') }] });
    const line = jsonLine(r);
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
    const o = JSON.parse(line);
    assert.equal(o.keyEncoding, 'base64');
    assert.equal(o.valueEncoding, undefined);
    assert.equal(o.value, 'héllo\n"x"');
    assert.equal(o.offset, 41);
    const back = parseJsonLine(line, 'line 1');
    assert.deepEqual(back.key, bin);
    assert.deepEqual(back.value, r.value);
    assert.deepEqual(back.headers, r.headers);
    assert.equal(back.time?.getTime(), 1700000000123);
  });

  it('JSON input accepts headers as an object and null values, and names bad lines', () => {
    const r = parseJsonLine('{"value":null,"headers":{"a":"1"}}', 'stdin line 3');
    assert.equal(r.value, null);
    assert.deepEqual(r.headers, [{ key: 'a', value: enc.encode('1') }]);
    assert.throws(() => parseJsonLine('{"value":1}', 'stdin line 3'), /stdin line 3: "value" must be a string/);
    assert.throws(() => parseJsonLine('nope', 'stdin line 4'), /stdin line 4: not JSON/);
    assert.throws(() => parseJsonLine('{"value":"!!","valueEncoding":"base64"}', 'l'), /not valid base64/);
  });
});

describe('cli input', () => {
  it('splits chunks at a delimiter across chunk borders, one batch per chunk', async () => {
    const out: string[][] = [];
    for await (const pieces of splitBytes(chunks('a\nb', 'c\n\nd', 'e'), enc.encode('\n'), 100)) out.push(pieces.map((p) => dec.decode(p)));
    assert.deepEqual(out, [['a'], ['bc', ''], ['de']]);
  });

  it('splits at a multi-byte delimiter and refuses a piece beyond the limit', async () => {
    const got: string[] = [];
    for await (const pieces of splitBytes(chunks('1::2:', ':3::'), enc.encode('::'), 100)) got.push(...pieces.map((p) => dec.decode(p)));
    assert.deepEqual(got, ['1', '2', '3']); // the second '::' straddles the chunks
    await assert.rejects(async () => {
      for await (const _ of splitBytes(chunks('x'.repeat(50), 'y'.repeat(60)), enc.encode('\n'), 100)) void _;
    }, /longer than --max-bytes 100/);
  });
});

describe('cli times and offsets', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it('reads ISO dates (UTC without a zone), epoch ms and durations ago', () => {
    assert.equal(parseTime('2024-05-01T10:00:00', 'x', now).toISOString(), '2024-05-01T10:00:00.000Z');
    assert.equal(parseTime('2024-05-01', 'x', now).toISOString(), '2024-05-01T00:00:00.000Z');
    assert.equal(parseTime('2024-05-01T10:00:00+02:00', 'x', now).toISOString(), '2024-05-01T08:00:00.000Z');
    assert.equal(parseTime('1700000000000', 'x', now).getTime(), 1700000000000);
    assert.equal(parseTime('15m', 'x', now).getTime(), now - 15 * 60_000);
    assert.equal(parseTime('-2h', 'x', now).getTime(), now - 2 * 3_600_000);
    assert.throws(() => parseTime('yesterday', '--from'), /--from: "yesterday" is not a time/);
  });

  it('reads kcat offsets', () => {
    assert.deepEqual(parseStart(undefined, undefined), { kind: 'beginning' });
    assert.deepEqual(parseStart('end', undefined), { kind: 'end' });
    assert.deepEqual(parseStart('42', undefined), { kind: 'offset', offset: 42n });
    assert.deepEqual(parseStart('-5', undefined), { kind: 'tail', n: 5n });
    assert.equal(parseStart(undefined, '1h').kind, 'time');
    assert.throws(() => parseStart('5', '1h'), /cannot be used together/);
    assert.throws(() => parseStart('middle', undefined), UsageError);
  });
});

describe('cli settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mka-cli-'));
  writeFileSync(join(dir, 'ca.pem'), 'CA');
  const file = join(dir, 'mka.json');
  writeFileSync(file, JSON.stringify({
    clientId: 'from-file',
    sasl: { mechanism: 'PLAIN', username: 'u', password: 'file-pass' },
    clusters: {
      prod: { brokers: ['p1:9092', 'p2:9092'], tls: { caFile: 'ca.pem' }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'pu', password: 'pp' } },
      dr: { brokers: 'd1:9092' },
    },
  }));
  const targets = (argv: string[], env: Record<string, string> = {}) => resolveTargets(parseArgs(SPEC, argv), { HOME: dir, ...env });

  it('each -b is one cluster; a comma list is one cluster', () => {
    const ts = targets(['-b', 'a:1,a:2', '-b', 'b:1']);
    assert.deepEqual(ts.map((t) => t.config.brokers), [['a:1', 'a:2'], ['b:1']]);
    assert.deepEqual(ts.map((t) => t.label), ['a:1', 'b:1']);
    assert.equal(ts[0].config.clientId, 'mka-cli');
  });

  it('MKA_BROKERS names clusters separated by ";", and -b wins over it', () => {
    assert.deepEqual(targets([], { MKA_BROKERS: 'a:1,a:2; b:1' }).map((t) => t.config.brokers), [['a:1', 'a:2'], ['b:1']]);
    assert.deepEqual(targets(['-b', 'c:1'], { MKA_BROKERS: 'a:1' }).map((t) => t.config.brokers), [['c:1']]);
    assert.throws(() => targets([]), /no brokers/);
  });

  it('layers the config file, the environment, a named cluster and flags, most specific last', () => {
    const [prod, dr] = targets(['--config', file, '-b', 'prod', '-b', 'dr'], { MKA_SASL_PASSWORD: 'env-pass', MKA_TIMEOUT_MS: '1500' });
    assert.equal(prod.label, 'prod');
    assert.deepEqual(prod.config.brokers, ['p1:9092', 'p2:9092']);
    assert.deepEqual(prod.config.sasl, { mechanism: 'SCRAM-SHA-512', username: 'pu', password: 'pp' });
    assert.deepEqual(prod.config.tls, { ca: 'CA' });
    assert.equal(prod.config.clientId, 'from-file');
    assert.equal(prod.timeoutMs, 1500);
    // dr has no SASL of its own: the file's top level with the environment's password.
    assert.deepEqual(dr.config.sasl, { mechanism: 'PLAIN', username: 'u', password: 'env-pass' });
    assert.equal(dr.config.tls, undefined);
    const [flagged] = targets(['--config', file, '-b', 'dr', '--sasl-password', 'flag-pass', '--tls-insecure', '--timeout', '700']);
    assert.deepEqual(flagged.config.sasl, { mechanism: 'PLAIN', username: 'u', password: 'flag-pass' });
    assert.deepEqual(flagged.config.tls, { rejectUnauthorized: false });
    assert.equal(flagged.config.callTimeoutMs, 700);
  });

  it('finds the default config file and refuses unknown names and keys', () => {
    const home = mkdtempSync(join(tmpdir(), 'mka-home-'));
    mkdirSync(join(home, '.config', 'mka'), { recursive: true });
    writeFileSync(join(home, '.config', 'mka', 'config.json'), JSON.stringify({ brokers: 'z:1' }));
    assert.deepEqual(resolveTargets(parseArgs(SPEC, []), { HOME: home })[0].config.brokers, ['z:1']);
    assert.throws(() => targets(['--config', file, '-b', 'nope']), /neither host:port nor a cluster/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ brokerz: 'x:1' }));
    assert.throws(() => targets(['--config', bad, '-b', 'x:1']), /unknown key "brokerz"/);
    assert.throws(() => targets(['-b', 'x:1', '--sasl-username', 'u']), /needs a username and a password/);
    assert.throws(() => targets(['-b', 'x:1', '--timeout', '0']), /positive number/);
  });
});

describe('cli errors, exit codes and help', () => {
  it('maps typed errors to exit codes and one line', () => {
    assert.equal(exitCodeOf(new UsageError('x')), Exit.USAGE);
    assert.equal(exitCodeOf(new TimeoutError('slow')), Exit.UNREACHABLE);
    assert.equal(exitCodeOf(new ConnectionError('refused', true)), Exit.UNREACHABLE);
    assert.equal(exitCodeOf(new KafkaProtocolError(ErrorCode.TOPIC_AUTHORIZATION_FAILED)), Exit.ERROR);
    const line = describeError(new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'topic x\nmissing'));
    assert.match(line, /^KafkaProtocolError: UNKNOWN_TOPIC_OR_PARTITION \(3\): topic x missing$/);
  });

  function memIo(...input: string[]): { io: Io; out: () => string; err: () => string } {
    let out = '';
    let err = '';
    return {
      io: {
        env: {},
        stdin: () => chunks(...input),
        out: { closed: false, write: async (c) => void (out += typeof c === 'string' ? c : dec.decode(c)) },
        err: { isTTY: false, write: (s) => void (err += s) },
      },
      out: () => out,
      err: () => err,
    };
  }

  it('prints help per command and for groups of commands; usage errors exit 2 with one line', async () => {
    const sig = new AbortController().signal;
    let m = memIo();
    assert.equal(await main(['consume', '--help'], m.io, sig), Exit.OK);
    assert.match(m.out(), /^mka consume: /);
    assert.match(m.out(), /--from TIME/);
    m = memIo();
    assert.equal(await main(['topics', '--help'], m.io, sig), Exit.OK);
    assert.match(m.out(), /topics create/);
    m = memIo();
    assert.equal(await main(['produce', '-b', 'x:1'], m.io, sig), Exit.USAGE);
    assert.equal(m.err(), 'mka produce: --topic is required (see mka produce --help)\n');
    m = memIo();
    assert.equal(await main(['nope'], m.io, sig), Exit.USAGE);
    m = memIo();
    assert.equal(await main([], m.io, sig), Exit.USAGE);
    assert.match(m.err(), /usage: mka COMMAND/);
  });

  it('a bad input line stops produce with exit 1 and names the line', async () => {
    // One chunk, one batch: it fails as a whole before anything is sent (no broker is needed).
    const m = memIo('{"value":"a"}\n{"value":\n');
    assert.equal(await main(['produce', '-b', '127.0.0.1:1', '-t', 't', '--json', '-q', '--timeout', '1000'], m.io, new AbortController().signal), Exit.ERROR);
    assert.match(m.err(), /^mka produce: stdin line 2: not JSON .*; stopped there\n$/);
  });
});

describe('cli progress', () => {
  it('rewrites one live line on a terminal and ends it with the summary', async () => {
    let err = '';
    const p = new Progress({ isTTY: true, write: (s) => void (err += s) }, { verb: 'read', quiet: false });
    p.add(3, 2048);
    await new Promise((r) => setTimeout(r, 300));
    p.done(', 1 failed');
    assert.match(err, /^\r\x1b\[Kread 3 messages, 2\.0 KiB in /);
    assert.match(err, /\r\x1b\[Kread 3 messages, 2\.0 KiB in [\d.]+ s \(\d+ msg\/s, [\d.]+ [KMG]?i?B\/s\), 1 failed\n$/);
    assert.equal(err.split('\n').length, 2, 'one line, ended once');
  });

  it('prints plain lines on an interval when stderr is not a terminal, and nothing when quiet', async () => {
    let err = '';
    const p = new Progress({ isTTY: false, write: (s) => void (err += s) }, { verb: 'written', quiet: false, intervalMs: 50 });
    p.add(1, 10);
    await new Promise((r) => setTimeout(r, 180));
    p.done();
    assert.ok(err.split('\n').filter(Boolean).length >= 3, err);
    assert.ok(!err.includes('\r'));
    let quiet = '';
    const q = new Progress({ isTTY: true, write: (s) => void (quiet += s) }, { verb: 'x', quiet: true });
    q.done();
    assert.equal(quiet, '');
  });
});
