// The Java client's own performance tools (ProducerPerformance, ConsumerPerformance from kafka-tools
// KAFKA_TOOLS_VERSION, default 4.4.0, fetched with Maven by scripts/kafka.mjs) as the reference for what the broker can take.
// They run in their own JVM with the same settings as the JS clients; peak RSS is the kernel's
// high-water mark of that JVM (VmHWM), read from /proc while it runs.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSpec, ChildReport, Scenario, ScenarioResult } from './types.ts';

let jvmArgs: string[] | undefined;
function javaArgs(): string[] {
  jvmArgs ??= execFileSync(process.execPath, ['scripts/kafka.mjs', 'java-args'], { encoding: 'utf8' }).trim().split('\n');
  return jvmArgs;
}

function props(p: Record<string, string | number>): string {
  return Object.entries(p).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

/** Runs a tool class; resolves with stdout and the JVM's peak RSS in bytes. */
function runTool(className: string, args: string[], timeoutMs: number): Promise<{ out: string; maxRssBytes: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn('java', [...javaArgs(), className, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let hwm = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
      } catch {
        /* exited between polls */
      }
    }, 100);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (code === 0) resolve({ out, maxRssBytes: hwm });
      else reject(new Error(`${className} exited with ${code}: ${(err + out).slice(-2000)}`));
    });
  });
}

function producerProps(spec: BenchSpec): Record<string, string | number> {
  return {
    'bootstrap.servers': spec.bootstrap.join(','),
    acks: 'all',
    'enable.idempotence': String(spec.idempotent),
    'linger.ms': spec.lingerMs,
    'batch.size': spec.batchBytes,
    'max.in.flight.requests.per.connection': spec.maxInFlight,
    'compression.type': spec.compression,
    'buffer.memory': 64 * 1024 * 1024,
  };
}

/**
 * `transactional`: ProducerPerformance commits by time, not by count (--transaction-duration-ms): 10 ms
 * holds about as many messages as the JS clients' transactions of 1,000 at its rate.
 */
async function produce(spec: BenchSpec, dir: string, transactional = false): Promise<{ result: ScenarioResult; maxRssBytes: number }> {
  const cfg = join(dir, 'producer.properties');
  writeFileSync(cfg, props({ ...producerProps(spec), ...(transactional ? { 'enable.idempotence': 'true' } : {}) }));
  const txn = transactional ? ['--transactional-id', `bench-java-${spec.topic}`, '--transaction-duration-ms', '10'] : [];
  const { out, maxRssBytes } = await runTool(
    'org.apache.kafka.tools.ProducerPerformance',
    ['--topic', spec.topic, '--num-records', String(spec.messages), '--record-size', String(spec.valueBytes), '--throughput', '-1', '--producer.config', cfg, ...txn],
    600_000,
  );
  // "1000000 records sent, 123456.7 records/sec (11.77 MB/sec), ..." is the summary line.
  const m = /(\d+) records sent, ([\d.]+) records\/sec/.exec(out.split('\n').filter((l) => l.includes('records sent')).pop() ?? '');
  if (!m) throw new Error(`ProducerPerformance printed no summary:\n${out.slice(-1000)}`);
  const messages = Number(m[1]);
  const elapsedMs = (messages / Number(m[2])) * 1000;
  return { result: { kind: 'throughput', value: { messages, bytes: messages * spec.valueBytes, elapsedMs } }, maxRssBytes };
}

async function consumeGroup(spec: BenchSpec, dir: string): Promise<{ result: ScenarioResult; maxRssBytes: number }> {
  const cfg = join(dir, 'consumer.properties');
  writeFileSync(
    cfg,
    props({
      'fetch.min.bytes': spec.fetchMinBytes,
      'fetch.max.wait.ms': spec.fetchMaxWaitMs,
      'fetch.max.bytes': spec.fetchMaxBytes,
      'max.partition.fetch.bytes': spec.partitionMaxBytes,
      'auto.commit.interval.ms': 5000,
    }),
  );
  const { out, maxRssBytes } = await runTool(
    'org.apache.kafka.tools.ConsumerPerformance',
    ['--bootstrap-server', spec.bootstrap.join(','), '--topic', spec.topic, '--messages', String(spec.messages), '--group', spec.groupId, '--consumer.config', cfg, '--timeout', '60000'],
    600_000,
  );
  // CSV: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, ...
  const lines = out.trim().split('\n');
  const head = lines.findIndex((l) => l.includes('data.consumed.in.nMsg'));
  if (head < 0 || !lines[head + 1]) throw new Error(`ConsumerPerformance printed no result:\n${out.slice(-1000)}`);
  const cols = lines[head].split(',').map((s) => s.trim());
  const vals = lines[head + 1].split(',').map((s) => s.trim());
  const get = (name: string) => Number(vals[cols.indexOf(name)]);
  const messages = get('data.consumed.in.nMsg');
  // Like the JS clients, the time includes the group join: the tool's overall rate, not fetch.nMsg.sec.
  const elapsedMs = (messages / get('nMsg.sec')) * 1000;
  return { result: { kind: 'throughput', value: { messages, bytes: messages * spec.valueBytes, elapsedMs } }, maxRssBytes };
}

const WHY: Partial<Record<Scenario, string>> = {
  'consume-partition': 'ConsumerPerformance always subscribes with a group',
  e2e: 'the Java tools have no fixed-rate end-to-end test (EndToEndLatency sends one message at a time)',
  codec: 'not comparable: JVM codec outside the tools',
  metadata: 'the Java tools have no metadata timing',
};

export async function runJava(scenario: Scenario, spec: BenchSpec): Promise<ChildReport> {
  // The tools scripts/kafka.mjs runs (its TOOLS_VERSION: KAFKA_TOOLS_VERSION, default 4.4.0).
  const version = process.env.KAFKA_TOOLS_VERSION || '4.4.0';
  const dir = mkdtempSync(join(tmpdir(), 'mka-bench-java-'));
  try {
    const r =
      spec.keyed ? { result: { kind: 'unsupported', reason: 'ProducerPerformance sends null keys (it has no key option)' } as ScenarioResult, maxRssBytes: 0 }
      : spec.idleMs ? { result: { kind: 'unsupported', reason: 'ConsumerPerformance stops when it has read the messages; it has no idle window' } as ScenarioResult, maxRssBytes: 0 }
      : scenario === 'produce' ? await produce(spec, dir)
      : scenario === 'produce-txn' ? await produce(spec, dir, true)
      : scenario === 'consume-group' ? await consumeGroup(spec, dir)
      : { result: { kind: 'unsupported', reason: WHY[scenario] ?? 'not offered' } as ScenarioResult, maxRssBytes: 0 };
    return { client: 'java', version, scenario, ...r };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
