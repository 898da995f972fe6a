// Connection settings from three places, most specific last: the config file's top level, the
// environment (MKA_*), the config file's entry for a cluster named by -b, then flags. Each -b names one
// cluster: a comma-separated bootstrap list or the name of a cluster in the config file.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { ClusterConfig, SaslConfig, TlsConfig } from '../index.ts';
import type { OptionSpec, ParsedArgs } from './args.ts';
import { UsageError } from './errors.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** Options every command that talks to a cluster accepts. */
export const CONNECTION_OPTIONS: OptionSpec[] = [
  { name: 'brokers', short: 'b', kind: 'list', arg: 'LIST|NAME', help: 'one cluster: host:port[,host:port...] or a cluster named in the config file; repeat for several clusters (env MKA_BROKERS, clusters separated by ";")' },
  { name: 'config', kind: 'string', arg: 'FILE', help: 'JSON config file (env MKA_CONFIG; default ~/.config/mka/config.json when it exists)' },
  { name: 'sasl-mechanism', kind: 'string', arg: 'MECH', help: 'PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (env MKA_SASL_MECHANISM)' },
  { name: 'sasl-username', kind: 'string', arg: 'USER', help: 'SASL user (env MKA_SASL_USERNAME)' },
  { name: 'sasl-password', kind: 'string', arg: 'PASS', help: 'SASL password (env MKA_SASL_PASSWORD; prefer the env or file to a flag)' },
  { name: 'tls', kind: 'flag', help: 'connect with TLS (env MKA_TLS=1)' },
  { name: 'tls-ca', kind: 'string', arg: 'FILE', help: 'PEM CA certificate(s) to trust; implies --tls (env MKA_TLS_CA)' },
  { name: 'tls-cert', kind: 'string', arg: 'FILE', help: 'PEM client certificate for mutual TLS (env MKA_TLS_CERT)' },
  { name: 'tls-key', kind: 'string', arg: 'FILE', help: 'PEM client key for mutual TLS (env MKA_TLS_KEY)' },
  { name: 'tls-servername', kind: 'string', arg: 'NAME', help: 'TLS server name to check (env MKA_TLS_SERVERNAME)' },
  { name: 'tls-insecure', kind: 'flag', help: 'do not verify the broker certificate (tests only; env MKA_TLS_INSECURE=1)' },
  { name: 'client-id', kind: 'string', arg: 'ID', help: 'client id sent to brokers (env MKA_CLIENT_ID; default mka-cli)' },
  { name: 'timeout', kind: 'string', arg: 'MS', help: 'deadline of each call, retries included (env MKA_TIMEOUT_MS; default 30000)' },
];

/** One layer of settings; every field optional so that layers merge field by field. */
interface Layer {
  brokers?: string[];
  clientId?: string;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServername?: string;
  tlsInsecure?: boolean;
  timeoutMs?: number;
}

/** A cluster to talk to: its settings and a short label for output lines. */
export interface Target {
  label: string;
  config: ClusterConfig;
  /** The deadline of each call. */
  timeoutMs: number;
}

const truthy = (v: string | undefined): boolean | undefined => (v === undefined || v === '' ? undefined : /^(1|true|yes|on)$/i.test(v));
const splitList = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

function positiveMs(v: string | undefined, what: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive number of milliseconds, got "${v}"`);
  return n;
}

function envLayer(env: Env): Layer {
  return {
    clientId: env.MKA_CLIENT_ID || undefined,
    saslMechanism: env.MKA_SASL_MECHANISM || undefined,
    saslUsername: env.MKA_SASL_USERNAME || undefined,
    saslPassword: env.MKA_SASL_PASSWORD || undefined,
    tls: truthy(env.MKA_TLS),
    tlsCa: env.MKA_TLS_CA || undefined,
    tlsCert: env.MKA_TLS_CERT || undefined,
    tlsKey: env.MKA_TLS_KEY || undefined,
    tlsServername: env.MKA_TLS_SERVERNAME || undefined,
    tlsInsecure: truthy(env.MKA_TLS_INSECURE),
    timeoutMs: positiveMs(env.MKA_TIMEOUT_MS, 'MKA_TIMEOUT_MS'),
  };
}

function flagLayer(a: ParsedArgs): Layer {
  return {
    clientId: a.str('client-id'),
    saslMechanism: a.str('sasl-mechanism'),
    saslUsername: a.str('sasl-username'),
    saslPassword: a.str('sasl-password'),
    tls: a.flag('tls') || undefined,
    tlsCa: a.str('tls-ca'),
    tlsCert: a.str('tls-cert'),
    tlsKey: a.str('tls-key'),
    tlsServername: a.str('tls-servername'),
    tlsInsecure: a.flag('tls-insecure') || undefined,
    timeoutMs: positiveMs(a.str('timeout'), '--timeout'),
  };
}

function merge(...layers: Layer[]): Layer {
  const out: Layer = {};
  for (const l of layers) {
    for (const [k, v] of Object.entries(l)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

// ------------------------------------------------------------------------------------- config file

interface ConfigFile {
  path: string;
  defaults: Layer;
  clusters: Map<string, Layer>;
}

const FILE_KEYS = ['brokers', 'clientId', 'sasl', 'tls', 'timeoutMs', 'clusters'];

/** Reads one layer of the file's JSON; file paths in it are relative to the file. */
function fileLayer(o: unknown, where: string, dir: string): Layer {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new UsageError(`${where} must be an object`);
  const x = o as Record<string, unknown>;
  for (const k of Object.keys(x)) if (!FILE_KEYS.includes(k)) throw new UsageError(`${where}: unknown key "${k}" (known: ${FILE_KEYS.join(', ')})`);
  const str = (v: unknown, what: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new UsageError(`${where}.${what} must be a string`);
    return v;
  };
  const path = (v: unknown, what: string) => {
    const s = str(v, what);
    return s === undefined ? undefined : isAbsolute(s) ? s : join(dir, s);
  };
  const layer: Layer = { clientId: str(x.clientId, 'clientId') };
  if (x.brokers !== undefined) {
    if (typeof x.brokers === 'string') layer.brokers = splitList(x.brokers);
    else if (Array.isArray(x.brokers) && x.brokers.every((b) => typeof b === 'string')) layer.brokers = x.brokers as string[];
    else throw new UsageError(`${where}.brokers must be a string or an array of strings`);
  }
  if (x.timeoutMs !== undefined) layer.timeoutMs = positiveMs(String(x.timeoutMs), `${where}.timeoutMs`);
  if (x.sasl !== undefined) {
    if (typeof x.sasl !== 'object' || x.sasl === null) throw new UsageError(`${where}.sasl must be an object`);
    const s = x.sasl as Record<string, unknown>;
    layer.saslMechanism = str(s.mechanism, 'sasl.mechanism');
    layer.saslUsername = str(s.username, 'sasl.username');
    layer.saslPassword = str(s.password, 'sasl.password');
  }
  if (typeof x.tls === 'boolean') layer.tls = x.tls;
  else if (x.tls !== undefined) {
    if (typeof x.tls !== 'object' || x.tls === null) throw new UsageError(`${where}.tls must be true, false or an object`);
    const t = x.tls as Record<string, unknown>;
    layer.tls = true;
    layer.tlsCa = path(t.caFile, 'tls.caFile');
    layer.tlsCert = path(t.certFile, 'tls.certFile');
    layer.tlsKey = path(t.keyFile, 'tls.keyFile');
    layer.tlsServername = str(t.servername, 'tls.servername');
    if (t.insecure !== undefined) layer.tlsInsecure = t.insecure === true;
  }
  return layer;
}

function loadConfigFile(a: ParsedArgs, env: Env): ConfigFile | null {
  const explicit = a.str('config') ?? (env.MKA_CONFIG || undefined);
  const home = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined);
  const file = explicit ?? (home ? join(home, 'mka', 'config.json') : undefined);
  if (!file || (!explicit && !existsSync(file))) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`config file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const dir = dirname(resolve(file));
  const defaults = fileLayer(json, file, dir);
  const clusters = new Map<string, Layer>();
  const raw = (json as { clusters?: unknown }).clusters;
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${file}: clusters must be an object of named clusters`);
    for (const [name, c] of Object.entries(raw)) {
      if (c && typeof c === 'object' && 'clusters' in c) throw new UsageError(`${file}: clusters.${name} cannot hold clusters`);
      clusters.set(name, fileLayer(c, `${file}: clusters.${name}`, dir));
    }
  }
  return { path: file, defaults, clusters };
}

// -------------------------------------------------------------------------------------- resolution

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${what} ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function toClusterConfig(l: Layer, label: string): ClusterConfig {
  if (!l.brokers?.length) throw new UsageError(`cluster ${label} has no bootstrap brokers`);
  const config: ClusterConfig = { brokers: l.brokers, clientId: l.clientId ?? 'mka-cli' };
  if (l.saslMechanism || l.saslUsername || l.saslPassword) {
    const mechanism = (l.saslMechanism ?? 'PLAIN').toUpperCase();
    if (mechanism !== 'PLAIN' && mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512') {
      throw new UsageError(`SASL mechanism ${mechanism} is not one the command line supports (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`);
    }
    if (l.saslUsername === undefined || l.saslPassword === undefined) throw new UsageError(`SASL ${mechanism} needs a username and a password`);
    config.sasl = { mechanism, username: l.saslUsername, password: l.saslPassword } as SaslConfig;
  }
  if (l.tls || l.tlsCa || l.tlsCert || l.tlsKey || l.tlsInsecure) {
    const tls: TlsConfig = {};
    if (l.tlsCa) tls.ca = readPem(l.tlsCa, 'TLS CA file');
    if (l.tlsCert) tls.cert = readPem(l.tlsCert, 'TLS certificate file');
    if (l.tlsKey) tls.key = readPem(l.tlsKey, 'TLS key file');
    if (l.tlsServername) tls.servername = l.tlsServername;
    if (l.tlsInsecure) tls.rejectUnauthorized = false;
    config.tls = Object.keys(tls).length ? tls : true;
  }
  const timeoutMs = l.timeoutMs ?? 30_000;
  config.callTimeoutMs = timeoutMs;
  config.retryTimeoutMs = timeoutMs;
  return config;
}

/** The clusters a command talks to, in the order given; at least one. */
export function resolveTargets(a: ParsedArgs, env: Env): Target[] {
  const file = loadConfigFile(a, env);
  const base = merge(file?.defaults ?? {}, envLayer(env));
  const flags = flagLayer(a);
  let specs = a.list('brokers');
  if (!specs.length && env.MKA_BROKERS) specs = env.MKA_BROKERS.split(';').map((s) => s.trim()).filter(Boolean);
  if (!specs.length) {
    if (!base.brokers?.length) throw new UsageError('no brokers: give -b host:port, set MKA_BROKERS, or name brokers in the config file', a.command);
    specs = [base.brokers.join(',')];
  }
  const targets = specs.map((spec): Target => {
    const named = file?.clusters.get(spec);
    if (!named && !spec.includes(':')) {
      throw new UsageError(`-b ${spec} is neither host:port nor a cluster of ${file ? `the config file ${file.path}` : 'a config file (none found)'}`, a.command);
    }
    const layer = merge(base, named ?? { brokers: splitList(spec) }, flags);
    const label = named ? spec : (layer.brokers?.[0] ?? spec);
    return { label, config: toClusterConfig(layer, label), timeoutMs: layer.timeoutMs ?? 30_000 };
  });
  // Output lines name clusters by label: two clusters must not share one.
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.label)) t.label = `${t.label}#${targets.indexOf(t)}`;
    seen.add(t.label);
  }
  return targets;
}
