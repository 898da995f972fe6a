// Sample values for every message of the protocol, built from Kafka's JSON definitions (not from the
// generated code): for a message and a version, a value with a non-default entry in every field that
// version has, and the complete value a decoder must return for it (fields the version lacks at their
// defaults, unknown tagged fields kept). Deterministic: the same inputs give the same sample.
import { join } from 'node:path';
import {
  camel,
  contains,
  elementType,
  intersect,
  isEmpty,
  loadMessages,
  PRIMITIVES,
  structFields,
  type FieldSpec,
  type MessageSpec,
  type VersionRange,
} from '../../tools/protocol-schema.ts';

export const DEFS_DIR = join(import.meta.dirname, '..', '..', '..', 'shared', 'kafka-protocol');

let cached: MessageSpec[] | undefined;
/** Every message definition, loaded once. */
export function specs(): MessageSpec[] {
  return (cached ??= loadMessages(join(DEFS_DIR, 'message')));
}

export function specByName(name: string): MessageSpec {
  const s = specs().find((m) => m.name === name);
  if (!s) throw new Error(`no definition named ${name}`);
  return s;
}

export interface SampleOptions {
  /** Null in every field that is nullable in the version (else a value everywhere). */
  nulls?: boolean;
  /** Unknown tagged fields in every struct of a flexible version. */
  unknownTags?: boolean;
  /** Varies the values (strings, numbers) between samples. */
  seed?: number;
}

export interface Sample {
  /** What to hand to the encoder: the fields of this version only. */
  value: Record<string, unknown>;
  /** What the decoder must return: every field of the type. */
  expected: Record<string, unknown>;
}

/** 16 bytes as Kafka's Uuid string: URL-safe base64 without padding. */
export function uuidString(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function parseIntDefault(d: string | number | boolean, big: true): bigint;
function parseIntDefault(d: string | number | boolean, big: false): number;
function parseIntDefault(d: string | number | boolean, big: boolean): number | bigint {
  const s = String(d).trim();
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  const n = BigInt(body); // BigInt understands "0x..." and decimal
  const v = neg ? -n : n;
  return big ? v : Number(v);
}

/** The value a field has when the message does not carry it (Kafka's defaulting rules). */
export function defaultValue(f: FieldSpec): unknown {
  if (f.default === 'null') return null;
  if (elementType(f.type)) return [];
  const d = f.default;
  switch (f.type) {
    case 'bool':
      return d === true || d === 'true';
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
      return d === undefined || d === '' ? 0 : parseIntDefault(d, false);
    case 'int64':
      return d === undefined || d === '' ? 0n : parseIntDefault(d, true);
    case 'float64':
      return d === undefined || d === '' ? 0 : Number(d);
    case 'string':
      return d === undefined ? '' : String(d);
    case 'uuid':
      return 'AAAAAAAAAAAAAAAAAAAAAA';
    case 'bytes':
      return new Uint8Array(0);
    case 'records':
      return null;
    default:
      return undefined; // a single struct the version lacks
  }
}

class Gen {
  n: number;
  constructor(seed: number) {
    this.n = seed * 7919;
  }
  next(): number {
    return ++this.n;
  }
}

const TEXTS = ['topic', 'grüße-€', 'x', 'a.b_c-d', '🙂 emoji', ''];

function primitive(g: Gen, t: string, f: FieldSpec, name: string): unknown {
  const c = g.next();
  const d = defaultValue(f);
  const avoid = <T>(v: T, alt: T): T => (v === d ? alt : v);
  switch (t) {
    case 'bool':
      return d === true ? false : true;
    case 'int8':
      return avoid(c % 2 ? (c % 120) + 2 : -((c % 120) + 2), 5);
    case 'int16':
      return avoid(c % 2 ? 1000 + (c % 30000) : -(1000 + (c % 30000)), 7);
    case 'uint16':
      return avoid(40000 + (c % 20000), 9);
    case 'int32':
      return avoid(c % 2 ? 0x12340000 + c : -(0x01000000 + c), 11);
    case 'uint32':
      return avoid(0xf0000000 + c, 13);
    case 'int64':
      return avoid(c % 2 ? 0x0123456789abcdefn + BigInt(c) : -(0x10_0000_0000n + BigInt(c)), 17n);
    case 'float64':
      return avoid(c % 2 ? c + 0.5 : -1.25e300 * c, 19.75);
    case 'string': {
      const base = TEXTS[c % TEXTS.length];
      // Never empty (the default of most strings) and distinct per field.
      return `${name}:${base}${c}`;
    }
    case 'uuid': {
      const b = new Uint8Array(16);
      for (let i = 0; i < 16; i++) b[i] = (c * 31 + i * 17 + 1) & 0xff;
      return uuidString(b);
    }
    case 'bytes':
    case 'records': {
      const len = t === 'records' ? 7 : 1 + (c % 4);
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) b[i] = (c + i * 41) & 0xff;
      return b;
    }
  }
  throw new Error(`no sample for type ${t}`);
}

const isStruct = (f: FieldSpec) => !PRIMITIVES.has(elementType(f.type) ?? f.type);

function unknownTags(knownMax: number, g: Gen): { tag: number; data: Uint8Array }[] {
  const c = g.next();
  return [
    { tag: knownMax + 2, data: new Uint8Array([0xde, 0xad, c & 0xff]) },
    { tag: 300 + knownMax, data: new Uint8Array(0) }, // two-byte tag varint, empty payload
  ];
}

interface Walk {
  msg: MessageSpec;
  /** Per struct type: every version it can occur in (one TypeScript type serves all its uses). */
  ranges: Map<string, VersionRange>;
  v: number;
  flexible: boolean;
  opts: SampleOptions;
  g: Gen;
}

/**
 * The versions in which each struct type of `msg` occurs, over every path that reaches it: a common
 * struct used by two fields with different versions is one type whose fields are those of all uses.
 */
export function structRanges(msg: MessageSpec): Map<string, VersionRange> {
  const ranges = new Map<string, VersionRange>();
  const visit = (name: string, fields: FieldSpec[], range: VersionRange) => {
    if (isEmpty(range)) return;
    const old = ranges.get(name);
    const r = old ? { min: Math.min(old.min, range.min), max: Math.max(old.max, range.max) } : range;
    if (old && old.min === r.min && old.max === r.max) return;
    ranges.set(name, r);
    for (const f of fields) {
      const sub = structFields(msg, f);
      if (sub) visit(elementType(f.type) ?? f.type, sub, intersect(r, f.versions));
    }
  };
  visit(msg.name, msg.fields, msg.validVersions);
  return ranges;
}

function struct(w: Walk, typeName: string, fields: FieldSpec[], path: string): Sample {
  const range = w.ranges.get(typeName)!;
  const value: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  for (const f of fields) {
    const key = camel(f.name);
    const tagged = f.tag !== undefined;
    const inType = tagged || !isEmpty(intersect(f.versions, range));
    if (!inType) continue;
    const present = tagged ? w.flexible && contains(intersect(f.versions, f.taggedVersions), w.v) : contains(f.versions, w.v);
    if (!present) {
      expected[key] = defaultValue(f);
      continue;
    }
    const nullable = contains(f.nullableVersions, w.v);
    if (nullable && w.opts.nulls) {
      value[key] = null;
      expected[key] = null;
      continue;
    }
    const sub = structFields(w.msg, f);
    const el = elementType(f.type);
    const subType = el ?? f.type;
    if (el) {
      const vs: unknown[] = [];
      const es: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        if (sub) {
          const s = struct(w, subType, sub, `${path}.${key}[${i}]`);
          vs.push(s.value);
          es.push(s.expected);
        } else {
          const p = primitive(w.g, el, { ...f, type: el, default: undefined }, `${key}${i}`);
          vs.push(p);
          es.push(p);
        }
      }
      value[key] = vs;
      expected[key] = es;
    } else if (sub) {
      const s = struct(w, subType, sub, `${path}.${key}`);
      value[key] = s.value;
      expected[key] = s.expected;
    } else {
      const p = primitive(w.g, f.type, f, key);
      value[key] = p;
      expected[key] = p;
    }
  }
  if (!isEmpty(intersect(w.msg.flexibleVersions, range))) {
    if (w.flexible && w.opts.unknownTags) {
      const knownMax = Math.max(-1, ...fields.filter((f) => f.tag !== undefined).map((f) => f.tag!));
      const u = unknownTags(knownMax, w.g);
      value.unknownTaggedFields = u;
      expected.unknownTaggedFields = u;
    } else {
      expected.unknownTaggedFields = undefined;
    }
  }
  return { value, expected };
}

/** A sample of message `msg` in version `v`. */
export function sample(msg: MessageSpec, v: number, opts: SampleOptions = {}): Sample {
  if (!contains(msg.validVersions, v)) throw new Error(`${msg.name} has no version ${v}`);
  const w: Walk = { msg, ranges: structRanges(msg), v, flexible: contains(msg.flexibleVersions, v), opts, g: new Gen(opts.seed ?? 1) };
  return struct(w, msg.name, msg.fields, msg.name);
}

/** The three standard variants every round trip test covers. */
export const VARIANTS: { label: string; opts: SampleOptions }[] = [
  { label: 'values', opts: {} },
  { label: 'nulls', opts: { nulls: true, seed: 2 } },
  { label: 'unknown tags', opts: { unknownTags: true, seed: 3 } },
];

// ------------------------------------------------------------------------------ reference encoder

/**
 * Encodes `value` (a sample's value) as version `v` of `msg`, straight from the definition and the
 * protocol guide's encoding rules, with none of the generated code or the Writer: an independent
 * oracle for the generated encoders.
 */
export function referenceEncode(msg: MessageSpec, v: number, value: Record<string, unknown>): Uint8Array {
  const out: number[] = [];
  encodeStruct(out, msg, v, msg.fields, value, contains(msg.flexibleVersions, v));
  return Uint8Array.from(out);
}

function be(out: number[], n: bigint, bytes: number): void {
  const u = BigInt.asUintN(bytes * 8, n);
  for (let i = bytes - 1; i >= 0; i--) out.push(Number((u >> BigInt(i * 8)) & 0xffn));
}

function uvar(out: number[], n: number): void {
  let u = n >>> 0;
  while (u >= 0x80) {
    out.push((u & 0x7f) | 0x80);
    u >>>= 7;
  }
  out.push(u);
}

function lengthPrefix(out: number[], n: number | null, flex: boolean, classicBytes: 2 | 4): void {
  if (flex) uvar(out, n === null ? 0 : n + 1);
  else be(out, BigInt(n === null ? -1 : n), classicBytes);
}

function encodePrimitive(out: number[], t: string, x: unknown, flex: boolean): void {
  switch (t) {
    case 'bool':
      out.push(x ? 1 : 0);
      return;
    case 'int8':
      return be(out, BigInt(x as number), 1);
    case 'int16':
    case 'uint16':
      return be(out, BigInt(x as number), 2);
    case 'int32':
    case 'uint32':
      return be(out, BigInt(x as number), 4);
    case 'int64':
      return be(out, x as bigint, 8);
    case 'float64': {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(x as number);
      out.push(...b);
      return;
    }
    case 'uuid': {
      const b = Buffer.from(x as string, 'base64url');
      if (b.length !== 16) throw new Error(`bad uuid ${String(x)}`);
      out.push(...b);
      return;
    }
    case 'string': {
      if (x === null) return lengthPrefix(out, null, flex, 2);
      const b = Buffer.from(x as string, 'utf8');
      lengthPrefix(out, b.length, flex, 2);
      out.push(...b);
      return;
    }
    case 'bytes':
    case 'records': {
      if (x === null) return lengthPrefix(out, null, flex, 4);
      const b = x as Uint8Array;
      lengthPrefix(out, b.length, flex, 4);
      out.push(...b);
      return;
    }
  }
  throw new Error(`no reference encoding for ${t}`);
}

function sameAsDefault(f: FieldSpec, x: unknown): boolean {
  const d = defaultValue(f);
  if (x === null || d === null) return x === d;
  if (Array.isArray(x)) return Array.isArray(d) && x.length === 0;
  if (x instanceof Uint8Array) return d instanceof Uint8Array && x.length === 0;
  return x === d;
}

function encodeField(out: number[], msg: MessageSpec, v: number, f: FieldSpec, x: unknown, flex: boolean): void {
  const el = elementType(f.type);
  const sub = structFields(msg, f);
  if (el) {
    if (x === null) return lengthPrefix(out, null, flex, 4);
    const a = x as unknown[];
    lengthPrefix(out, a.length, flex, 4);
    for (const e of a) {
      if (sub) encodeStruct(out, msg, v, sub, e as Record<string, unknown>, flex);
      else encodePrimitive(out, el, e, flex);
    }
  } else if (sub) {
    if (contains(f.nullableVersions, v)) {
      if (x === null) return void out.push(0xff);
      out.push(1);
    }
    encodeStruct(out, msg, v, sub, x as Record<string, unknown>, flex);
  } else {
    encodePrimitive(out, f.type, x, f.flexibleVersions ? contains(f.flexibleVersions, v) : flex);
  }
}

function encodeStruct(out: number[], msg: MessageSpec, v: number, fields: FieldSpec[], x: Record<string, unknown>, flex: boolean): void {
  const tagged: { tag: number; data: number[] }[] = [];
  for (const f of fields) {
    const key = camel(f.name);
    if (f.tag !== undefined) {
      if (!flex || !contains(intersect(f.versions, f.taggedVersions), v)) continue;
      const val = x[key];
      if (val === undefined || sameAsDefault(f, val)) continue;
      const data: number[] = [];
      encodeField(data, msg, v, f, val, true);
      tagged.push({ tag: f.tag, data });
      continue;
    }
    if (!contains(f.versions, v)) continue;
    const val = x[key] === undefined ? defaultValue(f) : x[key];
    encodeField(out, msg, v, f, val, flex);
  }
  if (!flex) return;
  for (const u of (x.unknownTaggedFields as { tag: number; data: Uint8Array }[] | undefined) ?? []) tagged.push({ tag: u.tag, data: [...u.data] });
  tagged.sort((a, b) => a.tag - b.tag);
  uvar(out, tagged.length);
  for (const t of tagged) {
    uvar(out, t.tag);
    uvar(out, t.data.length);
    out.push(...t.data);
  }
}
