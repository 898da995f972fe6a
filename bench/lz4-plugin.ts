// What an optional faster lz4 measures when plugged in with registerCodec(3, …): mka's own codec (lz4js,
// pure JavaScript) against @platformatic/wasm-utils' WebAssembly lz4 (the codec @platformatic/kafka
// uses; present here as a dev dependency of the bench's peers, never a dependency of mka), on record
// batches of 1 KiB values as `npm run bench` writes them. The two run interleaved in this process,
// round by round, so load on the machine hits both alike; medians of the rounds.
// Run: node --import tsx bench/lz4-plugin.ts
import { Compression, builtinCodec, registerCodec, type CompressionCodec } from '../src/protocol/compression/index.ts';
import { wasmLz4 } from './compare/lz4-wasm.ts';

const ROUNDS = 9;
const ROUND_MS = 300;
const MiB = 1024 * 1024;
const value = new Uint8Array(1024).map((_, i) => 97 + ((i * 7) % 26));

async function rate(codec: CompressionCodec, batch: Uint8Array): Promise<number> {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ROUND_MS) {
    await codec.compress(batch);
    n++;
  }
  return (n * batch.length) / MiB / ((performance.now() - start) / 1000);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// JSON-ish events (what most payloads look like), for a realistic ratio beside the bench's repetitive values.
function jsonRecords(size: number): Uint8Array {
  let seed = 42;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const lines: string[] = [];
  for (let total = 0; total < size; ) {
    const line = JSON.stringify({ id: 1_000_000 + lines.length, user: `user-${Math.floor(rnd() * 5000)}`, event: ['click', 'view', 'purchase', 'scroll'][Math.floor(rnd() * 4)], price: Math.round(rnd() * 100000) / 100, session: Math.floor(rnd() * 2 ** 32).toString(16) });
    lines.push(line);
    total += line.length + 1;
  }
  return new TextEncoder().encode(lines.join('\n')).subarray(0, size);
}

const js = builtinCodec(Compression.Lz4);
const cases: [string, Uint8Array][] = [];
for (const n of [1, 16, 64, 1000]) {
  const batch = new Uint8Array(n * 1031);
  for (let i = 0; i < n; i++) batch.set(value, i * 1031 + 6);
  cases.push([`${n} × 1 KiB bench values`, batch]);
}
cases.push(['1 MiB of JSON events', jsonRecords(MiB)]);
console.log('batch                       bytes   lz4js MB/s   wasm MB/s   wasm ÷ lz4js   lz4js ratio   wasm ratio');
for (const [label, batch] of cases) {
  // Each frame reads back to the same bytes through the other codec: the plug-in is wire-compatible.
  const a = await js.compress(batch);
  const b = await wasmLz4.compress(batch);
  if (!Buffer.from(await wasmLz4.decompress(a, batch.length)).equals(batch)) throw new Error('wasm cannot read lz4js frames');
  if (!Buffer.from(await js.decompress(b, batch.length)).equals(batch)) throw new Error('lz4js cannot read wasm frames');
  const jsRates: number[] = [];
  const wasmRates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    jsRates.push(await rate(js, batch));
    wasmRates.push(await rate(wasmLz4, batch));
  }
  const j = median(jsRates);
  const w = median(wasmRates);
  console.log(
    `${label.padEnd(22)} ${String(batch.length).padStart(10)}   ${j.toFixed(0).padStart(10)}   ${w.toFixed(0).padStart(9)}   ${(w / j).toFixed(2).padStart(11)}×   ${(batch.length / a.length).toFixed(1).padStart(11)}   ${(batch.length / b.length).toFixed(1).padStart(10)}`,
  );
}
// How an application plugs it in: every Writer and Reader of the process then uses it for lz4.
registerCodec(Compression.Lz4, wasmLz4);
