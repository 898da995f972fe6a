// Reads the record set of a fetched partition: batches of magic 2 and legacy message sets, one after
// the other. A batch cut off at the end (brokers stop at the size limit, mid-batch) ends the set
// quietly; anything else that does not add up (CRC, magic, lengths, record counts, compressed
// streams) is a CorruptRecordError naming topic, partition and the batch's offset.
import { CorruptRecordError, ProtocolDecodeError } from '../errors.ts';
import { codecFor, type CompressionType } from '../compression/index.ts';
import { ByteReader } from '../wire/byte-reader.ts';
import * as L from './batch-layout.ts';
import { crc32c } from './crc.ts';
import { decodeLegacyMessage, LEGACY_MIN_SIZE } from './legacy.ts';
import type { ControlMarker, KafkaRecord, RecordBatch, RecordHeader } from './types.ts';

export interface RecordSetContext {
  topic?: string;
  partition?: number;
  /** Largest decompressed records section accepted from one batch (size-bomb guard). Default 128 MiB. */
  maxDecompressedBytes?: number;
  /** Verify CRCs (default true). */
  verifyCrc?: boolean;
}

export { DEFAULT_MAX_DECOMPRESSED } from './batch-layout.ts';
const NO_HEADERS: RecordHeader[] = [];

function corrupt(ctx: RecordSetContext, offset: bigint | undefined, message: string, cause?: unknown): CorruptRecordError {
  const e = new CorruptRecordError(message, ctx.topic, ctx.partition, offset);
  if (cause !== undefined) (e as { cause?: unknown }).cause = cause;
  return e;
}

/** Decodes every complete batch of a record set. */
export async function decodeRecordSet(data: Uint8Array, ctx: RecordSetContext = {}): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  while (data.length - pos >= L.LOG_OVERHEAD) {
    const baseOffset = view.getBigInt64(pos + L.BASE_OFFSET);
    const length = view.getInt32(pos + L.BATCH_LENGTH);
    if (length < 0) throw corrupt(ctx, baseOffset, `record batch length ${length} is negative`);
    const total = L.LOG_OVERHEAD + length;
    if (data.length - pos < total) break; // partial batch at the end of the fetch
    if (length < 5) throw corrupt(ctx, baseOffset, `record batch length ${length} is too short to hold a magic byte`);
    const batch = data.subarray(pos, pos + total);
    const magic = batch[L.MAGIC];
    if (magic === 2) out.push(await decodeBatchV2(batch, ctx));
    else if (magic === 0 || magic === 1) {
      if (total < LEGACY_MIN_SIZE[magic]) throw corrupt(ctx, baseOffset, `legacy message of ${total} bytes is too short`);
      out.push(...(await decodeLegacyMessage(batch, ctx)));
    } else throw corrupt(ctx, baseOffset, `unknown record batch magic ${magic}`);
    pos += total;
  }
  return out;
}

/** Decodes one complete batch of magic 2 (bytes exactly the batch). */
export async function decodeBatchV2(batch: Uint8Array, ctx: RecordSetContext = {}): Promise<RecordBatch> {
  const v = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  const baseOffset = v.getBigInt64(L.BASE_OFFSET);
  if (batch.length < L.HEADER_SIZE) throw corrupt(ctx, baseOffset, `record batch of ${batch.length} bytes is shorter than its ${L.HEADER_SIZE}-byte header`);
  if (ctx.verifyCrc !== false) {
    const stored = v.getUint32(L.CRC);
    const actual = crc32c(batch.subarray(L.CRC_FROM));
    if (stored !== actual) throw corrupt(ctx, baseOffset, `record batch CRC mismatch: stored ${stored.toString(16)}, computed ${actual.toString(16)}`);
  }
  const attributes = v.getInt16(L.ATTRIBUTES);
  const compression = (attributes & L.COMPRESSION_MASK) as CompressionType;
  if (compression > 4) throw corrupt(ctx, baseOffset, `unknown compression type ${compression}`);
  const lastOffsetDelta = v.getInt32(L.LAST_OFFSET_DELTA);
  const baseTimestamp = v.getBigInt64(L.BASE_TIMESTAMP);
  const maxTimestamp = v.getBigInt64(L.MAX_TIMESTAMP);
  const count = v.getInt32(L.RECORD_COUNT);
  const logAppend = (attributes & L.TIMESTAMP_TYPE_BIT) !== 0;
  const isControl = (attributes & L.CONTROL_BIT) !== 0;

  let body = batch.subarray(L.HEADER_SIZE);
  if (count < 0 || (compression === 0 && count > body.length)) throw corrupt(ctx, baseOffset, `record count ${count} does not fit the batch`);
  if (compression !== 0) {
    const cap = ctx.maxDecompressedBytes ?? L.DEFAULT_MAX_DECOMPRESSED;
    try {
      body = await codecFor(compression).decompress(body, cap);
    } catch (e) {
      if (e instanceof CorruptRecordError) throw corrupt(ctx, baseOffset, e.message, e);
      throw e; // not corruption: e.g. no codec registered for this runtime
    }
    if (count > body.length) throw corrupt(ctx, baseOffset, `record count ${count} does not fit the decompressed batch`);
  }

  const records: KafkaRecord[] = new Array(count);
  const r = new ByteReader(body);
  const base = Number(baseTimestamp);
  const appendTime = logAppend ? new Date(Number(maxTimestamp)) : null;
  let i = 0;
  try {
    for (; i < count; i++) {
      const size = r.varint();
      if (size < 0 || size > r.remaining) throw new ProtocolDecodeError(`record length ${size} exceeds the ${r.remaining} bytes left`);
      const end = r.offset + size;
      r.offset++; // record attributes: unused
      const tsDelta = r.varlongNumber();
      const offsetDelta = r.varint();
      const key = r.varintBytes();
      const value = r.varintBytes();
      const nh = r.varint();
      let headers = NO_HEADERS;
      if (nh !== 0) {
        if (nh < 0 || nh > end - r.offset) throw new ProtocolDecodeError(`header count ${nh} does not fit the record`);
        headers = new Array(nh);
        for (let h = 0; h < nh; h++) headers[h] = { key: r.varintString(), value: r.varintBytes() };
      }
      if (r.offset !== end) throw new ProtocolDecodeError(`record length ${size} disagrees with its fields (${r.offset - end + size} bytes)`);
      records[i] = {
        offset: baseOffset + BigInt(offsetDelta),
        timestamp: appendTime ?? new Date(base + tsDelta),
        key,
        value,
        headers,
      };
    }
  } catch (e) {
    if (e instanceof ProtocolDecodeError) throw corrupt(ctx, baseOffset, `record ${i} of ${count}: ${e.message}`, e);
    throw e;
  }
  if (r.remaining !== 0) throw corrupt(ctx, baseOffset, `${r.remaining} bytes left after the batch's ${count} records`);

  return {
    baseOffset,
    lastOffset: baseOffset + BigInt(lastOffsetDelta),
    partitionLeaderEpoch: v.getInt32(L.PARTITION_LEADER_EPOCH),
    magic: 2,
    compression,
    timestampType: logAppend ? 'log-append-time' : 'create-time',
    isTransactional: (attributes & L.TRANSACTIONAL_BIT) !== 0,
    isControl,
    hasDeleteHorizon: (attributes & L.DELETE_HORIZON_BIT) !== 0,
    baseTimestamp,
    maxTimestamp,
    producerId: v.getBigInt64(L.PRODUCER_ID),
    producerEpoch: v.getInt16(L.PRODUCER_EPOCH),
    baseSequence: v.getInt32(L.BASE_SEQUENCE),
    records,
    control: isControl && count > 0 ? controlMarker(records[0]) : null,
    sizeInBytes: batch.length,
  };
}

/** A control record's key is (version int16, type int16); its value (version int16, coordinator epoch int32). */
function controlMarker(r: KafkaRecord): ControlMarker {
  const k = r.key;
  const typeCode = k && k.length >= 4 ? (k[2] << 8) | k[3] : -1;
  const val = r.value;
  const coordinatorEpoch = val && val.length >= 6 ? new DataView(val.buffer, val.byteOffset, val.byteLength).getInt32(2) : -1;
  return { type: typeCode === 0 ? 'abort' : typeCode === 1 ? 'commit' : 'unknown', typeCode, coordinatorEpoch };
}
