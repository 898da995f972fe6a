// The mka command line: finds the command, parses its options, runs it, and turns what it throws
// into one line on stderr and an exit code.
import { AbortedError } from '../index.ts';
import { helpText, parseArgs, type CommandSpec, type OptionSpec } from './args.ts';
import type { Command } from './command.ts';
import { Exit, describeError, exitCodeOf, type ExitCode } from './errors.ts';
import type { Io } from './io.ts';
import { produce } from './commands/produce.ts';
import { consume } from './commands/consume.ts';
import { topicCommands } from './commands/topics.ts';
import { groupCommands } from './commands/groups.ts';
import { lag } from './commands/lag.ts';
import { clusterCommands } from './commands/cluster.ts';

const HELP: OptionSpec = { name: 'help', short: 'h', kind: 'flag', help: 'this help' };

/** Commands by their words: "produce", "topics list", ... */
const COMMANDS = new Map<string, Command>(
  [produce, consume, lag, ...topicCommands, ...groupCommands, ...clusterCommands].map((c) => [
    c.spec.name,
    { ...c, spec: { ...c.spec, options: [...c.spec.options, HELP] } },
  ]),
);

const GROUPS: Record<string, string> = {
  topics: 'list, describe, create, delete and add partitions to topics',
  groups: 'list and describe consumer groups (lag per partition), reset their offsets',
  cluster: 'brokers, controller and API versions of a cluster',
};

function overview(): string {
  const lines = ['mka: produce to and consume from Kafka clusters, one or several at once', '', 'usage: mka COMMAND [options]   (mka COMMAND --help for its options)', '', 'commands:'];
  const rows: [string, string][] = [];
  for (const c of COMMANDS.values()) rows.push([c.spec.name, c.spec.summary]);
  for (const [name, summary] of rows) lines.push(`  ${name.padEnd(22)} ${summary}`);
  lines.push(
    '',
    'Connection settings come from -b and the other connection flags, MKA_* environment variables and a',
    'JSON config file (--config, MKA_CONFIG, ~/.config/mka/config.json); flags win.',
    'Exit codes: 0 ok, 1 error, 2 usage, 3 partly done (messages not written), 4 no broker reachable in time, 130 interrupted.',
  );
  return lines.join('\n') + '\n';
}

function groupHelp(group: string): string {
  const subs = [...COMMANDS.values()].filter((c) => c.spec.name.startsWith(`${group} `));
  return [`mka ${group}: ${GROUPS[group]}`, '', 'commands:', ...subs.map((c) => `  ${c.spec.name.padEnd(22)} ${c.spec.summary}`), ''].join('\n');
}

/** Whether --help / -h is asked for before any `--`. */
function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export async function main(argv: readonly string[], io: Io, signal: AbortSignal): Promise<ExitCode> {
  const [first, second] = argv;
  if (first === undefined) {
    io.err.write(overview());
    return Exit.USAGE;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    await io.out.write(overview());
    return Exit.OK;
  }
  let name = first;
  let rest = argv.slice(1);
  if (GROUPS[first]) {
    if (second === undefined || second.startsWith('-')) {
      const asked = second === '--help' || second === '-h';
      if (asked) await io.out.write(groupHelp(first));
      else io.err.write(groupHelp(first));
      return asked ? Exit.OK : Exit.USAGE;
    }
    name = `${first} ${second}`;
    rest = argv.slice(2);
  }
  const cmd = COMMANDS.get(name);
  if (!cmd) {
    io.err.write(`mka: unknown command "${name}" (see mka --help)\n`);
    return Exit.USAGE;
  }
  if (wantsHelp(rest)) {
    await io.out.write(helpText(cmd.spec as CommandSpec));
    return Exit.OK;
  }
  try {
    return await cmd.run(parseArgs(cmd.spec, rest), { io, signal });
  } catch (e) {
    if (e instanceof AbortedError && signal.aborted) return Exit.INTERRUPTED;
    io.err.write(`mka ${name}: ${describeError(e)}\n`);
    return exitCodeOf(e);
  }
}
