#!/usr/bin/env node
// Development launcher of the mka command line: runs the TypeScript sources (through tsx on Node; Deno
// and Bun run TypeScript as it is). The published package's bin is dist/src/cli/bin.js (npm run build).
//   node bin/mka.mjs consume -b localhost:9092 -t events -e
//   deno run -A bin/mka.mjs ...   bun bin/mka.mjs ...
if (!globalThis.Deno && !globalThis.Bun) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import('../src/cli/bin.ts');
