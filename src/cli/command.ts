// What every command is: a spec (options, help) and a run function that returns an exit code.
import type { CommandSpec, ParsedArgs } from './args.ts';
import type { ExitCode } from './errors.ts';
import type { Io } from './io.ts';

export interface Context {
  io: Io;
  /** Aborted on the first SIGINT/SIGTERM: stop taking new work, finish what is in flight, close. */
  signal: AbortSignal;
}

export interface Command {
  spec: CommandSpec;
  run(args: ParsedArgs, ctx: Context): Promise<ExitCode>;
}

export const QUIET = { name: 'quiet', short: 'q', kind: 'flag', help: 'no progress or summary on stderr' } as const;
export const JSON_OUT = { name: 'json', kind: 'flag', help: 'JSON output (one document, or one object a line for messages)' } as const;
