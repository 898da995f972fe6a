// mka lag: one group's lag on several clusters side by side, a row per topic and partition.
import type { Command } from '../command.ts';
import { JSON_OUT } from '../command.ts';
import { callOpts, withClients } from '../clients.ts';
import { Exit } from '../errors.ts';
import { groupLag, totalLag } from '../group-lag.ts';
import { table } from '../io.ts';
import { toJson } from '../per-cluster.ts';
import { CONNECTION_OPTIONS, resolveTargets } from '../settings.ts';

export const lag: Command = {
  spec: {
    name: 'lag',
    summary: 'a group\'s lag per partition, on each cluster given, side by side',
    usage: 'mka lag -b BROKERS [-b BROKERS ...] -g GROUP [-t TOPIC ...] [--json]',
    options: [
      ...CONNECTION_OPTIONS,
      { name: 'group', short: 'g', kind: 'string', arg: 'GROUP', help: 'consumer group (required)' },
      { name: 'topic', short: 't', kind: 'list', arg: 'TOPIC', help: 'only these topics (default: every topic the group committed)' },
      JSON_OUT,
    ],
    details: 'Columns per cluster: committed offset, log end, lag ("-": nothing committed there).',
  },
  run: async (a, ctx) => {
    const group = a.required('group');
    const topics = a.list('topic');
    const targets = resolveTargets(a, ctx.io.env);
    const lags = await withClients(targets, (clients) =>
      Promise.all(targets.map((t, i) => groupLag(clients[i], group, topics.length ? topics : undefined, callOpts(ctx, t)).catch((e: unknown) => {
        if (targets.length > 1 && e instanceof Error) e.message = `${t.label}: ${e.message}`;
        throw e;
      }))),
    );
    const key = (r: { topic: string; partition: number }) => `${r.topic}\u0000${r.partition}`;
    const rows = new Map<string, { topic: string; partition: number }>();
    for (const l of lags) for (const r of l.rows) rows.set(key(r), { topic: r.topic, partition: r.partition });
    const ordered = [...rows.values()].sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition);
    const byCluster = lags.map((l) => new Map(l.rows.map((r) => [key(r), r])));
    if (a.flag('json')) {
      const doc = {
        group,
        clusters: targets.map((t, i) => ({ cluster: t.label, state: lags[i].state, members: lags[i].members, totalLag: totalLag(lags[i].rows) })),
        partitions: ordered.map((p) => ({
          ...p,
          clusters: Object.fromEntries(targets.map((t, i) => {
            const r = byCluster[i].get(key(p));
            return [t.label, r ? { committed: r.committed, end: r.end, lag: r.lag } : null];
          })),
        })),
      };
      await ctx.io.out.write(toJson(doc) + '\n');
      return Exit.OK;
    }
    const dash = (v: bigint | null | undefined) => (v === null || v === undefined || v < 0n ? '-' : v);
    const head = ['topic', 'partition', ...targets.flatMap((t) => [`${t.label} committed`, 'end', 'lag'])];
    const body = ordered.map((p) => [
      p.topic,
      p.partition,
      ...byCluster.flatMap((m) => {
        const r = m.get(key(p));
        return [dash(r?.committed), dash(r?.end), dash(r?.lag)];
      }),
    ]);
    const total = ['total', '', ...lags.flatMap((l) => ['', '', totalLag(l.rows)])];
    const states = targets.map((t, i) => `${t.label}: ${lags[i].state}, ${lags[i].members} member(s)`).join('; ');
    await ctx.io.out.write(`group ${group}  ${states}\n` + table([head, ...body, total]));
    return Exit.OK;
  },
};
