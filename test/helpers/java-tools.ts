// Kafka's own Java console producer and consumer, run from the jars the harness fetched: the
// reference implementation on the other side of interop tests.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `node scripts/kafka.mjs tool <class> args…` with stdin; resolves with stdout. */
function runTool(className: string, args: string[], input = ''): Promise<string> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [join(ROOT, 'scripts', 'kafka.mjs'), 'tool', className, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('error', fail);
    p.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`${className} exited with ${code}: ${err.slice(-2000)}`))));
    p.stdin.end(input);
  });
}

export interface JavaRecord {
  key: string;
  value: string;
  headers: [string, string][];
}

/** Writes records with Kafka's ConsoleProducer (one batch per send; linger lets them share one). */
export async function javaProduce(bootstrap: string, topic: string, records: JavaRecord[], compression: string): Promise<void> {
  const lines = records.map((r) => `${r.headers.map(([k, v]) => `${k}:${v}`).join(',')}\t${r.key}\t${r.value}`).join('\n') + '\n';
  await runTool('org.apache.kafka.tools.ConsoleProducer', [
    '--bootstrap-server', bootstrap, '--topic', topic,
    // ConsoleProducer's own --compression-codec wins over compression.type.
    ...(compression === 'none' ? [] : ['--compression-codec', compression]),
    '--command-property', 'linger.ms=50',
    '--command-property', 'batch.size=1000000',
    '--reader-property', 'parse.key=true',
    '--reader-property', 'parse.headers=true',
  ], lines);
}

/** Reads `count` records of partition 0 from the beginning with Kafka's ConsoleConsumer (`props`: consumer properties). */
export async function javaConsume(bootstrap: string, topic: string, count: number, props: Record<string, string> = {}): Promise<{ key: string; value: string; headers: string; timestamp: number; offset: number }[]> {
  const out = await runTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server', bootstrap, '--topic', topic, '--partition', '0', '--offset', 'earliest',
    ...Object.entries(props).flatMap(([k, v]) => ['--consumer-property', `${k}=${v}`]),
    '--max-messages', String(count), '--timeout-ms', '20000',
    '--formatter-property', 'print.key=true',
    '--formatter-property', 'print.headers=true',
    '--formatter-property', 'print.timestamp=true',
    '--formatter-property', 'print.offset=true',
    '--formatter-property', 'key.separator=|',
    '--formatter-property', 'line.separator=\n',
  ]);
  return out
    .split('\n')
    .filter((l) => l.startsWith('CreateTime:'))
    .map((l) => {
      // CreateTime:<ts>|Offset:<n>|<headers>|<key>|<value>
      const [ts, off, headers, key, ...value] = l.split('|');
      return { timestamp: Number(ts.split(':')[1]), offset: Number(off.split(':')[1]), headers, key, value: value.join('|') };
    });
}

/** The records the interop tests and fixtures write with Java: keys, values and headers that vary. */
export function javaSample(n: number): JavaRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `key-${i}`,
    value: `value-${i}-${'abcdefgh'.repeat(i % 7)}-ü€`,
    headers: i % 3 === 0 ? [['seq', String(i)]] : [['h1', `v${i}`], ['trace', `t-${i * 7}`]],
  }));
}

/**
 * Kafka's TransactionalMessageCopier: the Java transactional producer in a consume-transform-produce
 * loop, copying partition 0 of `input` (up to its end at launch) to `output` in transactions of `size`
 * messages with the consumed offsets, aborting some at random (they are redone).
 */
export async function javaCopyTransactionally(bootstrap: string, input: string, output: string, opts: { transactionalId: string; group: string; size: number }): Promise<void> {
  await runTool('org.apache.kafka.tools.TransactionalMessageCopier', [
    '--broker-list', bootstrap, '--input-topic', input, '--input-partition', '0', '--output-topic', output,
    '--transactional-id', opts.transactionalId, '--consumer-group', opts.group, '--transaction-size', String(opts.size),
    '--enable-random-aborts', '--use-group-metadata',
  ]);
}
