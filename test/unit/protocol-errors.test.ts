// The error table is Kafka's, entry for entry, and the typed error built from a broker's code says
// what it means: name, retriable, whether metadata is stale; an unknown code is still an error.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KafkaError, KafkaProtocolError, throwIfError } from '../../src/protocol/errors.ts';
import { ERROR_CODES, ErrorCode } from '../../src/protocol/messages/error-codes.ts';
import { DEFS_DIR } from '../helpers/samples.ts';

interface Row {
  code: number;
  name: string;
  retriable: boolean;
  invalidatesMetadata: boolean;
  message: string;
}

function table(): Row[] {
  const [head, ...lines] = readFileSync(join(DEFS_DIR, 'errors.tsv'), 'utf8').split('\n').filter((l) => l.length > 0);
  assert.deepStrictEqual(head.split('\t'), ['code', 'name', 'retriable', 'invalidates_metadata', 'message']);
  return lines.map((l) => {
    const [code, name, retriable, inval, message = ''] = l.split('\t');
    assert.match(code, /^-?\d+$/);
    assert.ok(retriable === 'true' || retriable === 'false', l);
    assert.ok(inval === 'true' || inval === 'false', l);
    return { code: Number(code), name, retriable: retriable === 'true', invalidatesMetadata: inval === 'true', message };
  });
}

describe('error table', () => {
  const rows = table();

  test('ERROR_CODES has every entry of errors.tsv and nothing else', () => {
    assert.ok(rows.length > 100);
    assert.equal(ERROR_CODES.size, rows.length);
    for (const r of rows) {
      assert.deepStrictEqual(ERROR_CODES.get(r.code), { name: r.name, retriable: r.retriable, invalidatesMetadata: r.invalidatesMetadata, message: r.message }, `code ${r.code}`);
    }
    assert.equal(new Set(rows.map((r) => r.code)).size, rows.length, 'codes are unique');
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, 'names are unique');
  });

  test('ErrorCode names every code of errors.tsv, so code compares against names, never numbers', () => {
    assert.equal(Object.keys(ErrorCode).length, rows.length);
    for (const r of rows) assert.equal((ErrorCode as Record<string, number>)[r.name], r.code, r.name);
    assert.equal(ErrorCode.REBOOTSTRAP_REQUIRED, 129);
    assert.equal(ErrorCode.POSITION_OUT_OF_RANGE, 99);
    assert.equal(ErrorCode.CONTROLLER_ID_NOT_REGISTERED, 136);
  });

  test('well-known codes', () => {
    assert.equal(ERROR_CODES.get(-1)?.name, 'UNKNOWN_SERVER_ERROR');
    assert.equal(ERROR_CODES.get(0)?.name, 'NONE');
    assert.equal(ERROR_CODES.get(3)?.name, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(ERROR_CODES.get(35)?.name, 'UNSUPPORTED_VERSION');
    assert.equal(ERROR_CODES.get(58)?.name, 'SASL_AUTHENTICATION_FAILED');
  });

  test('KafkaProtocolError(6): NOT_LEADER_OR_FOLLOWER, retriable, invalidates metadata', () => {
    const e = new KafkaProtocolError(6);
    assert.ok(e instanceof KafkaError && e instanceof Error);
    assert.equal(e.name, 'KafkaProtocolError');
    assert.equal(e.code, 6);
    assert.equal(e.type, 'NOT_LEADER_OR_FOLLOWER');
    assert.equal(e.retriable, true);
    assert.equal(e.invalidatesMetadata, true);
    assert.equal(e.message, `NOT_LEADER_OR_FOLLOWER (6): ${rows.find((r) => r.code === 6)!.message}`);
  });

  test('a broker detail replaces the table message', () => {
    const e = new KafkaProtocolError(87, 'record 3 is invalid');
    assert.equal(e.type, 'INVALID_RECORD');
    assert.equal(e.message, 'INVALID_RECORD (87): record 3 is invalid');
    assert.equal(new KafkaProtocolError(87, null).message, `INVALID_RECORD (87): ${ERROR_CODES.get(87)!.message}`);
  });

  test('every code builds the error its row describes', () => {
    for (const r of rows) {
      const e = new KafkaProtocolError(r.code);
      assert.equal(e.type, r.name);
      assert.equal(e.retriable, r.retriable, r.name);
      assert.equal(e.invalidatesMetadata, r.invalidatesMetadata, r.name);
    }
  });

  test('an unknown code is a non-retriable error with a made-up type', () => {
    for (const code of [9999, -2, 32767]) {
      assert.equal(ERROR_CODES.get(code), undefined);
      const e = new KafkaProtocolError(code);
      assert.equal(e.type, `UNKNOWN_ERROR_CODE_${code}`);
      assert.equal(e.retriable, false);
      assert.equal(e.invalidatesMetadata, false);
      assert.match(e.message, new RegExp(`\\(${code}\\): unknown error code`));
      assert.match(new KafkaProtocolError(code, 'why').message, /: why$/);
    }
  });

  test('throwIfError: 0 is silence, anything else the typed error', () => {
    assert.doesNotThrow(() => throwIfError(0));
    assert.throws(() => throwIfError(6), (e: unknown) => e instanceof KafkaProtocolError && e.code === 6 && e.retriable);
    assert.throws(() => throwIfError(12345, 'x'), (e: unknown) => e instanceof KafkaProtocolError && e.type === 'UNKNOWN_ERROR_CODE_12345');
  });
});

describe('error codes in src', () => {
  // Outside the generated table a Kafka error code is always spelled ErrorCode.NAME: a bare number
  // compared with a code, thrown as one, or listed as one is refused.
  const SRC = join(import.meta.dirname, '../../src');
  const files = (readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.startsWith(join('protocol', 'messages')));
  const bare = [
    /\b(?:errorCode|error_code|code)\s*[!=]==?\s*-?\d+\b/,
    /\b-?\d+\s*[!=]==?\s*(?:\w+\.)*(?:errorCode|code)\b/,
    /new KafkaProtocolError\(\s*-?\d/,
    /\b(?:case|codes?\s*[:=]\s*\[?)\s*-?\d+\s*[:,\]]/,
  ];

  test('no numeric Kafka error code outside the generated table', () => {
    assert.ok(files.length > 50, `${files.length} files under src`);
    const found: string[] = [];
    for (const f of files) {
      readFileSync(join(SRC, f), 'utf8').split('\n').forEach((line, i) => {
        if (bare.some((re) => re.test(line))) found.push(`src/${f}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepStrictEqual(found, []);
  });

  test('the check sees a bare code', () => {
    for (const line of ['if (p.errorCode === 6) retry();', 'throw new KafkaProtocolError(35);', 'if (3 === res.errorCode) x();'])
      assert.ok(bare.some((re) => re.test(line)), line);
    assert.ok(!bare.some((re) => re.test('if (p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) retry();')));
  });
});
