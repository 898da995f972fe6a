// The shared vocabulary of the compression layer, kept apart from the codecs so that importing the
// types never loads a codec (and its dependency) as a side effect.

/** Kafka's compression codes: bits 0-2 of a record batch's attributes. */
export type CompressionType = 0 | 1 | 2 | 3 | 4;

export const Compression = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;

/** The types that have a codec; `None` is handled by not compressing at all. */
export type CodecType = 1 | 2 | 3 | 4;

export interface CompressionCodec {
  readonly name: string;
  compress(data: Uint8Array): Promise<Uint8Array>;
  /** maxOutput: reject (CorruptRecordError) as soon as output would exceed this many bytes — size-bomb guard. */
  decompress(data: Uint8Array, maxOutput: number): Promise<Uint8Array>;
  /** Why compress() cannot work in this runtime, or null; asked when a Writer is made, so it fails there. */
  compressUnavailable?(): string | null;
}
