// Throughput of the record-batch codecs on 1 MiB of JSON-ish records, the shape most Kafka payloads
// have. Run: node --import tsx bench/compression.ts (also works with bun and deno run -A).
import { Compression, codecFor, compressionName } from '../src/protocol/compression/index.ts';
import type { CompressionType } from '../src/protocol/compression/index.ts';

const MiB = 1024 * 1024;

function records(size: number): Uint8Array {
  const lines: string[] = [];
  let total = 0;
  let seed = 42;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; total < size; i++) {
    const line = JSON.stringify({
      id: 1_000_000 + i,
      user: `user-${Math.floor(rnd() * 5000)}`,
      event: ['click', 'view', 'purchase', 'scroll'][Math.floor(rnd() * 4)],
      ts: 1_700_000_000_000 + i * 17,
      price: Math.round(rnd() * 100000) / 100,
      session: Math.floor(rnd() * 2 ** 32).toString(16),
    });
    lines.push(line);
    total += line.length + 1;
  }
  return new TextEncoder().encode(lines.join('\n')).subarray(0, size);
}

async function time(fn: () => Promise<unknown>, minMs = 500): Promise<number> {
  await fn(); // warm up (and load the codec's library)
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    await fn();
    n++;
  }
  return (performance.now() - start) / n;
}

const data = records(MiB);
const types: CompressionType[] = [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
console.log(`input: ${data.length} bytes of JSON records`);
console.log('codec   ratio   compress MB/s   decompress MB/s');
for (const type of types) {
  const codec = codecFor(type);
  const name = compressionName(type).padEnd(6);
  let packed: Uint8Array;
  try {
    packed = await codec.compress(data);
  } catch (err) {
    console.log(`${name}  (compression unavailable: ${(err as Error).message})`);
    continue;
  }
  const c = await time(() => codec.compress(data));
  const d = await time(() => codec.decompress(packed, data.length));
  const mbps = (ms: number) => (data.length / MiB / (ms / 1000)).toFixed(1).padStart(8);
  console.log(`${name}  ${(data.length / packed.length).toFixed(2).padStart(5)}   ${mbps(c)}        ${mbps(d)}`);
}

// lz4 on record batches of 1 KiB values (the value `npm run bench` produces), by batch size: small
// batches show the per-call cost around lz4js's block compressor (window, hash table, frame buffer).
const value = new Uint8Array(1024).map((_, i) => 97 + ((i * 7) % 26));
console.log('\nlz4 on batches of 1 KiB values');
console.log('values   batch bytes   compress MB/s');
for (const n of [1, 16, 64, 1000]) {
  const batch = new Uint8Array(n * 1031);
  for (let i = 0; i < n; i++) batch.set(value, i * 1031 + 6);
  const lz4 = codecFor(Compression.Lz4);
  const ms = await time(() => lz4.compress(batch));
  console.log(`${String(n).padStart(6)}   ${String(batch.length).padStart(11)}   ${(batch.length / MiB / (ms / 1000)).toFixed(1).padStart(13)}`);
}
