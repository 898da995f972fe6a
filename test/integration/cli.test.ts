// The mka command line run as a process against the local clusters: topics admin, produce/consume
// round trips in every format, --from and -o, a group's lag, describe and reset, several clusters
// merged, and multi-cluster produce with cluster B stopped. The sources are bundled once (esbuild,
// which tsx brings) so that each of the ~40 runs starts in a fraction of the CPU time tsx would take;
// one test runs the development launcher bin/mka.mjs itself.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { buildSync } from 'esbuild';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '../helpers/eventually.ts';
import { cluster, startCluster, stopCluster, uniqueTopic } from '../helpers/kafka.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOME = mkdtempSync(join(tmpdir(), 'mka-cli-home-')); // no user config file leaks in
const BUNDLE = join(HOME, 'mka.mjs');
buildSync({ entryPoints: [join(ROOT, 'src', 'cli', 'bin.ts')], bundle: true, platform: 'node', format: 'esm', outfile: BUNDLE, logLevel: 'warning' });

interface Run {
  code: number | null;
  out: Buffer;
  err: string;
  ms: number;
}

/** Starts mka; `result` settles when it exits. A process still running after limitMs is killed and fails the test. */
function start(args: string[], opts: { input?: string | Uint8Array; env?: Record<string, string>; limitMs?: number; command?: string[] } = {}): { child: ChildProcess; result: Promise<Run> } {
  const t0 = performance.now();
  // Under Deno the runtime needs its run command and permissions (a bare `deno file` may not read the environment).
  const [cmd, ...pre] = opts.command ?? (process.versions.deno ? [process.execPath, 'run', '-A', BUNDLE] : [process.execPath, BUNDLE]);
  const child = spawn(cmd, [...pre, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const result = new Promise<Run>((resolvePromise, reject) => {
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mka ${args.join(' ')} still running after ${opts.limitMs ?? 60_000} ms; stderr: ${err}`));
    }, opts.limitMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(limit);
      if (process.env.MKA_CLI_TEST_TIMES) console.error(`[${((performance.now() - t0) / 1000).toFixed(1)} s] mka ${args.join(' ').slice(0, 100)}`);
      resolvePromise({ code, out: Buffer.concat(out), err, ms: performance.now() - t0 });
    });
  });
  child.stdin!.end(opts.input ?? '');
  return { child, result };
}

/** Runs mka to its end. */
const mka = (args: string[], opts: Parameters<typeof start>[1] = {}): Promise<Run> => start(args, opts).result;

const text = (r: Run) => r.out.toString('utf8');
const lines = (r: Run) => text(r).split('\n').filter(Boolean);
function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what}: exit ${r.code}; stderr: ${r.err}`);
  return r;
}

describe('mka command line against clusters A and B', { timeout: 240_000 }, () => {
  const A = cluster('a').bootstrap.join(',');
  const B = cluster('b').bootstrap.join(',');
  const labelA = cluster('a').bootstrap[0];
  const labelB = cluster('b').bootstrap[0];
  const topic = uniqueTopic('cli');

  before(async () => {
    ok(await mka(['topics', 'create', '-b', A, '-b', B, topic, '-P', '2', '-r', '1']), 'topics create');
  });
  after(async () => {
    await mka(['topics', 'delete', '-b', A, '-b', B, topic, '--if-exists']);
  });

  it('the development launcher bin/mka.mjs runs the sources on Node (tsx), Deno and Bun', async () => {
    const launcher = join(ROOT, 'bin', 'mka.mjs');
    const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
    const info = JSON.parse(text(ok(await mka(['cluster', 'info', '-b', A, '--json'], { command: [process.execPath, launcher] }), 'node cluster info')));
    assert.equal(info.clusterId, cluster('a').clusterId);
    assert.equal(info.brokers.length, 3);
    const t = uniqueTopic('cli-rt');
    ok(await mka(['topics', 'create', '-b', A, t, '-P', '1', '-r', '1']), 'create');
    ok(await mka(['produce', '-b', A, '-t', t, '-K:'], { input: 'k1:deno ✓\nk2:second\n', command: [bin('deno'), 'run', '--allow-all', '--quiet', launcher] }), 'deno produce');
    const got = lines(ok(await mka(['consume', '-b', A, '-t', t, '-e', '-q', '--json'], { command: [bin('bun'), launcher] }), 'bun consume')).map((l) => JSON.parse(l));
    assert.deepEqual(got.map((m) => [m.offset, m.key, m.value]), [[0, 'k1', 'deno ✓'], [1, 'k2', 'second']]);
    await mka(['topics', 'delete', '-b', A, t]);
  });

  it('topics: list, partitions, describe (offsets per partition), delete', async () => {
    const t = uniqueTopic('cli-admin');
    ok(await mka(['topics', 'create', '-b', A, '-t', t, '-P', '1', '-r', '2', '-C', 'retention.ms=3600000']), 'create');
    ok(await mka(['topics', 'partitions', '-b', A, t, '--count', '3']), 'partitions');
    ok(await mka(['produce', '-b', A, '-t', t, '-p', '2', '-q'], { input: 'a\nb\nc\n' }), 'produce');
    const d = JSON.parse(text(ok(await mka(['topics', 'describe', '-b', A, t, '--json']), 'describe')));
    assert.equal(d.topic, t);
    assert.equal(d.replicationFactor, 2);
    assert.deepEqual(d.partitions.map((p: { partition: number; latest: number }) => [p.partition, p.latest]), [[0, 0], [1, 0], [2, 3]]);
    assert.equal(d.configs['retention.ms'], '3600000');
    assert.ok(lines(ok(await mka(['topics', 'list', '-b', A]), 'list')).includes(t));
    ok(await mka(['topics', 'delete', '-b', A, t]), 'delete');
    // Brokers learn of the deletion from the metadata log one by one: one that has not yet still lists
    // the topic (its offsets then time out, exit 4). Ask again until the answer is "does not exist".
    const again = await eventually(() => mka(['topics', 'describe', '-b', A, t, '--timeout', '3000']), (r) => r.code === 1, 30_000);
    assert.equal(again.code, 1);
    assert.match(again.err, /^mka topics describe: KafkaError: topic .* does not exist on /);
    assert.equal(again.err.trim().split('\n').length, 1);
  });

  it('round trips: -K lines, JSON with binary and headers, whole files, every -f field', async () => {
    const input = Array.from({ length: 50 }, (_, i) => `key-${i % 7}:value ${i}`).join('\n') + '\n';
    const p = ok(await mka(['produce', '-b', A, '-t', topic, '-K:', '-H', 'src=cli', '--report'], { input }), 'produce -K');
    assert.equal(lines(p).length, 50);
    assert.match(p.err, /written 50 messages/);
    // Exact offsets: the report's partition/offset pairs are what consume prints for the same messages.
    const reported = new Set(lines(p));
    const c = ok(await mka(['consume', '-b', A, '-t', topic, '-e', '-q', '-f', '%p %o %k=%s|%h\\n']), 'consume -f');
    const got = lines(c);
    assert.equal(got.length, 50);
    assert.deepEqual(new Set(got.map((l) => l.split(' ').slice(0, 2).join(' '))), reported);
    assert.deepEqual(got.map((l) => l.split(' ').slice(2).join(' ')).sort(), Array.from({ length: 50 }, (_, i) => `key-${i % 7}=value ${i}|src=cli`).sort());
    // Same key, same partition.
    const partitionOf = new Map<string, string>();
    for (const l of got) {
      const [part, , kv] = l.split(' ');
      const key = kv.split('=')[0];
      assert.equal(partitionOf.get(key) ?? part, part, key);
      partitionOf.set(key, part);
    }

    // JSON lines: binary key and value as base64, headers, timestamps: consume --json | produce --json copies them exactly.
    const t2 = uniqueTopic('cli-json');
    ok(await mka(['topics', 'create', '-b', A, t2, '-P', '1', '-r', '1']), 'create json topic');
    const bin = Buffer.from([0xff, 0x00, 0xfe, 0x0a, 0x80]);
    const jsonIn = [
      { key: bin.toString('base64'), keyEncoding: 'base64', value: 'text ✓', headers: [{ key: 'h', value: bin.toString('base64'), valueEncoding: 'base64' }], timestamp: 1_600_000_000_000 },
      { key: null, value: bin.toString('base64'), valueEncoding: 'base64', headers: { a: '1' } },
      { key: 'k', value: null },
    ].map((o) => JSON.stringify(o)).join('\n');
    ok(await mka(['produce', '-b', A, '-t', t2, '--json', '-q'], { input: jsonIn }), 'produce --json');
    const j1 = lines(ok(await mka(['consume', '-b', A, '-t', t2, '-e', '-q', '--json']), 'consume --json')).map((l) => JSON.parse(l));
    assert.equal(j1.length, 3);
    assert.deepEqual(Buffer.from(j1[0].key, 'base64'), bin);
    assert.equal(j1[0].keyEncoding, 'base64');
    assert.equal(j1[0].value, 'text ✓');
    assert.equal(j1[0].timestamp, 1_600_000_000_000);
    assert.deepEqual(Buffer.from(j1[0].headers[0].value, 'base64'), bin);
    assert.deepEqual(Buffer.from(j1[1].value, 'base64'), bin);
    assert.deepEqual(j1[1].headers, [{ key: 'a', value: '1' }]);
    assert.equal(j1[2].value, null);
    assert.deepEqual(j1.map((m) => [m.partition, m.offset]), [[0, 0], [0, 1], [0, 2]]);
    // The copy: the same records again, at offsets 3..5.
    ok(await mka(['produce', '-b', A, '-t', t2, '--json', '-q'], { input: text(ok(await mka(['consume', '-b', A, '-t', t2, '-e', '-q', '--json', '-c', '3']), 'consume')) }), 'copy');
    const j2 = lines(ok(await mka(['consume', '-b', A, '-t', t2, '-q', '--json', '-o', '3', '-e']), 'consume -o 3')).map((l) => JSON.parse(l));
    assert.deepEqual(j2.map((m) => ({ ...m, offset: m.offset - 3 })), j1);

    // Whole files, one message each, bytes as they are (%s writes them raw).
    const dir = mkdtempSync(join(tmpdir(), 'mka-cli-files-'));
    const f1 = join(dir, 'one.bin');
    const blob = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31) % 256));
    writeFileSync(f1, blob);
    writeFileSync(join(dir, 'two.txt'), 'second\nfile\n');
    ok(await mka(['produce', '-b', A, '-t', t2, '-k', 'file', '-q', f1, join(dir, 'two.txt')]), 'produce files');
    const raw = ok(await mka(['consume', '-b', A, '-t', t2, '-o', '6', '-c', '1', '-q', '-f', '%s']), 'consume raw');
    assert.deepEqual(raw.out, blob);
    const fields = ok(await mka(['consume', '-b', A, '-t', t2, '-o', '6', '-e', '-q', '-f', '%t %p %o %k %K %S %T\\n']), 'consume fields');
    const rows = lines(fields).map((l) => l.split(' '));
    assert.deepEqual(rows.map((r) => r.slice(0, 6)), [[t2, '0', '6', 'file', '4', '3000'], [t2, '0', '7', 'file', '4', '12']]);
    assert.ok(Math.abs(Number(rows[0][6]) - Date.now()) < 120_000, 'timestamp is the produce time');
    // -o -1: the last message of each partition; --from: the messages at or after a time.
    assert.deepEqual(lines(ok(await mka(['consume', '-b', A, '-t', t2, '-o', '-1', '-e', '-q']), '-o -1')), ['second', 'file']);
    const fromOld = lines(ok(await mka(['consume', '-b', A, '-t', t2, '--from', '2021-01-01', '-e', '-q', '-f', '%o\\n']), '--from'));
    // From the first message at or after the time (offset 1) to the end, the copy of the 2020 message included.
    assert.deepEqual(fromOld, ['1', '2', '3', '4', '5', '6', '7']);
    await mka(['topics', 'delete', '-b', A, t2]);
  });

  it('group: consume -g commits what it prints; lag side by side; describe; reset (dry run, refused while a member reads, then --execute); Ctrl-C ends a member with exit 0', async () => {
    const t = uniqueTopic('cli-group');
    const group = uniqueTopic('g');
    ok(await mka(['topics', 'create', '-b', A, '-b', B, t, '-P', '3', '-r', '1']), 'create');
    ok(await mka(['produce', '-b', A, '-t', t, '-q'], { input: Array.from({ length: 30 }, (_, i) => `m${i}`).join('\n') }), 'produce');
    assert.equal(lines(ok(await mka(['consume', '-b', A, '-t', t, '-g', group, '-c', '12', '-q']), 'consume -c 12')).length, 12);
    const lag = JSON.parse(text(ok(await mka(['lag', '-b', A, '-b', B, '-g', group, '--json']), 'lag')));
    assert.deepEqual(lag.clusters.map((c: { cluster: string; totalLag: number }) => [c.cluster, c.totalLag]), [[labelA, 18], [labelB, 0]]);
    const committed = lag.partitions.reduce((s: number, p: { clusters: Record<string, { committed: number } | null> }) => s + p.clusters[labelA]!.committed, 0);
    assert.equal(committed, 12);
    assert.ok(lag.partitions.every((p: { clusters: Record<string, unknown> }) => p.clusters[labelB] === null), 'nothing committed on B');
    const table = text(ok(await mka(['lag', '-b', A, '-b', B, '-g', group]), 'lag table'));
    assert.match(table, new RegExp(`${labelA.replace(/\./g, '\\.')} committed .* ${labelB.replace(/\./g, '\\.')} committed`));
    assert.match(table, /^total\s+18\s+0$/m);

    const dry = ok(await mka(['groups', 'reset', '-b', A, '-g', group, '--to-earliest']), 'dry run');
    assert.match(dry.err, /dry run: nothing changed/);
    const before = JSON.parse(text(ok(await mka(['groups', 'describe', '-b', A, '-g', group, '--json']), 'describe')));
    assert.equal(before.totalLag, 18);
    assert.equal(before.state, 'Empty');
    // A member is reading: the reset is refused (exit 1) and changes nothing; Ctrl-C ends the member (exit 0).
    const member = start(['consume', '-b', A, '-t', t, '-g', group, '-q']);
    for (let i = 0; ; i++) {
      const d = JSON.parse(text(ok(await mka(['groups', 'describe', '-b', A, '-g', group, '--json']), 'describe')));
      if (d.state === 'Stable' && d.totalLag === 0) break;
      assert.ok(i < 60, `the member did not join and catch up: ${JSON.stringify(d)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const refused = await mka(['groups', 'reset', '-b', A, '-g', group, '--to-earliest', '--execute']);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /group \S+ on \S+ is Stable with 1 member\(s\): stop its consumers before a reset/);
    process.kill(member.child.pid!, 'SIGINT'); // not child.kill: Deno's sends another signal
    const ended = await member.result;
    assert.equal(ended.code, 0, ended.err);
    assert.equal(lines(ended).length, 18, 'the member printed what was left after the first 12');
    ok(await mka(['groups', 'reset', '-b', A, '-g', group, '--to-earliest', '--execute']), 'reset');
    const reset = JSON.parse(text(ok(await mka(['groups', 'describe', '-b', A, '-g', group, '--json']), 'describe')));
    assert.equal(reset.totalLag, 30);
    // -e with a group: reads until the group has no lag, then leaves.
    assert.equal(lines(ok(await mka(['consume', '-b', A, '-t', t, '-g', group, '-e', '-q']), 'consume -g -e')).length, 30);
    assert.equal(JSON.parse(text(ok(await mka(['groups', 'describe', '-b', A, '-g', group, '--json']), 'describe'))).totalLag, 0);
    // -e with a group on a topic that does not exist: there is no end to wait for, so it says so and exits 1.
    const missing = await mka(['consume', '-b', A, '-t', `${t}-missing`, '-g', group, '-e', '-q'], { limitMs: 20_000 });
    assert.equal(missing.code, 1, missing.err);
    assert.equal(missing.err, `mka consume: KafkaError: topic ${t}-missing does not exist on ${labelA}\n`);
    assert.ok(lines(ok(await mka(['groups', 'list', '-b', A]), 'groups list')).some((l) => l.startsWith(`${group} `)));
    await mka(['topics', 'delete', '-b', A, '-b', B, t]);
  });

  it('several clusters: mirror produce, merged consume where each line says its cluster (partitions, and one group on both)', async () => {
    const t = uniqueTopic('cli-multi');
    ok(await mka(['topics', 'create', '-b', A, '-b', B, t, '-P', '1', '-r', '1']), 'create');
    const p = ok(await mka(['produce', '-b', A, '-b', B, '--mode', 'mirror', '-t', t], { input: 'x\ny\nz\n' }), 'mirror');
    assert.match(p.err, /written 3 messages/);
    const merged = lines(ok(await mka(['consume', '-b', A, '-b', B, '-t', t, '-e', '-q']), 'merged'));
    assert.deepEqual(merged.sort(), [`${labelA} x`, `${labelA} y`, `${labelA} z`, `${labelB} x`, `${labelB} y`, `${labelB} z`].sort());
    const json = lines(ok(await mka(['consume', '-b', A, '-b', B, '-t', t, '-e', '-q', '--json']), 'merged json')).map((l) => JSON.parse(l));
    assert.deepEqual(json.map((m) => `${m.cluster}/${m.offset}/${m.value}`).sort(), [0, 1].flatMap((c) => ['0/x', '1/y', '2/z'].map((s) => `${c ? labelB : labelA}/${s}`)).sort());
    // The demo line: one group on both clusters, merged; -e ends once neither group has lag.
    const group = uniqueTopic('g');
    const both = lines(ok(await mka(['consume', '-b', A, '-b', B, '-t', t, '--group', group, '-e', '-q']), 'merged group'));
    assert.deepEqual(both.sort(), merged.sort());
    const lag = JSON.parse(text(ok(await mka(['lag', '-b', A, '-b', B, '-g', group, '--json']), 'lag')));
    assert.deepEqual(lag.partitions.map((p: { clusters: Record<string, { committed: number }> }) => [p.clusters[labelA].committed, p.clusters[labelB].committed]), [[3, 3]]);
    await mka(['topics', 'delete', '-b', A, '-b', B, t]);
  });

  it('exit codes: unknown topic 1, usage 2, unreachable 4; errors are one line', async () => {
    const missing = await mka(['consume', '-b', A, '-t', uniqueTopic('nope'), '-e']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^mka consume: KafkaError: topic nope-\S+ does not exist on \S+\n$/);
    const usage = await mka(['consume', '-b', A, '-t', topic, '-g', 'g', '-p', '0']);
    assert.equal(usage.code, 2);
    assert.equal(usage.err, 'mka consume: -p cannot be used with -g: the group assigns partitions (see mka consume --help)\n');
    const down = await mka(['cluster', 'info', '-b', '127.0.0.1:1', '--timeout', '2000']);
    assert.equal(down.code, 4, down.err);
    assert.match(down.err, /^mka cluster info: (ConnectionError|TimeoutError): .*\n$/);
  });

  it('multi-cluster produce with cluster B stopped: backup fails over, mirror reports B missing (exit 3), B alone exits 4', async () => {
    const t = uniqueTopic('cli-down');
    ok(await mka(['topics', 'create', '-b', A, '-b', B, t, '-P', '1', '-r', '1']), 'create');
    await stopCluster('b');
    try {
      // B first: the primary is down from the start, so every message must go to A.
      const backup = await mka(['produce', '-b', B, '-b', A, '--mode', 'backup', '-t', t, '--timeout', '10000'], { input: Array.from({ length: 100 }, (_, i) => `b${i}`).join('\n') });
      assert.equal(backup.code, 0, backup.err);
      assert.match(backup.err, new RegExp(`written 100 messages.*\\(100 to ${labelA.replace(/\./g, '\\.')}\\)`));
      const rw = await mka(['produce', '-b', B, '-b', A, '--mode', 'multi-rw', '-t', t, '--timeout', '10000'], { input: 'r1\nr2\nr3\n' });
      assert.equal(rw.code, 0, rw.err);
      const mirror = await mka(['produce', '-b', A, '-b', B, '--mode', 'mirror', '-t', t, '--timeout', '5000', '--report'], { input: 'm1\nm2\n' });
      assert.equal(mirror.code, 3, mirror.err);
      assert.match(mirror.err, new RegExp(`2 messages: .*missing in ${labelB.replace(/\./g, '\\.')}`));
      assert.deepEqual(lines(mirror).map((l) => l.split(' ')[0]), ['INCOMPLETE', 'INCOMPLETE']);
      const alone = await mka(['produce', '-b', B, '-t', t, '--timeout', '3000'], { input: 'lost\n' });
      assert.equal(alone.code, 4, alone.err);
      assert.match(alone.err, /1 message: TimeoutError: /);
      // What A holds: the 100 backup messages, the 3 multi-rw ones and the 2 mirrored ones, in order.
      const onA = lines(ok(await mka(['consume', '-b', A, '-t', t, '-e', '-q']), 'consume A'));
      assert.deepEqual(onA, [...Array.from({ length: 100 }, (_, i) => `b${i}`), 'r1', 'r2', 'r3', 'm1', 'm2']);
    } finally {
      await startCluster('b');
    }
    await mka(['topics', 'delete', '-b', A, '-b', B, t]);
  });
});
