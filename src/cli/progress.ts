// Progress and rates on stderr. On a terminal, one live line rewritten in place; otherwise (a log
// file, a CI job) a plain line every `intervalMs` for long runs. A summary line at the end either way.
import type { Err } from './io.ts';

export interface ProgressOptions {
  /** What the count is of ("written", "read"). */
  verb: string;
  quiet: boolean;
  /** Plain lines for a stderr that is not a terminal. */
  intervalMs?: number;
}

const LIVE_MS = 250;

function human(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

export class Progress {
  private messages = 0;
  private bytes = 0;
  private readonly started = performance.now();
  private timer: ReturnType<typeof setInterval> | null = null;
  private live = false;

  constructor(
    private readonly err: Err,
    private readonly opts: ProgressOptions,
  ) {
    if (opts.quiet) return;
    this.live = err.isTTY;
    const every = this.live ? LIVE_MS : (opts.intervalMs ?? 10_000);
    this.timer = setInterval(() => this.print(), every);
    // Progress alone never keeps the process running.
    (this.timer as { unref?: () => void }).unref?.();
  }

  add(messages: number, bytes: number): void {
    this.messages += messages;
    this.bytes += bytes;
  }

  get count(): number {
    return this.messages;
  }

  line(): string {
    const secs = Math.max(1e-3, (performance.now() - this.started) / 1000);
    return `${this.opts.verb} ${this.messages} messages, ${human(this.bytes)} in ${secs.toFixed(1)} s ` +
      `(${Math.round(this.messages / secs)} msg/s, ${human(Math.round(this.bytes / secs))}/s)`;
  }

  private print(): void {
    this.err.write(this.live ? `\r\x1b[K${this.line()}` : `${this.line()}\n`);
  }

  /** Stops the timer; prints the summary line (plus `extra`) unless quiet. */
  done(extra = ''): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.opts.quiet) return;
    if (this.live) this.err.write(`\r\x1b[K${this.line()}${extra}\n`);
    else this.err.write(`${this.line()}${extra}\n`);
  }

  /** Clears the live line so that another stderr line does not land in the middle of it. */
  interrupt(s: string): void {
    this.err.write(this.live ? `\r\x1b[K${s}` : s);
  }
}
