// An lz4 codec for registerCodec(3, …) from @platformatic/wasm-utils' WebAssembly lz4 (the codec
// @platformatic/kafka uses; a dev dependency here, never a dependency of mka), decompression bounded
// as mka's own codecs are. Used by bench/lz4-plugin.ts and the mka-lz4wasm bench client.
import { Buffer } from 'node:buffer';
import { lz4Compress, lz4Decompress } from '@platformatic/wasm-utils';
import type { CompressionCodec } from '../../src/protocol/compression/index.ts';

export const wasmLz4: CompressionCodec = {
  name: 'lz4 (wasm)',
  compress: async (data) => lz4Compress(Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
  decompress: async (data, maxOutput) => {
    const out = lz4Decompress(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (out.length > maxOutput) throw new RangeError(`lz4 frame decompresses to ${out.length} B, over ${maxOutput}`);
    return out;
  },
};
