// Legacy message sets (magic 0 and 1), read only: topics written by old clients are still readable.
// A message is offset, size, CRC-32 (IEEE), magic, attributes, [timestamp], key, value; a compressed
// message wraps a whole inner message set in its value. Each top-level message becomes one
// RecordBatch so that callers see one shape for every format.
import { CorruptRecordError, ProtocolDecodeError } from '../errors.ts';
import { codecFor, type CompressionType } from '../compression/index.ts';
import { ByteReader } from '../wire/byte-reader.ts';
import { DEFAULT_MAX_DECOMPRESSED, LOG_OVERHEAD } from './batch-layout.ts';
import { crc32 } from './crc.ts';
import type { RecordSetContext } from './batch-decoder.ts';
import type { KafkaRecord, RecordBatch } from './types.ts';

/** Smallest legacy message of each magic: log overhead 12 + crc 4 + magic 1 + attrs 1 + [ts 8] + key 4 + value 4. */
export const LEGACY_MIN_SIZE = [26, 34] as const;
const TIMESTAMP_TYPE_BIT = 0x08;

interface LegacyMessage {
  offset: bigint;
  magic: 0 | 1;
  compression: CompressionType;
  logAppendTime: boolean;
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
}

function parse(msg: Uint8Array, ctx: RecordSetContext, outerOffset?: bigint): LegacyMessage {
  const r = new ByteReader(msg);
  const offset = r.int64();
  r.int32(); // size: already checked by the caller
  const stored = r.uint32();
  const magic = msg[16];
  if (ctx.verifyCrc !== false) {
    const actual = crc32(msg.subarray(16));
    if (stored !== actual) throw new CorruptRecordError(`legacy message CRC mismatch: stored ${stored.toString(16)}, computed ${actual.toString(16)}`, ctx.topic, ctx.partition, outerOffset ?? offset);
  }
  r.offset = 17;
  const attributes = r.int8();
  const compression = (attributes & 0x07) as CompressionType;
  if (compression > 4) throw new CorruptRecordError(`unknown compression type ${compression}`, ctx.topic, ctx.partition, outerOffset ?? offset);
  const timestamp = magic === 1 ? r.int64() : -1n;
  const key = r.nullableBytes();
  const value = r.nullableBytes();
  if (r.remaining !== 0) throw new ProtocolDecodeError(`${r.remaining} bytes left after the message`);
  return { offset, magic: magic as 0 | 1, compression, logAppendTime: magic === 1 && (attributes & TIMESTAMP_TYPE_BIT) !== 0, timestamp, key, value };
}

/** Splits an inner (decompressed) message set into messages; no partial message is allowed inside. */
function splitInner(data: Uint8Array, ctx: RecordSetContext, outerOffset: bigint): LegacyMessage[] {
  const out: LegacyMessage[] = [];
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < LOG_OVERHEAD) throw new ProtocolDecodeError(`${data.length - pos} stray bytes after the inner messages`);
    const size = v.getInt32(pos + 8);
    const total = LOG_OVERHEAD + size;
    if (size < 0 || total > data.length - pos) throw new ProtocolDecodeError(`inner message size ${size} runs past the wrapper`);
    const magic = data[pos + 16];
    if ((magic !== 0 && magic !== 1) || total < LEGACY_MIN_SIZE[magic]) throw new ProtocolDecodeError(`inner message of magic ${magic} and ${total} bytes`);
    const m = parse(data.subarray(pos, pos + total), ctx, outerOffset);
    if (m.compression !== 0) throw new ProtocolDecodeError('compressed message nested inside a compressed message');
    out.push(m);
    pos += total;
  }
  return out;
}

function toRecord(m: LegacyMessage, offset: bigint, timestamp: bigint): KafkaRecord {
  return { offset, timestamp: new Date(Number(timestamp)), key: m.key, value: m.value, headers: [] };
}

function asBatch(m: LegacyMessage, records: KafkaRecord[], size: number): RecordBatch {
  return {
    baseOffset: records.length ? records[0].offset : m.offset,
    lastOffset: m.offset,
    partitionLeaderEpoch: -1,
    magic: m.magic,
    compression: m.compression,
    timestampType: m.logAppendTime ? 'log-append-time' : 'create-time',
    isTransactional: false,
    isControl: false,
    hasDeleteHorizon: false,
    baseTimestamp: m.timestamp,
    maxTimestamp: m.timestamp,
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
    records,
    control: null,
    sizeInBytes: size,
  };
}

/** Decodes one complete top-level legacy message (bytes exactly the message). */
export async function decodeLegacyMessage(msg: Uint8Array, ctx: RecordSetContext): Promise<RecordBatch[]> {
  let outer: LegacyMessage;
  try {
    outer = parse(msg, ctx);
  } catch (e) {
    if (e instanceof ProtocolDecodeError) {
      const offset = new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getBigInt64(0);
      throw new CorruptRecordError(`legacy message: ${e.message}`, ctx.topic, ctx.partition, offset);
    }
    throw e;
  }
  if (outer.compression === 0) return [asBatch(outer, [toRecord(outer, outer.offset, outer.timestamp)], msg.length)];
  if (outer.value === null) throw new CorruptRecordError('compressed legacy message without a value', ctx.topic, ctx.partition, outer.offset);
  try {
    const inner = splitInner(await codecFor(outer.compression).decompress(outer.value, ctx.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED), ctx, outer.offset);
    if (inner.length === 0) return [];
    // Magic 1 wrappers carry the absolute offset of their last inner message; inner offsets are
    // relative (0..n-1). Magic 0 inner messages carry absolute offsets.
    const shift = outer.magic === 1 ? outer.offset - inner[inner.length - 1].offset : 0n;
    const records = inner.map((m) => toRecord(m, m.offset + shift, outer.logAppendTime ? outer.timestamp : m.timestamp));
    return [asBatch(outer, records, msg.length)];
  } catch (e) {
    if (e instanceof CorruptRecordError) throw new CorruptRecordError(e.message, ctx.topic, ctx.partition, outer.offset);
    if (e instanceof ProtocolDecodeError) throw new CorruptRecordError(`compressed legacy message: ${e.message}`, ctx.topic, ctx.partition, outer.offset);
    throw e;
  }
}
