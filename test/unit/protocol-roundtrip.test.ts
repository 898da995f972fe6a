// Every API key, every version, both directions: a sample built from the JSON definitions (a value in
// every field of the version, nulls where nullable, unknown tagged fields) encodes, decodes to the
// complete expected value, and re-encodes to the same bytes. Also the data types and the headers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as M from '../../src/protocol/messages/index.ts';
import type { ApiCodec, DataCodec } from '../../src/protocol/codec.ts';
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src/protocol/errors.ts';
import { ByteReader } from '../../src/protocol/wire/byte-reader.ts';
import { ByteWriter } from '../../src/protocol/wire/byte-writer.ts';
import { contains, intersect, isEmpty } from '../../tools/protocol-schema.ts';
import type { MessageSpec } from '../../tools/protocol-schema.ts';
import { referenceEncode, sample, specByName, specs, VARIANTS } from '../helpers/samples.ts';

type Enc = (w: ByteWriter, v: number, m: never) => void;
type Dec = (r: ByteReader, v: number) => unknown;

function encode(enc: Enc, v: number, m: unknown): Uint8Array {
  const w = new ByteWriter(8); // small, so that growing is exercised too
  enc(w, v, m as never);
  return w.finish().slice();
}

/** encode → decode → encode: bytes identical, decoded value complete, whole input consumed. */
function roundTrip(enc: Enc, dec: Dec, msg: MessageSpec, v: number): number {
  let checked = 0;
  for (const { label, opts } of VARIANTS) {
    const s = sample(msg, v, opts);
    const bytes = encode(enc, v, s.value);
    assert.deepStrictEqual(bytes, referenceEncode(msg, v, s.value), `${msg.name} v${v} (${label}): bytes differ from the definition's encoding`);
    const r = new ByteReader(bytes);
    const decoded = dec(r, v);
    assert.equal(r.offset, bytes.length, `${msg.name} v${v} (${label}): decoder left ${bytes.length - r.offset} bytes`);
    assert.deepStrictEqual(decoded, s.expected, `${msg.name} v${v} (${label}): decoded value`);
    assert.deepStrictEqual(encode(enc, v, decoded), bytes, `${msg.name} v${v} (${label}): re-encoding the decoded value`);
    assert.deepStrictEqual(encode(enc, v, s.expected), bytes, `${msg.name} v${v} (${label}): encoding the complete value`);
    // Decoding at a non-zero offset of a larger buffer (views, not copies).
    const padded = new Uint8Array(bytes.length + 5);
    padded.set(bytes, 3);
    const r2 = new ByteReader(padded, 3, 3 + bytes.length);
    assert.deepStrictEqual(dec(r2, v), s.expected, `${msg.name} v${v} (${label}): decoding at an offset`);
    assert.equal(r2.offset, 3 + bytes.length);
    checked++;
  }
  return checked;
}

const apis = Object.values(M.Api) as unknown as ApiCodec<unknown, unknown>[];
let pairs = 0;
let samples = 0;

describe('registry', () => {
  test('every request definition has a codec with the versions both directions share', () => {
    const all = specs().filter((m) => m.kind === 'request');
    const removed = all.filter((m) => isEmpty(m.validVersions));
    const requests = all.filter((m) => !isEmpty(m.validVersions));
    assert.equal(apis.length, requests.length);
    // Kafka 4.0 removed the ZooKeeper-era controller APIs (KIP-896): no codec, so nothing sends them.
    assert.deepEqual(removed.map((m) => m.apiKey).sort((a, b) => a! - b!), [4, 5, 6, 7]);
    for (const m of removed) assert.equal(M.apiByKey(m.apiKey!), undefined);
    for (const rq of requests) {
      const base = rq.name.replace(/Request$/, '');
      const rs = specByName(`${base}Response`);
      const codec = M.apiByKey(rq.apiKey!);
      assert.ok(codec, `no codec for key ${rq.apiKey}`);
      assert.equal(codec, M.apiByName(base));
      assert.equal(codec.name, base);
      const range = intersect(rq.validVersions, rs.validVersions);
      assert.equal(codec.minVersion, range.min, base);
      assert.equal(codec.maxVersion, range.max, base);
      assert.equal(codec.flexibleFrom, rq.flexibleVersions.min > rq.flexibleVersions.max ? Infinity : rq.flexibleVersions.min, base);
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        const flex = contains(rq.flexibleVersions, v);
        const expectedReq = flex ? 2 : 1;
        assert.equal(codec.requestHeaderVersion(v), expectedReq, `${base} v${v} request header`);
        const expectedRes = rq.apiKey === 18 ? 0 : contains(rs.flexibleVersions, v) ? 1 : 0;
        assert.equal(codec.responseHeaderVersion(v), expectedRes, `${base} v${v} response header`);
      }
    }
    assert.equal(M.apiByKey(-5), undefined);
    assert.equal(M.apiByName('NoSuchApi'), undefined);
  });
});

for (const api of apis) {
  describe(`${api.name} (key ${api.apiKey})`, () => {
    const rq = specByName(`${api.name}Request`);
    const rs = specByName(`${api.name}Response`);
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      pairs++;
      test(`v${v} request`, () => {
        samples += roundTrip(api.encodeRequest as Enc, api.decodeRequest as Dec, rq, v);
      });
      test(`v${v} response`, () => {
        samples += roundTrip(api.encodeResponse as Enc, api.decodeResponse as Dec, rs, v);
      });
    }
    test('versions outside the range are refused both ways', () => {
      for (const v of [api.minVersion - 1, api.maxVersion + 1]) {
        assert.throws(() => encode(api.encodeRequest as Enc, v, {}), ProtocolEncodeError);
        assert.throws(() => encode(api.encodeResponse as Enc, v, {}), ProtocolEncodeError);
        assert.throws(() => api.decodeRequest(new ByteReader(new Uint8Array(64)), v), (e: unknown) => e instanceof ProtocolDecodeError && e.api === `${api.name}Request` && e.version === v);
        assert.throws(() => api.decodeResponse(new ByteReader(new Uint8Array(64)), v), (e: unknown) => e instanceof ProtocolDecodeError && e.api === `${api.name}Response` && e.version === v);
      }
    });
  });
}

describe('data types', () => {
  for (const msg of specs().filter((m) => m.kind === 'data')) {
    const codec = (M as unknown as Record<string, DataCodec<unknown>>)[`${msg.name}Codec`];
    test(`${msg.name} v${msg.validVersions.min}-${msg.validVersions.max}`, () => {
      assert.ok(codec, `${msg.name}Codec is exported`);
      assert.equal(codec.minVersion, msg.validVersions.min);
      assert.equal(codec.maxVersion, msg.validVersions.max);
      for (let v = msg.validVersions.min; v <= msg.validVersions.max; v++) {
        pairs++;
        samples += roundTrip(codec.encode as Enc, codec.decode as Dec, msg, v);
      }
    });
  }
});

describe('headers', () => {
  test('RequestHeader v1-2', () => {
    const msg = specByName('RequestHeader');
    for (let v = 1; v <= 2; v++) samples += roundTrip(M.encodeRequestHeader as Enc, M.decodeRequestHeader as Dec, msg, v);
  });
  test('ResponseHeader v0-1', () => {
    const msg = specByName('ResponseHeader');
    for (let v = 0; v <= 1; v++) samples += roundTrip(M.encodeResponseHeader as Enc, M.decodeResponseHeader as Dec, msg, v);
  });
});

test('coverage summary', () => {
  const apiPairs = apis.reduce((n, a) => n + a.maxVersion - a.minVersion + 1, 0);
  console.log(`# round trip: ${apis.length} APIs, ${apiPairs} (api, version) pairs, ${samples} samples encoded/decoded`);
  assert.ok(apis.length >= 80);
  assert.ok(pairs >= apiPairs);
});
