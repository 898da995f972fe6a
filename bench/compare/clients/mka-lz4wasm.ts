// mka with a WebAssembly lz4 plugged in through registerCodec (bench/compare/lz4-wasm.ts): what an
// application that wants faster lz4 than lz4js gets end to end. Everything else is the mka client.
// Run it beside `mka` on the lz4 cases: --clients mka,mka-lz4wasm,platformatic --cases produce-1k-lz4
import { Compression, registerCodec } from '../../../src/protocol/compression/index.ts';
import type { ClientAdapter } from '../types.ts';
import { wasmLz4 } from '../lz4-wasm.ts';
import mka from './mka.ts';

registerCodec(Compression.Lz4, wasmLz4);

const adapter: ClientAdapter = { ...mka, name: 'mka-lz4wasm' };
export default adapter;
