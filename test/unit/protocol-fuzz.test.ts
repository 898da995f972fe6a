// Property-based fuzzing of every decoder, every API and version, both directions: random bytes and
// mutated valid encodings (truncated, bytes flipped, length prefixes overwritten with huge or negative
// values). A decoder either returns a value — which then re-encodes to a fixed point — or throws a
// ProtocolDecodeError naming the API, the version and the field; nothing else, never a hang, and a
// claimed length is never allocated before the bytes are known to be there.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ApiCodec } from '../../src/protocol/codec.ts';
import { ProtocolDecodeError } from '../../src/protocol/errors.ts';
import * as M from '../../src/protocol/messages/index.ts';
import { ByteReader } from '../../src/protocol/wire/byte-reader.ts';
import { ByteWriter } from '../../src/protocol/wire/byte-writer.ts';
import { sample, specByName, VARIANTS } from '../helpers/samples.ts';

type Enc = (w: ByteWriter, v: number, m: never) => void;
type Dec = (r: ByteReader, v: number) => unknown;

interface Target {
  /** "MetadataRequest" etc.: what ProtocolDecodeError.api must say. */
  what: string;
  v: number;
  enc: Enc;
  dec: Dec;
  /** Valid encodings of the samples. */
  valid: Uint8Array[];
}

const apis = Object.values(M.Api) as unknown as ApiCodec<unknown, unknown>[];

function encode(enc: Enc, v: number, m: unknown): Uint8Array {
  const w = new ByteWriter(64);
  enc(w, v, m as never);
  return w.finish().slice();
}

function targets(api: ApiCodec<unknown, unknown>): Target[] {
  const out: Target[] = [];
  for (let v = api.minVersion; v <= api.maxVersion; v++) {
    for (const [dir, enc, dec] of [
      ['Request', api.encodeRequest, api.decodeRequest],
      ['Response', api.encodeResponse, api.decodeResponse],
    ] as const) {
      const what = `${api.name}${dir}`;
      const spec = specByName(what);
      const valid = VARIANTS.map(({ opts }) => encode(enc as Enc, v, sample(spec, v, opts).value));
      out.push({ what, v, enc: enc as Enc, dec: dec as Dec, valid });
    }
  }
  return out;
}

let decodes = 0;
let failures = 0;

function assertDecodeError(e: unknown, t: Target, input: Uint8Array): asserts e is ProtocolDecodeError {
  if (!(e instanceof ProtocolDecodeError)) {
    assert.fail(`${t.what} v${t.v} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} for ${Buffer.from(input).toString('hex')}`);
  }
  assert.equal(e.api, t.what, e.message);
  assert.equal(e.version, t.v, e.message);
  assert.equal(typeof e.field, 'string', `${e.message}: no field`);
  assert.ok(e.field!.length > 0);
  assert.equal(typeof e.offset, 'number');
  assert.ok(e.message.startsWith(`${t.what} v${t.v}: `), e.message);
}

/**
 * Decodes `input`: a ProtocolDecodeError is fine (checked), a value must re-encode, and re-decoding
 * that encoding must give a value that encodes to the same bytes again (a fixed point).
 */
function check(t: Target, input: Uint8Array, mustFail = false): void {
  decodes++;
  let decoded: unknown;
  const started = performance.now();
  try {
    decoded = t.dec(new ByteReader(input), t.v);
  } catch (e) {
    failures++;
    assertDecodeError(e, t, input);
    return;
  } finally {
    const ms = performance.now() - started;
    assert.ok(ms < 250, `${t.what} v${t.v}: decoding ${input.length} bytes took ${ms.toFixed(0)} ms`);
  }
  if (mustFail) assert.fail(`${t.what} v${t.v}: ${Buffer.from(input).toString('hex')} decoded but must not`);
  const once = encode(t.enc, t.v, decoded);
  const again = t.dec(new ByteReader(once), t.v);
  assert.deepStrictEqual(encode(t.enc, t.v, again), once, `${t.what} v${t.v}: re-encoding is not a fixed point`);
}

/** Overwrites `at` with a length prefix that lies: huge or negative, classic (int16/int32) or compact. */
const LIES: number[][] = [
  [0x7f, 0xff, 0xff, 0xff], // int32 2^31-1
  [0xff, 0xff, 0xff, 0xfe], // int32 -2
  [0x80, 0x00, 0x00, 0x00], // int32 -2^31
  [0x7f, 0xff], // int16 32767
  [0xff, 0xfe], // int16 -2
  [0xff, 0xff, 0xff, 0xff, 0x0f], // uvarint 2^32-1
  [0xff, 0xff, 0xff, 0xff, 0x7f], // uvarint longer than 32 bits
  [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // uvarint of 6 bytes
  [0x80, 0x80, 0x80, 0x80, 0x08], // uvarint 2^31
];

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number[]; xor: number[] }
  | { kind: 'lie'; at: number; lie: number }
  | { kind: 'splice'; at: number; junk: Uint8Array };

function mutate(src: Uint8Array, m: Mutation): Uint8Array {
  const n = src.length;
  switch (m.kind) {
    case 'truncate':
      return src.slice(0, n === 0 ? 0 : m.at % n);
    case 'flip': {
      const out = src.slice();
      if (n) m.at.forEach((a, i) => (out[a % n] ^= m.xor[i] || 0xff));
      return out;
    }
    case 'lie': {
      const lie = LIES[m.lie % LIES.length];
      const out = src.slice();
      const at = n === 0 ? 0 : m.at % n;
      const res = new Uint8Array(Math.max(n, at + lie.length));
      res.set(out);
      res.set(lie, at);
      return res;
    }
    case 'splice': {
      const at = n === 0 ? 0 : m.at % (n + 1);
      const out = new Uint8Array(n + m.junk.length);
      out.set(src.subarray(0, at));
      out.set(m.junk, at);
      out.set(src.subarray(at), at + m.junk.length);
      return out;
    }
  }
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), xor: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 4, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('lie' as const), at: fc.nat(), lie: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), junk: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

const RANDOM_RUNS = 120;
const MUTATED_RUNS = 300;
const SEED = Number(process.env.FUZZ_SEED ?? 20240601);

describe('fuzz: every API, every version, both directions', () => {
  for (const api of apis) {
    const ts = targets(api);
    test(`${api.name}: random bytes`, () => {
      fc.assert(
        fc.property(fc.nat({ max: ts.length - 1 }), fc.uint8Array({ maxLength: 96 }), (i, bytes) => check(ts[i], bytes)),
        { numRuns: RANDOM_RUNS, seed: SEED + api.apiKey },
      );
    });
    test(`${api.name}: mutated valid encodings`, () => {
      fc.assert(
        fc.property(fc.nat({ max: ts.length - 1 }), fc.nat({ max: VARIANTS.length - 1 }), mutation, (i, k, m) => {
          const t = ts[i];
          const src = t.valid[k];
          check(t, mutate(src, m), m.kind === 'truncate' && src.length > 0);
        }),
        { numRuns: MUTATED_RUNS, seed: SEED + 1000 + api.apiKey },
      );
    });
    test(`${api.name}: every truncation of every valid encoding fails cleanly`, () => {
      for (const t of ts) {
        for (const src of t.valid) {
          for (let n = 0; n < src.length; n++) check(t, src.subarray(0, n), true);
        }
      }
    });
  }
});

describe('hostile lengths are refused before anything is allocated', () => {
  const fails = (f: () => unknown, api: string, version: number, field?: RegExp) => {
    const started = performance.now();
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof ProtocolDecodeError, String(e));
      assert.equal(e.api, api);
      assert.equal(e.version, version);
      if (field) assert.match(e.field ?? '', field);
      return true;
    });
    assert.ok(performance.now() - started < 50, 'fails fast');
  };
  const bytes = (...b: number[]) => new ByteReader(Uint8Array.from(b));

  test('classic array count 2^31-1 in a 10-byte buffer (Metadata v0 topics)', () => {
    fails(() => M.Metadata.decodeRequest(bytes(0x7f, 0xff, 0xff, 0xff, 0, 1, 0x61, 0, 1, 0x62), 0), 'MetadataRequest', 0, /^topics/);
  });
  test('compact array count 2^32-2 (Metadata v12 topics)', () => {
    fails(() => M.Metadata.decodeRequest(bytes(0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0), 12), 'MetadataRequest', 12, /^topics/);
  });
  test('array of int32 claiming 2^31-1 elements (Fetch v7 forgotten partitions)', () => {
    const w = new ByteWriter();
    M.Fetch.encodeRequest(w, 7, { forgottenTopicsData: [{ topic: 't', partitions: [1] }] });
    const b = w.finish().slice();
    // The forgotten partitions count is the 8 bytes before the end: int32 count, one int32.
    b.set([0x7f, 0xff, 0xff, 0xff], b.length - 8);
    fails(() => M.Fetch.decodeRequest(new ByteReader(b), 7), 'FetchRequest', 7, /^forgottenTopicsData\[?.*partitions/);
  });
  test('bytes of 2^31-1 (SaslAuthenticate v0 authBytes)', () => {
    fails(() => M.SaslAuthenticate.decodeRequest(bytes(0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6), 0), 'SaslAuthenticateRequest', 0, /authBytes/);
  });
  test('compact bytes of 2^32-2 (SaslAuthenticate v2 authBytes)', () => {
    fails(() => M.SaslAuthenticate.decodeRequest(bytes(0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5), 2), 'SaslAuthenticateRequest', 2, /authBytes/);
  });
  test('string of 32767 bytes and negative lengths (FindCoordinator v0 key)', () => {
    fails(() => M.FindCoordinator.decodeRequest(bytes(0x7f, 0xff, 0x61, 0x62), 0), 'FindCoordinatorRequest', 0, /key/);
    fails(() => M.FindCoordinator.decodeRequest(bytes(0xff, 0xfe, 0x61, 0x62), 0), 'FindCoordinatorRequest', 0, /key/);
    fails(() => M.FindCoordinator.decodeRequest(bytes(0xff, 0xff), 0), 'FindCoordinatorRequest', 0, /key/);
  });
  test('a tagged field claiming 2^32-1 bytes, and 2^32-1 tagged fields (ApiVersions v3)', () => {
    // client_software_name "a", client_software_version "b", then the tag buffer.
    fails(() => M.ApiVersions.decodeRequest(bytes(2, 0x61, 2, 0x62, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f), 3), 'ApiVersionsRequest', 3, /tagged/);
    fails(() => M.ApiVersions.decodeRequest(bytes(2, 0x61, 2, 0x62, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0), 3), 'ApiVersionsRequest', 3, /tagged/);
  });
  test('records of 2^31-1 bytes (Produce v3)', () => {
    const w = new ByteWriter();
    M.Produce.encodeRequest(w, 3, { transactionalId: null, topicData: [{ name: 't', partitionData: [{ index: 0, records: new Uint8Array(4) }] }] });
    const b = w.finish().slice();
    b.set([0x7f, 0xff, 0xff, 0xff], b.length - 8); // records length prefix
    fails(() => M.Produce.decodeRequest(new ByteReader(b), 3), 'ProduceRequest', 3, /records/);
  });
  test('a huge array of empty elements is bounded by the bytes there', () => {
    // ApiVersions v0 response: error_code, api_keys count — elements of 6 bytes each; 1000 claimed, 12 bytes.
    fails(() => M.ApiVersions.decodeResponse(bytes(0, 0, 0, 0, 0x03, 0xe8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6), 0), 'ApiVersionsResponse', 0, /apiKeys/);
  });
});

test('fuzz summary', () => {
  console.log(`# fuzz: ${apis.length} APIs, ${decodes} decodes, ${failures} clean ProtocolDecodeErrors, seed ${SEED}`);
  assert.ok(decodes > 10000);
});
