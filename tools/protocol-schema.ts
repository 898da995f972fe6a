// Reads Kafka's JSON message definitions (JSON with // comments) into a typed model. Shared by the
// generator and by the tests that build sample values from the same definitions.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface VersionRange {
  min: number;
  /** Infinity for an open range ("3+"). */
  max: number;
}

export const NONE: VersionRange = { min: 1, max: 0 };

export interface FieldSpec {
  name: string;
  type: string;
  versions: VersionRange;
  nullableVersions: VersionRange;
  taggedVersions: VersionRange;
  tag?: number;
  default?: string | number | boolean;
  ignorable: boolean;
  /** Field-level override of the message's flexible versions (RequestHeader's ClientId). */
  flexibleVersions?: VersionRange;
  fields?: FieldSpec[];
  about?: string;
}

export interface MessageSpec {
  name: string;
  kind: 'request' | 'response' | 'header' | 'data';
  apiKey?: number;
  validVersions: VersionRange;
  flexibleVersions: VersionRange;
  fields: FieldSpec[];
  commonStructs: { name: string; versions: VersionRange; fields: FieldSpec[] }[];
  listeners: string[];
  latestVersionUnstable: boolean;
  file: string;
}

/** Removes // comments outside of strings (the "about" texts contain URLs with //). */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

export function parseVersions(s: string | undefined): VersionRange {
  if (s === undefined || s === 'none' || s === '') return NONE;
  const plus = /^(\d+)\+$/.exec(s);
  if (plus) return { min: Number(plus[1]), max: Infinity };
  const range = /^(\d+)-(\d+)$/.exec(s);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  if (/^\d+$/.test(s)) return { min: Number(s), max: Number(s) };
  throw new Error(`bad version range "${s}"`);
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  return { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
}

export const isEmpty = (r: VersionRange) => r.min > r.max;
export const contains = (r: VersionRange, v: number) => v >= r.min && v <= r.max;
/** Every version of `inner` is in `outer`. */
export const covers = (outer: VersionRange, inner: VersionRange) => isEmpty(inner) || (outer.min <= inner.min && outer.max >= inner.max);

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  ignorable?: boolean;
  flexibleVersions?: string;
  fields?: RawField[];
  about?: string;
}

function field(raw: RawField): FieldSpec {
  return {
    name: raw.name,
    type: raw.type,
    versions: parseVersions(raw.versions),
    nullableVersions: parseVersions(raw.nullableVersions),
    taggedVersions: parseVersions(raw.taggedVersions),
    tag: raw.tag,
    default: raw.default,
    ignorable: raw.ignorable ?? false,
    flexibleVersions: raw.flexibleVersions !== undefined ? parseVersions(raw.flexibleVersions) : undefined,
    fields: raw.fields?.map(field),
    about: raw.about,
  };
}

export function parseMessage(file: string, text: string): MessageSpec {
  const raw = JSON.parse(stripComments(text)) as {
    name: string;
    type: string;
    apiKey?: number;
    validVersions: string;
    flexibleVersions: string;
    fields: RawField[];
    commonStructs?: { name: string; versions: string; fields: RawField[] }[];
    listeners?: string[];
    latestVersionUnstable?: boolean;
  };
  return {
    name: raw.name,
    kind: raw.type as MessageSpec['kind'],
    apiKey: raw.apiKey,
    validVersions: parseVersions(raw.validVersions),
    flexibleVersions: parseVersions(raw.flexibleVersions),
    fields: (raw.fields ?? []).map(field),
    commonStructs: (raw.commonStructs ?? []).map((s) => ({ name: s.name, versions: parseVersions(s.versions), fields: s.fields.map(field) })),
    listeners: raw.listeners ?? [],
    latestVersionUnstable: raw.latestVersionUnstable ?? false,
    file,
  };
}

/** Every message definition in `dir`, sorted by file name. */
export function loadMessages(dir: string): MessageSpec[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseMessage(f, readFileSync(join(dir, f), 'utf8')));
}

export const PRIMITIVES = new Set(['bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'uuid', 'bytes', 'records']);

/** The element type of an array type ("[]Foo" → "Foo"), or null. */
export function elementType(type: string): string | null {
  return type.startsWith('[]') ? type.slice(2) : null;
}

/** The fields of a struct-typed field: inline, or from the message's commonStructs. */
export function structFields(msg: MessageSpec, f: FieldSpec): FieldSpec[] | null {
  const t = elementType(f.type) ?? f.type;
  if (PRIMITIVES.has(t)) return null;
  if (f.fields) return f.fields;
  const common = msg.commonStructs.find((s) => s.name === t);
  if (!common) throw new Error(`${msg.name}.${f.name}: struct ${t} has no fields and is not a common struct`);
  return common.fields;
}

export function camel(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}
