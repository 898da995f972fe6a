#!/usr/bin/env node
// The `mka` executable (package.json "bin", compiled to dist/src/cli/bin.js). Runs on Node >= 20,
// Deno 2 and Bun 1: only node: modules they all provide.
import process from 'node:process';
import { processIo } from './io.ts';
import { main } from './main.ts';

const stop = new AbortController();
let signals = 0;
const onSignal = () => {
  // The first signal lets the command finish what is in flight and close cleanly; a second one does not wait.
  if (++signals > 1) process.exit(130);
  stop.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await main(process.argv.slice(2), processIo(), stop.signal);
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
process.exitCode = code;
// Everything is closed by now; stdin may still hold the event loop open (a terminal, an open pipe
// no command read to its end), and it has nothing more to give.
process.stdin.destroy();
