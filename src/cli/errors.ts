// Exit codes and the one-line error report. Scripts branch on the exit code; people read the line,
// which names the typed error (KafkaProtocolError, TimeoutError, ...) and its message.
import { ClusterUnavailableError, ConnectionError, TimeoutError } from '../index.ts';

export const Exit = {
  /** Done as asked. */
  OK: 0,
  /** A Kafka or I/O error stopped the command. */
  ERROR: 1,
  /** Bad arguments, options or configuration: nothing was done. */
  USAGE: 2,
  /** Done in part: some messages were not written (or, with --mode mirror, not to every cluster). */
  PARTIAL: 3,
  /** No broker answered in time (TimeoutError, ConnectionError, ClusterUnavailableError): trying again later may help. */
  UNREACHABLE: 4,
  /** Interrupted (SIGINT/SIGTERM) before the work was done. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** A mistake in how mka was called. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose --help explains the right use. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Ends a command with a chosen exit code and a one-line message (already worded for the user). */
export class CommandFailed extends Error {
  constructor(
    message: string,
    readonly code: ExitCode,
  ) {
    super(message);
    this.name = 'CommandFailed';
  }
}

export function exitCodeOf(e: unknown): ExitCode {
  if (e instanceof UsageError) return Exit.USAGE;
  if (e instanceof CommandFailed) return e.code;
  if (e instanceof TimeoutError || e instanceof ConnectionError || e instanceof ClusterUnavailableError) return Exit.UNREACHABLE;
  return Exit.ERROR;
}

/** `Name: message`, on one line, with the cause's name and message when it adds something. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `Error: ${String(e)}`;
  if (e instanceof UsageError) return `${e.message}${e.command ? ` (see mka ${e.command} --help)` : ''}`;
  if (e instanceof CommandFailed) return e.message;
  let line = `${e.name}: ${e.message}`;
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error && !e.message.includes(cause.message)) line += ` (caused by ${cause.name}: ${cause.message})`;
  return oneLine(line);
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
