#!/usr/bin/env node
// The fake twin of scripts/kafka.mjs: the same two clusters (A: 3 brokers; B: 1 broker with PLAINTEXT,
// SASL_PLAINTEXT and SSL listeners), the same clusters.json, the same commands — but each cluster is a
// mka/testing FakeCluster in its own Node process (scripts/fake-cluster.ts), up in about a second.
// A cluster-wide freeze is SIGSTOP and a kill is SIGKILL on that process, as with broker JVMs; one
// broker's stop/start/freeze/thaw goes through the process's control socket.
//   node scripts/fake-kafka.mjs up | down | status | stop-broker a 1 [--kill] | start-broker a 1 |
//     stop-cluster a [--kill] | start-cluster a | freeze-broker a 1 | thaw-broker a 1 |
//     freeze-cluster a | thaw-cluster a | thaw-all
// Environment: MKA_KAFKA_STATE (default .kafka-fake), MKA_KAFKA_PORT_OFFSET (default 0).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { request } from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STATE_DIR = path.resolve(process.env.MKA_KAFKA_STATE || path.join(ROOT, '.kafka-fake'));
const STATE_FILE = path.join(STATE_DIR, 'fake-state.json');
const CLUSTERS_FILE = path.join(STATE_DIR, 'clusters.json');
const PORT_OFFSET = Number(process.env.MKA_KAFKA_PORT_OFFSET || 0);
const USERS = { username: 'mka', password: 'mka-secret' };

// Ports 500 above the real harness's: no clash with real clusters of any offset (offsets are thousands).
const PLAN = {
  a: { brokers: 3, listeners: [{ name: 'PLAINTEXT', ports: [1, 2, 3].map((id) => PORT_OFFSET + 19591 + id) }] },
  b: {
    brokers: 1,
    listeners: [
      { name: 'PLAINTEXT', ports: [PORT_OFFSET + 29592] },
      { name: 'SASL_PLAINTEXT', ports: [PORT_OFFSET + 29593], sasl: true },
      { name: 'SSL', ports: [PORT_OFFSET + 29594], tls: true },
    ],
    // As the real cluster B: every mechanism, and short sessions so re-authentication is exercised.
    sasl: { users: [USERS], sessionLifetimeMs: 20_000 },
  },
};

const log = (...a) => console.error('[fake-kafka]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return null;
  }
}

const writeState = (s) => fs.writeFileSync(STATE_FILE, JSON.stringify(s, null, 2));

function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A cluster that exited but whose parent has not reaped it yet (the parent that started it may be
  // blocked, e.g. in spawnSync) is a zombie: signals still reach the pid, yet nothing runs.
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: trust the signal
  }
}

/** A throw-away CA and a certificate for 127.0.0.1/localhost, made with openssl (as scripts/kafka.mjs). */
function makeTls(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const made = { ca: path.join(dir, 'ca.pem'), key: path.join(dir, 'broker.key'), cert: path.join(dir, 'broker.pem') };
  if (Object.values(made).every((f) => fs.existsSync(f))) return made;
  const run = (args) => {
    const r = spawnSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-subj', '/CN=mka fake CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=localhost']);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '3650', '-extfile', 'san.ext']);
  return made;
}

function clusterSpec(state, name) {
  const plan = PLAN[name];
  const tls = state.tls;
  return {
    brokers: plan.brokers,
    clusterId: state.clusters[name].clusterId,
    dataDir: path.join(STATE_DIR, 'data', name),
    control: path.join(STATE_DIR, `${name}.sock`),
    consumerHeartbeatIntervalMs: 1000,
    // As scripts/kafka.mjs: broker n in rack-n, leaders point a fetch naming a rack to its replica.
    racks: true,
    listeners: plan.listeners
      .filter((l) => !l.tls || tls)
      .map((l) => ({
        name: l.name,
        ports: l.ports,
        sasl: !!l.sasl,
        ...(l.tls ? { tls: { key: fs.readFileSync(tls.key, 'utf8'), cert: fs.readFileSync(tls.cert, 'utf8') } } : {}),
      })),
    ...(plan.sasl ? { sasl: plan.sasl } : {}),
  };
}

function control(state, name, command, id, extra = '') {
  const socketPath = path.join(STATE_DIR, `${name}.sock`);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: `/${command}${id !== undefined ? `?id=${id}${extra}` : ''}`, method: 'POST', timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const out = JSON.parse(body || '{}');
        if (out.ok) resolve(out);
        else reject(new Error(`cluster ${name}: ${command}: ${out.error ?? res.statusCode}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`cluster ${name} does not answer ${command} (frozen?)`)));
    req.on('error', reject);
    req.end();
  });
}

async function spawnCluster(state, name) {
  const spec = clusterSpec(state, name);
  fs.mkdirSync(spec.dataDir, { recursive: true });
  const out = fs.openSync(path.join(STATE_DIR, `${name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'fake-cluster.ts'), JSON.stringify(spec)], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  state.clusters[name].pid = child.pid;
  writeState(state);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await control(state, name, 'status');
      return;
    } catch (e) {
      if (!alive(child.pid) || Date.now() > deadline) {
        throw new Error(`fake cluster ${name} did not start: see ${path.join(STATE_DIR, `${name}.log`)}`, { cause: e });
      }
      await sleep(50);
    }
  }
}

function writeClustersFile(state) {
  const out = { kafkaVersion: 'fake', startedAt: state.startedAt, clusters: {} };
  for (const [name, c] of Object.entries(state.clusters)) {
    const plan = PLAN[name];
    const ports = (l) => plan.listeners.find((x) => x.name === l)?.ports ?? [];
    const nodes = ports('PLAINTEXT').map((port, i) => ({ id: i + 1, port }));
    out.clusters[name] = {
      clusterId: c.clusterId,
      bootstrap: nodes.map((n) => `127.0.0.1:${n.port}`),
      nodes,
      ...(plan.sasl ? { sasl: { bootstrap: ports('SASL_PLAINTEXT').map((p) => `127.0.0.1:${p}`), ...USERS } } : {}),
      ...(state.tls && ports('SSL').length ? { ssl: { bootstrap: ports('SSL').map((p) => `127.0.0.1:${p}`), caFile: state.tls.ca } } : {}),
    };
  }
  fs.writeFileSync(CLUSTERS_FILE, JSON.stringify(out, null, 2) + '\n');
}

export async function status() {
  const state = readState();
  if (!state) return { running: false };
  const clusters = {};
  for (const name of Object.keys(state.clusters)) {
    const pid = state.clusters[name].pid;
    clusters[name] = { pid, alive: alive(pid), brokers: alive(pid) ? (await control(state, name, 'status').catch(() => null))?.brokers ?? null : null };
  }
  return { running: Object.values(clusters).every((c) => c.alive && c.brokers), dir: STATE_DIR, clusters };
}

export async function up() {
  const t0 = Date.now();
  if (readState()) {
    if ((await status()).running) {
      log('fake clusters already running');
      return false;
    }
    await down({ quiet: true });
  }
  fs.mkdirSync(STATE_DIR, { recursive: true });
  let tls = null;
  try {
    // Outside the state folder, which `down` removes: key generation is most of a cold start.
    tls = makeTls(path.join(os.homedir(), '.cache', 'mka', 'fake-tls'));
  } catch (e) {
    log(`no SSL listener: ${e.message}`);
  }
  const id = () => randomBytes(16).toString('base64url').slice(0, 22);
  const state = { startedAt: new Date().toISOString(), tls, clusters: { a: { clusterId: id() }, b: { clusterId: id() } } };
  writeState(state);
  try {
    await Promise.all(Object.keys(PLAN).map((name) => spawnCluster(state, name)));
  } catch (e) {
    await down({ quiet: true });
    throw e;
  }
  writeClustersFile(state);
  log(`fake clusters up in ${((Date.now() - t0) / 1000).toFixed(1)} s; bootstrap addresses in ${CLUSTERS_FILE}`);
  return true;
}

async function waitExit(pid, ms) {
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  return !alive(pid);
}

export async function stopCluster(name, kill = false) {
  const state = loaded();
  const pid = state.clusters[name]?.pid;
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, 'SIGCONT'); // a frozen process cannot act on SIGTERM
    process.kill(pid, kill ? 'SIGKILL' : 'SIGTERM');
  } catch {
    return;
  }
  if (!(await waitExit(pid, 10_000))) process.kill(pid, 'SIGKILL');
  await waitExit(pid, 5_000);
}

export async function startCluster(name) {
  const state = loaded();
  if (alive(state.clusters[name]?.pid)) return;
  await spawnCluster(state, name);
}

export async function down({ quiet = false } = {}) {
  const state = readState();
  if (!state) return;
  for (const c of Object.values(state.clusters)) {
    if (!alive(c.pid)) continue;
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {}
    await waitExit(c.pid, 5000);
  }
  fs.rmSync(STATE_DIR, { recursive: true, force: true });
  if (!quiet) log('fake clusters stopped and removed');
}

function loaded() {
  const state = readState();
  if (!state) throw new Error('no fake clusters: run `node scripts/fake-kafka.mjs up` first');
  return state;
}

const signal = (name, sig) => {
  const pid = loaded().clusters[name]?.pid;
  if (alive(pid)) process.kill(pid, sig);
};

export const stopBroker = (name, id, kill = false) => control(loaded(), name, 'stop-broker', id, kill ? '&kill' : '');
export const startBroker = (name, id) => control(loaded(), name, 'start-broker', id);
export const freezeBroker = (name, id) => control(loaded(), name, 'freeze-broker', id);
export const thawBroker = (name, id) => control(loaded(), name, 'thaw-broker', id);
export const freezeCluster = (name) => signal(name, 'SIGSTOP');
export const thawCluster = (name) => signal(name, 'SIGCONT');

export async function thawAll() {
  const state = readState();
  if (!state) return;
  for (const name of Object.keys(state.clusters)) {
    signal(name, 'SIGCONT');
    if (alive(state.clusters[name].pid)) await control(state, name, 'thaw').catch(() => {});
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, ...args] = process.argv.slice(2);
  const kill = args.includes('--kill');
  const pos = args.filter((a) => !a.startsWith('--'));
  const commands = {
    up: () => up(),
    down: () => down(),
    status: async () => console.log(JSON.stringify(await status(), null, 2)),
    'stop-broker': () => stopBroker(pos[0], Number(pos[1]), kill),
    'start-broker': () => startBroker(pos[0], Number(pos[1])),
    'stop-cluster': () => stopCluster(pos[0], kill),
    'start-cluster': () => startCluster(pos[0]),
    'freeze-broker': () => freezeBroker(pos[0], Number(pos[1])),
    'thaw-broker': () => thawBroker(pos[0], Number(pos[1])),
    'freeze-cluster': () => freezeCluster(pos[0]),
    'thaw-cluster': () => thawCluster(pos[0]),
    'thaw-all': () => thawAll(),
  };
  const fn = commands[cmd];
  if (!fn) {
    console.error(`usage: fake-kafka.mjs ${Object.keys(commands).join(' | ')}`);
    process.exit(2);
  }
  try {
    await fn();
  } catch (e) {
    console.error('[fake-kafka]', e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
