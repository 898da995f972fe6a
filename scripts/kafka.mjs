#!/usr/bin/env node
// Local Apache Kafka clusters (KRaft) for tests, benchmarks and the demo: fetched once with Maven,
// formatted and started by this script, stopped by pid. Plain JavaScript so it runs before any build.
//
//   node scripts/kafka.mjs up | down | status
//   node scripts/kafka.mjs stop-broker <a|b> <nodeId> [--kill] | start-broker <a|b> <nodeId>
//   node scripts/kafka.mjs stop-cluster <a|b> [--kill]         | start-cluster <a|b>
//   node scripts/kafka.mjs freeze-broker <a|b> <nodeId>      | thaw-broker <a|b> <nodeId>
//   node scripts/kafka.mjs freeze-cluster <a|b>               | thaw-cluster <a|b> | thaw-all
//   node scripts/kafka.mjs fetch          (download the broker jars only)
//
// Freezing sends SIGSTOP: the sockets stay open and nothing answers, which is what a network partition,
// a long GC pause or a hung broker looks like to a client. Thawing (SIGCONT) resumes the process.
//
// Environment: KAFKA_VERSION (default 4.4.0), KAFKA_TOOLS_VERSION (the Java tools, default 4.4.0), MKA_KAFKA_STATE (state folder, default <repo>/.kafka),
// MKA_KAFKA_CACHE (jar cache, default ~/.cache/mka/kafka), MKA_KAFKA_PORT_OFFSET (added to every port,
// default 0: for a second set of clusters beside the first).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const KAFKA_VERSION = process.env.KAFKA_VERSION || '4.4.0';
// Kafka's own Java clients (console producer and consumer) are the reference on the other side of the
// interop tests: always the newest, whatever broker version runs (their options change between releases).
export const TOOLS_VERSION = process.env.KAFKA_TOOLS_VERSION || '4.4.0';
export const STATE_DIR = path.resolve(process.env.MKA_KAFKA_STATE || path.join(ROOT, '.kafka'));
const STATE_FILE = path.join(STATE_DIR, 'state.json');
export const CLUSTERS_FILE = path.join(STATE_DIR, 'clusters.json');
const CACHE_DIR = path.resolve(process.env.MKA_KAFKA_CACHE || path.join(os.homedir(), '.cache', 'mka', 'kafka'));
const START_TIMEOUT_MS = 180_000;
// Shifts every port, so that a second set of clusters (its own MKA_KAFKA_STATE) can run beside the first.
const PORT_OFFSET = Number(process.env.MKA_KAFKA_PORT_OFFSET || 0);
const STOP_TIMEOUT_MS = 30_000;

export const USERS = { username: 'mka', password: 'mka-secret' };
const TLS_PASSWORD = 'mka-tls-secret';

/** The two clusters: A (3 combined broker+controller nodes) and B (1 node with SASL and SSL listeners). */
const PLAN = {
  a: { nodes: [1, 2, 3].map((id) => ({ id, port: PORT_OFFSET + 19091 + id, controllerPort: PORT_OFFSET + 19191 + id })), secure: false },
  b: {
    nodes: [{ id: 1, port: PORT_OFFSET + 29092, controllerPort: PORT_OFFSET + 29192, saslPort: PORT_OFFSET + 29093, sslPort: PORT_OFFSET + 29094 }],
    secure: true,
  },
};

const log = (...a) => console.error('[kafka]', ...a);

// ---------------------------------------------------------------------------------------------- jars

export function fetchJars(version = KAFKA_VERSION) {
  const libs = path.join(CACHE_DIR, version, 'libs');
  const marker = path.join(CACHE_DIR, version, '.complete');
  if (fs.existsSync(marker)) return libs;
  log(`fetching Apache Kafka ${version} with Maven into ${libs} (once)`);
  const t0 = Date.now();
  fs.rmSync(libs, { recursive: true, force: true });
  const r = spawnSync(
    'mvn',
    [
      '-B', '-q', '-f', path.join(ROOT, 'scripts', 'kafka', 'pom.xml'),
      `-Dkafka.version=${version}`,
      'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`mvn could not fetch Kafka ${version} (exit ${r.status ?? r.signal})`);
  fs.writeFileSync(marker, new Date().toISOString() + '\n');
  log(`fetched in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return libs;
}

// --------------------------------------------------------------------------------------------- state

function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return null;
  }
}

function writeState(state) {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

/** True when pid is alive AND is the broker we started (its command line names our config file). */
function isOurs(pid, configFile) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(configFile);
  } catch {
    return true; // no /proc: trust the pid
  }
}

// -------------------------------------------------------------------------------------------- config

function serverProperties(name, node, cluster, dir, tls) {
  const voters = cluster.nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  const rf = cluster.nodes.length;
  const listeners = [`PLAINTEXT://127.0.0.1:${node.port}`];
  if (node.saslPort) listeners.push(`SASL_PLAINTEXT://127.0.0.1:${node.saslPort}`);
  if (node.sslPort) listeners.push(`SSL://127.0.0.1:${node.sslPort}`);
  const lines = [
    `# local test cluster ${name}, node ${node.id}`,
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=${[...listeners, `CONTROLLER://127.0.0.1:${node.controllerPort}`].join(',')}`,
    `advertised.listeners=${listeners.join(',')}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL',
    `log.dirs=${path.join(dir, 'data')}`,
    `offsets.topic.replication.factor=${rf}`,
    `transaction.state.log.replication.factor=${rf}`,
    'transaction.state.log.min.isr=1',
    `share.coordinator.state.topic.replication.factor=${rf}`,
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'num.partitions=1',
    'log.flush.interval.messages=9223372036854775807',
    // Keep a broker restart quick: tests stop and start brokers on purpose.
    'controlled.shutdown.enable=true',
    'unclean.leader.election.enable=false',
    // Rack-aware fetching (KIP-392): one rack per node, and leaders that point a consumer naming a rack
    // to the replica in it. Consumers that name no rack fetch from leaders as before.
    `broker.rack=rack-${node.id}`,
    'replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector',
  ];
  if (cluster.secure) {
    const jaas = (mod, extra = '') => `${mod} required${extra};`;
    lines.push(
      'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      `listener.name.sasl_plaintext.plain.sasl.jaas.config=${jaas('org.apache.kafka.common.security.plain.PlainLoginModule', ` user_${USERS.username}="${USERS.password}"`)}`,
      `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${jaas('org.apache.kafka.common.security.scram.ScramLoginModule')}`,
      `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${jaas('org.apache.kafka.common.security.scram.ScramLoginModule')}`,
      `listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=${jaas('org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule', ` unsecuredLoginStringClaim_sub="${USERS.username}"`)}`,
      // Short sessions so that re-authentication (KIP-368) is exercised by the tests.
      'listener.name.sasl_plaintext.connections.max.reauth.ms=20000',
      'ssl.keystore.type=PKCS12',
      `ssl.keystore.location=${tls.keystore}`,
      `ssl.keystore.password=${TLS_PASSWORD}`,
      `ssl.key.password=${TLS_PASSWORD}`,
      'ssl.client.auth=none',
    );
  }
  return lines.join('\n') + '\n';
}

/** A throw-away CA and a broker certificate for 127.0.0.1/localhost, made with openssl. */
function makeTls(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const run = (args) => {
    const r = spawnSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-subj', '/CN=mka test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '3650', '-extfile', 'san.ext']);
  run(['pkcs12', '-export', '-in', 'broker.pem', '-inkey', 'broker.key', '-out', 'broker.p12', '-name', 'broker', '-password', `pass:${TLS_PASSWORD}`]);
  return { ca: path.join(dir, 'ca.pem'), keystore: path.join(dir, 'broker.p12') };
}

/**
 * A KRaft cluster id (16 random bytes, base64url). One starting with '-' would be read by the storage
 * tool as an option, so those are drawn again.
 */
function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

function javaArgs(libs, dir) {
  return [
    '-Xms128m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${path.join(dir, 'logs')}`,
    `-Dlog4j2.configurationFile=${path.join(ROOT, 'scripts', 'kafka', 'log4j2.properties')}`,
    '-cp', path.join(libs, '*'),
  ];
}

function runJava(libs, dir, args) {
  return new Promise((resolve, reject) => {
    const p = spawn('java', [...javaArgs(libs, dir), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} failed (${code}):\n${out}`))));
  });
}

// ------------------------------------------------------------------------------------------- probing

/** One Metadata v1 round trip (no topics) by hand: the harness must not depend on the code it tests. */
export function probeBrokers(port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (v) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(null));
    sock.on('error', () => done(null));
    sock.on('connect', () => {
      const clientId = Buffer.from('mka-harness');
      const body = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length + 4);
      let o = body.writeInt32BE(body.length - 4, 0);
      o = body.writeInt16BE(3, o); // Metadata
      o = body.writeInt16BE(1, o); // v1
      o = body.writeInt32BE(1, o); // correlation id
      o = body.writeInt16BE(clientId.length, o);
      o += clientId.copy(body, o);
      body.writeInt32BE(0, o); // no topics
      sock.write(body);
    });
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      try {
        let o = 8;
        const n = buf.readInt32BE(o);
        o += 4;
        const ids = [];
        for (let i = 0; i < n; i++) {
          ids.push(buf.readInt32BE(o));
          o += 4;
          o += 2 + buf.readInt16BE(o) + 4; // host, port
          const rack = buf.readInt16BE(o);
          o += 2 + Math.max(rack, 0);
        }
        done({ brokers: ids.sort(), controller: buf.readInt32BE(o) });
      } catch {
        done(null);
      }
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(false));
    s.on('connect', () => (s.destroy(), resolve(true)));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until every running node of the cluster answers and sees `expect` brokers registered. */
async function waitReady(state, name, expect) {
  const cluster = state.clusters[name];
  const live = cluster.nodes.filter((n) => n.pid);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const n of live) {
      if (!isOurs(n.pid, n.config)) {
        throw new Error(`broker ${name}/${n.id} exited during start-up; see ${path.join(n.dir, 'logs', 'server.log')} and ${n.stdout}`);
      }
    }
    const answers = await Promise.all(live.map((n) => probeBrokers(n.port)));
    const extra = await Promise.all(live.flatMap((n) => [n.saslPort, n.sslPort].filter(Boolean).map(portOpen)));
    if (answers.every((a) => a && a.brokers.length === expect) && extra.every(Boolean)) return;
    await sleep(250);
  }
  throw new Error(`cluster ${name} not ready within ${START_TIMEOUT_MS / 1000} s`);
}

// ----------------------------------------------------------------------------------------- lifecycle

function startNode(state, name, id) {
  const node = state.clusters[name].nodes.find((n) => n.id === Number(id));
  if (!node) throw new Error(`no node ${id} in cluster ${name}`);
  if (isOurs(node.pid, node.config)) return node;
  const out = fs.openSync(node.stdout, 'a');
  const p = spawn('java', [...javaArgs(state.libs, node.dir), 'kafka.Kafka', node.config], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  p.unref();
  node.pid = p.pid;
  writeState(state);
  return node;
}

async function stopNode(state, name, id, kill = false) {
  const node = state.clusters[name].nodes.find((n) => n.id === Number(id));
  if (!node) throw new Error(`no node ${id} in cluster ${name}`);
  const pid = node.pid;
  if (isOurs(pid, node.config)) {
    // A frozen JVM would hold a SIGTERM until it is continued.
    if (!kill) process.kill(pid, 'SIGCONT');
    process.kill(pid, kill ? 'SIGKILL' : 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (isOurs(pid, node.config)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        await sleep(200);
        break;
      }
      await sleep(100);
    }
  }
  node.pid = null;
  writeState(state);
}

function writeClustersFile(state) {
  const out = { kafkaVersion: state.version, startedAt: state.startedAt, clusters: {} };
  for (const [name, c] of Object.entries(state.clusters)) {
    out.clusters[name] = {
      clusterId: c.clusterId,
      bootstrap: c.nodes.map((n) => `127.0.0.1:${n.port}`),
      nodes: c.nodes.map((n) => ({ id: n.id, port: n.port })),
      ...(c.secure
        ? {
            sasl: { bootstrap: c.nodes.map((n) => `127.0.0.1:${n.saslPort}`), ...USERS },
            ssl: { bootstrap: c.nodes.map((n) => `127.0.0.1:${n.sslPort}`), caFile: state.tls.ca },
          }
        : {}),
    };
  }
  fs.writeFileSync(CLUSTERS_FILE, JSON.stringify(out, null, 2) + '\n');
}

export async function status() {
  const state = readState();
  if (!state) return { running: false };
  const clusters = {};
  for (const [name, c] of Object.entries(state.clusters)) {
    clusters[name] = await Promise.all(
      c.nodes.map(async (n) => ({
        id: n.id,
        port: n.port,
        pid: n.pid,
        alive: isOurs(n.pid, n.config),
        answers: Boolean(await probeBrokers(n.port, 1000)),
      })),
    );
  }
  const running = Object.values(clusters).every((ns) => ns.every((n) => n.alive && n.answers));
  return { running, dir: state.dir, clusters };
}

export async function up() {
  const existing = readState();
  if (existing) {
    if ((await status()).running) {
      log('clusters already running; bootstrap addresses in', CLUSTERS_FILE);
      return false;
    }
    log('stale or partial clusters found: tearing them down first');
    await down();
  }
  const t0 = Date.now();
  const libs = fetchJars();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mka-kafka-'));
  const state = { version: KAFKA_VERSION, libs, dir, startedAt: new Date().toISOString(), clusters: {} };
  writeState(state); // from here on, `down` can clean up whatever happens
  try {
    state.tls = makeTls(path.join(dir, 'tls'));
    const formats = [];
    for (const [name, plan] of Object.entries(PLAN)) {
      const clusterId = newClusterId();
      const nodes = plan.nodes.map((n) => {
        const ndir = path.join(dir, name, String(n.id));
        fs.mkdirSync(path.join(ndir, 'logs'), { recursive: true });
        const config = path.join(ndir, 'server.properties');
        fs.writeFileSync(config, serverProperties(name, n, plan, ndir, state.tls));
        return { ...n, dir: ndir, config, stdout: path.join(ndir, 'logs', 'stdout.log'), pid: null };
      });
      state.clusters[name] = { clusterId, secure: plan.secure, nodes };
      for (const n of nodes) {
        const scram = plan.secure
          ? ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => ['--add-scram', `${m}=[name=${USERS.username},password=${USERS.password}]`])
          : [];
        formats.push(runJava(libs, n.dir, ['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', n.config, ...scram]));
      }
    }
    writeState(state);
    await Promise.all(formats);
    for (const [name, c] of Object.entries(state.clusters)) for (const n of c.nodes) startNode(state, name, n.id);
    await Promise.all(Object.entries(state.clusters).map(([name, c]) => waitReady(state, name, c.nodes.length)));
    writeClustersFile(state);
    log(`clusters up in ${((Date.now() - t0) / 1000).toFixed(1)} s; bootstrap addresses in ${CLUSTERS_FILE}`);
    return true;
  } catch (e) {
    await down();
    throw e;
  }
}

export async function down({ quiet = false } = {}) {
  const state = readState();
  if (!state) return;
  // The data is thrown away, so there is nothing to shut down gracefully for: kill, quickly.
  await Promise.all(
    Object.entries(state.clusters ?? {}).flatMap(([name, c]) => c.nodes.map((n) => stopNode(state, name, n.id, true))),
  );
  if (state.dir && path.basename(state.dir).startsWith('mka-kafka-')) fs.rmSync(state.dir, { recursive: true, force: true });
  fs.rmSync(STATE_FILE, { force: true });
  fs.rmSync(CLUSTERS_FILE, { force: true });
  if (!quiet) log('clusters stopped and removed');
}

function loaded() {
  const state = readState();
  if (!state) throw new Error('no local clusters: run `npm run kafka:up` first');
  return state;
}

export async function stopBroker(name, id, kill = false) {
  await stopNode(loaded(), name, id, kill);
}

export async function startBroker(name, id) {
  const state = loaded();
  startNode(state, name, id);
  const c = state.clusters[name];
  await waitReady(state, name, c.nodes.filter((n) => n.pid).length);
}

export async function stopCluster(name, kill = false) {
  const state = loaded();
  await Promise.all(state.clusters[name].nodes.map((n) => stopNode(state, name, n.id, kill)));
}

export async function startCluster(name) {
  const state = loaded();
  for (const n of state.clusters[name].nodes) startNode(state, name, n.id);
  await waitReady(state, name, state.clusters[name].nodes.length);
}

/** SIGSTOP (freeze) or SIGCONT (thaw) one node, by the pid this script started it with. */
function signalNode(state, name, id, signal) {
  const node = state.clusters[name]?.nodes.find((n) => n.id === Number(id));
  if (!node) throw new Error(`no node ${id} in cluster ${name}`);
  if (!node.pid || !isOurs(node.pid, node.config)) throw new Error(`node ${id} of cluster ${name} is not running`);
  process.kill(node.pid, signal);
}

export function freezeBroker(name, id) {
  signalNode(loaded(), name, id, 'SIGSTOP');
}

export function thawBroker(name, id) {
  signalNode(loaded(), name, id, 'SIGCONT');
}

export function freezeCluster(name) {
  const state = loaded();
  for (const n of state.clusters[name].nodes) signalNode(state, name, n.id, 'SIGSTOP');
}

export function thawCluster(name) {
  const state = loaded();
  for (const n of state.clusters[name].nodes) signalNode(state, name, n.id, 'SIGCONT');
}

/** Continues every node of every cluster that is running: a test that froze one must never leave it so. */
export function thawAll() {
  const state = readState();
  for (const c of Object.values(state?.clusters ?? {})) {
    for (const n of c.nodes) if (n.pid && isOurs(n.pid, n.config)) process.kill(n.pid, 'SIGCONT');
  }
}

// ----------------------------------------------------------------------------------------------- CLI

/**
 * Runs one of Kafka's own tools (e.g. org.apache.kafka.tools.ConsoleProducer) with the cached jars,
 * stdin piped from `input`; resolves with its stdout. Tests use it to write data the Java way.
 */
export function runTool(className, args, input = '') {
  const libs = fetchJars(TOOLS_VERSION);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mka-tool-'));
  return new Promise((resolve, reject) => {
    const p = spawn('java', [...javaArgs(libs, dir).map((a) => a.replace('-Xmx512m', '-Xmx256m')), className, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      if (code === 0) resolve(out);
      else reject(new Error(`${className} failed (${code}):\n${err}${out}`));
    });
    p.stdin.end(input);
  });
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  const kill = rest.includes('--kill');
  const args = rest.filter((a) => !a.startsWith('--'));
  switch (cmd) {
    case 'fetch':
      fetchJars();
      break;
    case 'up':
      await up();
      break;
    case 'down':
      await down();
      break;
    case 'status':
      console.log(JSON.stringify(await status(), null, 2));
      break;
    case 'stop-broker':
      await stopBroker(args[0], args[1], kill);
      break;
    case 'start-broker':
      await startBroker(args[0], args[1]);
      break;
    case 'stop-cluster':
      await stopCluster(args[0], kill);
      break;
    case 'start-cluster':
      await startCluster(args[0]);
      break;
    case 'freeze-broker':
      freezeBroker(args[0], args[1]);
      break;
    case 'thaw-broker':
      thawBroker(args[0], args[1]);
      break;
    case 'freeze-cluster':
      freezeCluster(args[0]);
      break;
    case 'thaw-cluster':
      thawCluster(args[0]);
      break;
    case 'thaw-all':
      thawAll();
      break;
    case 'java-args':
      // The JVM options and classpath the tools run with, one per line (the benchmark starts the perf tools itself to watch their memory).
      process.stdout.write(javaArgs(fetchJars(TOOLS_VERSION), os.tmpdir()).join('\n') + '\n');
      break;
    case 'tool': {
      const chunks = [];
      if (!process.stdin.isTTY) for await (const c of process.stdin) chunks.push(c);
      process.stdout.write(await runTool(args[0], rest.slice(1), Buffer.concat(chunks)));
      break;
    }
    default:
      console.error('usage: kafka.mjs up|down|status|fetch|java-args|tool CLASS ARGS|stop-broker C ID [--kill]|start-broker C ID|stop-cluster C [--kill]|start-cluster C|freeze-broker C ID|thaw-broker C ID|freeze-cluster C|thaw-cluster C|thaw-all');
      process.exitCode = 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error('[kafka]', e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
