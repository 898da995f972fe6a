// The argument parser: getopt-style short options (`-b x`, `-bx`, `-K:`, `-eq`), long options
// (`--topic x`, `--topic=x`), `--` to end options. Written here because the package takes no runtime
// dependency; each command declares its options once and the same table drives parsing and --help.
import { UsageError } from './errors.ts';

export type OptionKind = 'string' | 'list' | 'flag';

export interface OptionSpec {
  /** Long name, without dashes. */
  name: string;
  short?: string;
  kind: OptionKind;
  /** Placeholder of the value in --help. */
  arg?: string;
  help: string;
}

export interface CommandSpec {
  /** e.g. "produce" or "topics create". */
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  /** Extra paragraphs after the option list (examples, notes). */
  details?: string;
}

type Value = string | string[] | boolean;

export class ParsedArgs {
  constructor(
    readonly command: string,
    private readonly values: Map<string, Value>,
    readonly positionals: string[],
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  flag(name: string): boolean {
    return this.values.get(name) === true;
  }

  str(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  }

  required(name: string): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw new UsageError(`--${name} is required`, this.command);
    return v;
  }

  /** An integer option, checked against a lower bound. */
  int(name: string, min = Number.MIN_SAFE_INTEGER): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    return parseIntArg(v, `--${name}`, min, this.command);
  }

  /** Refuses two options that exclude each other. */
  exclusive(...names: string[]): void {
    const given = names.filter((n) => this.values.has(n));
    if (given.length > 1) throw new UsageError(`${given.map((n) => `--${n}`).join(' and ')} cannot be used together`, this.command);
  }
}

export function parseIntArg(v: string, what: string, min: number, command?: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`${what} must be an integer, got "${v}"`, command);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${what} must be an integer >= ${min}, got "${v}"`, command);
  return n;
}

export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const byLong = new Map(spec.options.map((o) => [o.name, o]));
  const byShort = new Map(spec.options.filter((o) => o.short).map((o) => [o.short!, o]));
  const values = new Map<string, Value>();
  const positionals: string[] = [];
  const set = (o: OptionSpec, v: string | true) => {
    if (o.kind === 'list') values.set(o.name, [...((values.get(o.name) as string[] | undefined) ?? []), v as string]);
    else values.set(o.name, v);
  };
  const unknown = (a: string) => new UsageError(`unknown option ${a}`, spec.name);

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const o = byLong.get(name);
      if (!o) throw unknown(`--${name}`);
      if (o.kind === 'flag') {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`, spec.name);
        set(o, true);
      } else if (eq >= 0) {
        set(o, a.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value (${o.arg ?? 'VALUE'})`, spec.name);
        set(o, argv[++i]);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      // A cluster of short options: flags until one that takes a value, which takes the rest of the
      // word (`-K:`) or, when nothing is left, the next word.
      for (let j = 1; j < a.length; j++) {
        const o = byShort.get(a[j]);
        if (!o) throw unknown(`-${a[j]}`);
        if (o.kind === 'flag') {
          set(o, true);
          continue;
        }
        const rest = a.slice(j + 1);
        if (rest) set(o, rest);
        else if (i + 1 < argv.length) set(o, argv[++i]);
        else throw new UsageError(`-${a[j]} needs a value (${o.arg ?? 'VALUE'})`, spec.name);
        break;
      }
      continue;
    }
    positionals.push(a);
  }
  return new ParsedArgs(spec.name, values, positionals);
}

/** The --help text of a command, from the same table the parser uses. */
export function helpText(spec: CommandSpec): string {
  const rows = spec.options.map((o) => {
    const names = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.kind === 'flag' ? '' : ` ${o.arg ?? 'VALUE'}`}`;
    return [names, o.help + (o.kind === 'list' ? ' (repeatable)' : '')];
  });
  const width = Math.min(34, Math.max(...rows.map((r) => r[0].length)));
  const lines = [`mka ${spec.name}: ${spec.summary}`, '', `usage: ${spec.usage}`, '', 'options:'];
  for (const [names, help] of rows) {
    lines.push(names.length > width ? `  ${names}\n  ${' '.repeat(width)}  ${help}` : `  ${names.padEnd(width)}  ${help}`);
  }
  if (spec.details) lines.push('', spec.details.trim());
  return lines.join('\n') + '\n';
}
