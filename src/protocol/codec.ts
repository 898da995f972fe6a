// What the generated message modules are made of: the codec interfaces of the registry, and the few
// helpers every generated struct reader and writer shares (tagged fields, error context).
import { ProtocolDecodeError, ProtocolEncodeError } from './errors.ts';
import type { ByteReader } from './wire/byte-reader.ts';
import { ByteWriter } from './wire/byte-writer.ts';

/** A tagged field the schema of this version does not know: kept so that re-encoding loses nothing. */
export interface TaggedField {
  tag: number;
  data: Uint8Array;
}

/**
 * What an encoder accepts for a message of type T: every field optional, recursively. A missing field
 * is written as its default; decoders always return the complete T.
 */
export type Encodable<T> = T extends Uint8Array | TaggedField
  ? T
  : T extends readonly (infer E)[]
    ? Encodable<E>[]
    : T extends object
      ? { [K in keyof T]?: Encodable<T[K]> }
      : T;

/** One API: both directions, every version in [minVersion, maxVersion]. */
export interface ApiCodec<Req, Res> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible version (compact types, tagged fields), or Infinity. */
  readonly flexibleFrom: number;
  /** Who serves the API: "broker", "controller", "zkBroker". */
  readonly listeners: readonly string[];
  requestHeaderVersion(version: number): number;
  responseHeaderVersion(version: number): number;
  encodeRequest(w: ByteWriter, version: number, message: Encodable<Req>): void;
  decodeRequest(r: ByteReader, version: number): Req;
  encodeResponse(w: ByteWriter, version: number, message: Encodable<Res>): void;
  decodeResponse(r: ByteReader, version: number): Res;
}

/** A data type carried inside other messages (e.g. ConsumerProtocolSubscription). */
export interface DataCodec<T> {
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  encode(w: ByteWriter, version: number, message: Encodable<T>): void;
  decode(r: ByteReader, version: number): T;
}

export const EMPTY_BYTES = new Uint8Array(0);

/** Rethrows a failure inside a struct's field with the field prepended to its path. */
export function fieldFailure(e: unknown, field: string, offset: number): never {
  if (e instanceof ProtocolDecodeError) {
    const path = e.field ? `${field}${e.field.startsWith('[') ? '' : '.'}${e.field}` : field;
    throw new ProtocolDecodeError(e.message, undefined, undefined, path, e.offset ?? offset);
  }
  throw new ProtocolDecodeError(e instanceof Error ? e.message : String(e), undefined, undefined, field, offset);
}

/** The error a top-level decode reports: API, version, direction, field path, detail. */
export function messageFailure(e: unknown, what: string, version: number, offset: number): never {
  const d = e instanceof ProtocolDecodeError ? e : new ProtocolDecodeError(e instanceof Error ? e.message : String(e));
  throw new ProtocolDecodeError(
    `${what} v${version}: ${d.field ? `${d.field}: ` : ''}${d.message}`,
    what,
    version,
    d.field,
    d.offset ?? offset,
  );
}

export function checkVersion(what: string, version: number, min: number, max: number, encode: boolean): void {
  if (!(version >= min && version <= max)) {
    const msg = `${what}: version ${version} is outside the supported range ${min}-${max}`;
    throw encode ? new ProtocolEncodeError(msg) : new ProtocolDecodeError(msg, what, version);
  }
}

export function missing(what: string): never {
  throw new ProtocolEncodeError(`${what} must not be null`);
}

export function unsupportedField(what: string, version: number): never {
  throw new ProtocolEncodeError(`${what} has a value but does not exist in version ${version}`);
}

/** Writes a tagged-field section: known fields (ascending tag) merged with unknown ones. */
export function writeTaggedFields(
  w: ByteWriter,
  known: [number, (w: ByteWriter) => void][] | null,
  unknown: readonly TaggedField[] | undefined,
): void {
  const all: { tag: number; data: Uint8Array }[] = [];
  if (known) {
    for (const [tag, write] of known) {
      const tw = new ByteWriter(32);
      write(tw);
      all.push({ tag, data: tw.finish() });
    }
  }
  if (unknown) for (const u of unknown) all.push(u);
  all.sort((a, b) => a.tag - b.tag);
  w.uvarint(all.length);
  for (const f of all) {
    w.uvarint(f.tag);
    w.uvarint(f.data.length);
    w.raw(f.data);
  }
}

/** Reads a tagged-field section header entry: tag, size, and checks the size fits. */
export function readTagHeader(r: ByteReader): [number, number] {
  const tag = r.uvarint();
  const size = r.uvarint();
  r.need(size, `tagged field ${tag}`);
  return [tag, size];
}
