// Admin commands run against each cluster given (-b A -b B) and print each one's answer in turn, under
// a "# label" heading when there are several; --json prints one document (keyed by label when several).
import type { Client } from '../index.ts';
import type { ParsedArgs } from './args.ts';
import { withClients } from './clients.ts';
import type { Context } from './command.ts';
import { Exit, type ExitCode } from './errors.ts';
import { resolveTargets, type Target } from './settings.ts';

export interface Answer {
  text: string;
  json: unknown;
}

/** JSON.stringify that writes int64 (bigint) as numbers when they fit, else as strings. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? (x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(x) : String(x)) : x), 2);
}

export async function perCluster(a: ParsedArgs, ctx: Context, fn: (client: Client, t: Target) => Promise<Answer>): Promise<ExitCode> {
  const targets = resolveTargets(a, ctx.io.env);
  const answers = await withClients(targets, (clients) => Promise.all(targets.map((t, i) => fn(clients[i], t).catch((e: unknown) => {
    // With several clusters the one line must say which of them failed.
    if (targets.length > 1 && e instanceof Error) e.message = `${t.label}: ${e.message}`;
    throw e;
  }))));
  if (a.flag('json')) {
    const doc = targets.length === 1 ? answers[0].json : Object.fromEntries(targets.map((t, i) => [t.label, answers[i].json]));
    await ctx.io.out.write(toJson(doc) + '\n');
  } else {
    const several = targets.length > 1;
    await ctx.io.out.write(answers.map((x, i) => (several ? `# ${targets[i].label}\n` : '') + x.text).join(several ? '\n' : ''));
  }
  return Exit.OK;
}
