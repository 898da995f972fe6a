// The process's streams as the commands use them: stdin as byte chunks, stdout with backpressure (and
// a closed pipe, as in `mka consume | head`, as a normal end), stderr for people. Commands receive an
// Io so that tests can run them in-process; only this module and bin.ts touch node:process.
import process from 'node:process';
import { CommandFailed, Exit } from './errors.ts';
import { concat } from './format.ts';
import type { Env } from './settings.ts';

export interface Out {
  /** Resolves when the bytes may be followed by more (the pipe drained); rejects never. */
  write(chunk: Uint8Array | string): Promise<void>;
  /** True once the reader of stdout went away: stop producing output. */
  readonly closed: boolean;
}

export interface Err {
  write(s: string): void;
  readonly isTTY: boolean;
}

export interface Io {
  env: Env;
  stdin(): AsyncIterable<Uint8Array>;
  out: Out;
  err: Err;
}

type Stream = NodeJS.WriteStream;

class StreamOut implements Out {
  closed = false;
  constructor(private readonly s: Stream) {
    // EPIPE: the reader is gone (head, a closed pager). Not an error of mka's.
    s.on('error', () => {
      this.closed = true;
    });
  }

  write(chunk: Uint8Array | string): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.s.write(chunk)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.s.off('drain', done);
        this.s.off('error', done);
        this.s.off('close', done);
        resolve();
      };
      this.s.on('drain', done);
      this.s.on('error', done);
      this.s.on('close', done);
    });
  }
}

export function processIo(): Io {
  return {
    env: process.env,
    stdin: () => process.stdin as AsyncIterable<Uint8Array>,
    out: new StreamOut(process.stdout),
    err: { write: (s) => void process.stderr.write(s), isTTY: !!process.stderr.isTTY },
  };
}

/**
 * Splits a byte stream at `delim` without decoding it (values may be binary): the complete pieces of
 * each chunk together, so that a burst of input becomes one batch and a line typed alone is sent at
 * once. A piece longer than maxBytes is refused before it grows further.
 */
export async function* splitBytes(src: AsyncIterable<Uint8Array>, delim: Uint8Array, maxBytes: number): AsyncGenerator<Uint8Array[]> {
  let carry: Uint8Array = new Uint8Array(0);
  for await (const chunk of src) {
    // A copy of the chunk (joinTwo copies too): its pieces are queued in the writer while the stream
    // may reuse the chunk's memory.
    let buf: Uint8Array = carry.length ? joinTwo(carry, chunk) : chunk.slice();
    const pieces: Uint8Array[] = [];
    let start = 0;
    for (let at = indexOf(buf, delim, 0); at >= 0; at = indexOf(buf, delim, start)) {
      if (at - start > maxBytes) throw new CommandFailed(`an input line is longer than --max-bytes ${maxBytes}`, Exit.ERROR);
      pieces.push(buf.subarray(start, at));
      start = at + delim.length;
    }
    buf = buf.subarray(start);
    if (buf.length > maxBytes) throw new CommandFailed(`an input line is longer than --max-bytes ${maxBytes}`, Exit.ERROR);
    carry = buf;
    if (pieces.length) yield pieces;
  }
  if (carry.length) yield [carry];
}

function joinTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(buf: Uint8Array, delim: Uint8Array, from: number): number {
  if (delim.length === 1) return buf.indexOf(delim[0], from);
  outer: for (let i = buf.indexOf(delim[0], from); i >= 0 && i + delim.length <= buf.length; i = buf.indexOf(delim[0], i + 1)) {
    for (let j = 1; j < delim.length; j++) if (buf[i + j] !== delim[j]) continue outer;
    return i;
  }
  return -1;
}

/** Whole input as one piece, refused beyond maxBytes. */
export async function readAll(src: AsyncIterable<Uint8Array>, maxBytes: number, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of src) {
    n += chunk.length;
    if (n > maxBytes) throw new CommandFailed(`${what} is larger than --max-bytes ${maxBytes}`, Exit.ERROR);
    parts.push(chunk.slice());
  }
  return concat(parts);
}

/** Left-aligned columns, for tables on stdout. */
export function table(rows: (string | number | bigint)[][]): string {
  if (!rows.length) return '';
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + '\n';
}
