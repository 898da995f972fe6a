// Message formats: kcat-like -f templates and JSON lines. JSON carries keys, values and header values
// as UTF-8 text when they are valid UTF-8 and as base64 (with "<field>Encoding": "base64") when they
// are not, so that `consume --json | produce --json` copies bytes exactly.
import { UsageError } from './errors.ts';

export interface Header {
  key: string;
  value: Uint8Array | null;
}

/** A consumed message as the formats see it. */
export interface ConsumedRecord {
  /** The cluster's label; null when only one cluster is read. */
  cluster: string | null;
  topic: string;
  partition: number;
  offset: bigint;
  time: Date;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Header[];
}

/** A message to produce, decoded from a JSON line. */
export interface InRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: Header[];
  time?: Date;
}

const enc = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

type Part = Uint8Array | ((r: ConsumedRecord) => Uint8Array | string);

const EMPTY = new Uint8Array(0);

const FIELDS: Record<string, (r: ConsumedRecord) => Uint8Array | string> = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  k: (r) => r.key ?? EMPTY,
  K: (r) => String(r.key ? r.key.length : -1),
  s: (r) => r.value ?? EMPTY,
  S: (r) => String(r.value ? r.value.length : -1),
  T: (r) => String(r.time.getTime()),
  c: (r) => r.cluster ?? '',
  h: (r) => headerText(r.headers),
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '0': '\0' };

function headerText(headers: Header[]): Uint8Array {
  const parts: Uint8Array[] = [];
  headers.forEach((h, i) => {
    parts.push(enc.encode(`${i ? ',' : ''}${h.key}=`));
    if (h.value) parts.push(h.value);
  });
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Compiles a kcat-style template: %t %p %o %k %K %s %S %T %h %c %%, and \n \t \r \\ \0 escapes. */
export function compileFormat(fmt: string): (r: ConsumedRecord) => Uint8Array[] {
  const parts: Part[] = [];
  let lit = '';
  const flush = () => {
    if (lit) parts.push(enc.encode(lit));
    lit = '';
  };
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    const next = fmt[i + 1];
    if (ch === '%' && next !== undefined) {
      i++;
      if (next === '%') lit += '%';
      else if (FIELDS[next]) {
        flush();
        parts.push(FIELDS[next]);
      } else throw new UsageError(`-f: unknown field %${next} (known: %t %p %o %k %K %s %S %T %h %c %%)`);
    } else if (ch === '\\' && next !== undefined && ESCAPES[next] !== undefined) {
      lit += ESCAPES[next];
      i++;
    } else lit += ch;
  }
  flush();
  return (r) => parts.map((p) => (typeof p === 'function' ? bytes(p(r)) : p));
}

function bytes(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? enc.encode(v) : v;
}

/** UTF-8 text when the bytes are valid UTF-8, else null. */
function asText(b: Uint8Array): string | null {
  try {
    return strictUtf8.decode(b);
  } catch {
    return null;
  }
}

function base64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string, what: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new UsageError(`${what} is not valid base64`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Writes `field` (and `fieldEncoding` when binary) into o. */
function putBytes(o: Record<string, unknown>, field: string, b: Uint8Array | null): void {
  if (b === null) {
    o[field] = null;
    return;
  }
  const text = asText(b);
  if (text !== null) o[field] = text;
  else {
    o[field] = base64(b);
    o[`${field}Encoding`] = 'base64';
  }
}

/** Offsets fit a JSON number in practice; one that does not is written as a string rather than rounded. */
function int64(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : String(v);
}

export function jsonLine(r: ConsumedRecord): string {
  const o: Record<string, unknown> = {};
  if (r.cluster !== null) o.cluster = r.cluster;
  o.topic = r.topic;
  o.partition = r.partition;
  o.offset = int64(r.offset);
  o.timestamp = r.time.getTime();
  putBytes(o, 'key', r.key);
  putBytes(o, 'value', r.value);
  o.headers = r.headers.map((h) => {
    const ho: Record<string, unknown> = { key: h.key };
    putBytes(ho, 'value', h.value);
    return ho;
  });
  return JSON.stringify(o) + '\n';
}

function getBytes(o: Record<string, unknown>, field: string, where: string): Uint8Array | null {
  const v = o[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new UsageError(`${where}: "${field}" must be a string or null`);
  const encoding = o[`${field}Encoding`];
  if (encoding === undefined || encoding === 'utf8' || encoding === 'utf-8') return enc.encode(v);
  if (encoding === 'base64') return fromBase64(v, `${where}: "${field}"`);
  throw new UsageError(`${where}: "${field}Encoding" must be "base64" or "utf8"`);
}

/**
 * A JSON line to produce: {"key", "value", "headers", "timestamp"} as `consume --json` writes them.
 * The other fields (cluster, topic, partition, offset) are ignored: the target topic's partitioner
 * (or -p) places the message. Headers: an array of {key, value} or an object of key → string.
 */
export function parseJsonLine(line: string, where: string): InRecord {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new UsageError(`${where}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new UsageError(`${where}: a JSON line must be an object`);
  const x = o as Record<string, unknown>;
  const rec: InRecord = { key: getBytes(x, 'key', where), value: getBytes(x, 'value', where), headers: [] };
  if (Array.isArray(x.headers)) {
    for (const h of x.headers) {
      if (typeof h !== 'object' || h === null || typeof (h as { key?: unknown }).key !== 'string') throw new UsageError(`${where}: each header needs a string "key"`);
      rec.headers.push({ key: (h as { key: string }).key, value: getBytes(h as Record<string, unknown>, 'value', where) });
    }
  } else if (typeof x.headers === 'object' && x.headers !== null) {
    for (const [k, v] of Object.entries(x.headers)) {
      if (v !== null && typeof v !== 'string') throw new UsageError(`${where}: header "${k}" must be a string or null`);
      rec.headers.push({ key: k, value: v === null ? null : enc.encode(v) });
    }
  } else if (x.headers !== undefined && x.headers !== null) throw new UsageError(`${where}: "headers" must be an array or an object`);
  if (x.timestamp !== undefined && x.timestamp !== null) {
    const t = typeof x.timestamp === 'number' ? new Date(x.timestamp) : typeof x.timestamp === 'string' ? new Date(x.timestamp) : null;
    if (!t || !Number.isFinite(t.getTime())) throw new UsageError(`${where}: "timestamp" must be epoch ms or an ISO date`);
    rec.time = t;
  }
  return rec;
}

/** "k=v" as given to -H. */
export function parseHeader(h: string): Header {
  const eq = h.indexOf('=');
  if (eq <= 0) throw new UsageError(`-H "${h}" is not key=value`);
  return { key: h.slice(0, eq), value: enc.encode(h.slice(eq + 1)) };
}
