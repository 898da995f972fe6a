// snappyjs and lz4js ship no type declarations; these cover only what mka calls.

declare module 'snappyjs' {
  const snappy: {
    compress(data: Uint8Array): Uint8Array;
    uncompress(data: Uint8Array, maxLength?: number): Uint8Array;
  };
  export default snappy;
}

declare module 'lz4js' {
  const lz4: {
    compressBound(n: number): number;
    /** Returns the compressed size, or 0 when it found nothing to compress. */
    compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
    decompressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number;
    /** lz4js's own frame writer (linked blocks, 4 MiB block size). */
    compress(src: Uint8Array, maxSize?: number): Uint8Array;
    decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  };
  export default lz4;
}
