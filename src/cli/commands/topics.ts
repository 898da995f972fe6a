// mka topics list | describe | create | delete | partitions
import { KafkaError, type Client } from '../../index.ts';
import { parseIntArg, type ParsedArgs } from '../args.ts';
import { callOpts } from '../clients.ts';
import { JSON_OUT, type Command, type Context } from '../command.ts';
import { UsageError, type ExitCode } from '../errors.ts';
import { table } from '../io.ts';
import { perCluster } from '../per-cluster.ts';
import { CONNECTION_OPTIONS, type Target } from '../settings.ts';

const TOPIC = { name: 'topic', short: 't', kind: 'list', arg: 'TOPIC', help: 'topic name (or give names as arguments)' } as const;
// DescribeConfigs ConfigSource: a value set on the topic itself, as opposed to a broker or built-in default.
const DYNAMIC_TOPIC_CONFIG = 1;

function topicNames(a: ParsedArgs): string[] {
  const names = [...a.list('topic'), ...a.positionals];
  if (!names.length) throw new UsageError('name at least one topic (-t TOPIC or as an argument)', a.command);
  return names;
}

const list: Command = {
  spec: {
    name: 'topics list',
    summary: 'topic names',
    usage: 'mka topics list -b BROKERS [--internal] [--json]',
    options: [...CONNECTION_OPTIONS, { name: 'internal', kind: 'flag', help: 'include internal topics (__consumer_offsets, ...)' }, JSON_OUT],
  },
  run: (a, ctx) =>
    perCluster(a, ctx, async (client, t) => {
      const m = await client.metadata(callOpts(ctx, t));
      const names = m.topics.filter((x) => a.flag('internal') || !x.internal).map((x) => x.name).sort();
      return { text: names.map((n) => `${n}\n`).join(''), json: names };
    }),
};

async function describeTopic(client: Client, topic: string, t: Target, ctx: Context) {
  const o = callOpts(ctx, t);
  const m = await client.metadata({ ...o, topics: [topic] });
  const info = m.topics.find((x) => x.name === topic);
  if (!info || !info.partitions.length) throw new KafkaError(`topic ${topic} does not exist on ${t.label}`, false);
  const [low, high, configs] = await Promise.all([
    client.listOffsets(topic, 'earliest', o),
    client.listOffsets(topic, 'latest', o),
    client.describeConfigs({ type: 'topic', name: topic }, o),
  ]);
  const partitions = [...info.partitions].sort((x, y) => x.partition - y.partition).map((p) => ({
    partition: p.partition,
    leader: p.leader,
    replicas: p.replicas,
    isr: p.isr,
    offline: p.offline,
    earliest: low.get(p.partition)?.offset ?? -1n,
    latest: high.get(p.partition)?.offset ?? -1n,
  }));
  const overrides = Object.fromEntries(Object.entries(configs).filter(([, c]) => c.source === DYNAMIC_TOPIC_CONFIG).map(([k, c]) => [k, c.sensitive ? '(sensitive)' : c.value]));
  return { topic, topicId: info.topicId, internal: info.internal, replicationFactor: info.partitions[0].replicas.length, partitions, configs: overrides };
}

const describe: Command = {
  spec: {
    name: 'topics describe',
    summary: 'partitions (leader, replicas, in-sync replicas, offsets) and config overrides of topics',
    usage: 'mka topics describe -b BROKERS TOPIC... [--json]',
    options: [...CONNECTION_OPTIONS, TOPIC, JSON_OUT],
  },
  run: (a, ctx) => {
    const names = topicNames(a);
    return perCluster(a, ctx, async (client, t) => {
      const ds = await Promise.all(names.map((n) => describeTopic(client, n, t, ctx)));
      const text = ds.map((d) => {
        const head = `topic ${d.topic}  id ${d.topicId}  partitions ${d.partitions.length}  replication ${d.replicationFactor}${d.internal ? '  internal' : ''}\n`;
        const cfg = Object.entries(d.configs).map(([k, v]) => `${k}=${v}`).join(' ');
        const rows = table([
          ['partition', 'leader', 'replicas', 'isr', 'offline', 'earliest', 'latest', 'messages'],
          ...d.partitions.map((p) => [p.partition, p.leader, p.replicas.join(',') || '-', p.isr.join(',') || '-', p.offline.join(',') || '-', p.earliest, p.latest, p.latest - p.earliest]),
        ]);
        return head + (cfg ? `configs ${cfg}\n` : '') + rows;
      }).join('\n');
      return { text, json: names.length === 1 ? ds[0] : ds };
    });
  },
};

function configPairs(a: ParsedArgs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of a.list('topic-config')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`-C "${kv}" is not key=value`, a.command);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

const create: Command = {
  spec: {
    name: 'topics create',
    summary: 'create topics',
    usage: 'mka topics create -b BROKERS TOPIC... [-P N] [-r N] [-C key=value ...] [--if-not-exists]',
    options: [
      ...CONNECTION_OPTIONS,
      TOPIC,
      { name: 'partitions', short: 'P', kind: 'string', arg: 'N', help: 'partitions (default: the broker\'s num.partitions)' },
      { name: 'replication-factor', short: 'r', kind: 'string', arg: 'N', help: 'replicas per partition (default: the broker\'s default.replication.factor)' },
      { name: 'topic-config', short: 'C', kind: 'list', arg: 'K=V', help: 'a topic config, e.g. -C retention.ms=86400000' },
      { name: 'if-not-exists', kind: 'flag', help: 'a topic that exists already is not an error' },
    ],
  },
  run: (a, ctx) => {
    const names = topicNames(a);
    const numPartitions = a.int('partitions', 1);
    const replicationFactor = a.int('replication-factor', 1);
    const configs = configPairs(a);
    return perCluster(a, ctx, async (client, t) => {
      await client.createTopics(names.map((topic) => ({ topic, numPartitions, replicationFactor, configs })), { ...callOpts(ctx, t), ifNotExists: a.flag('if-not-exists') });
      return { text: names.map((n) => `created ${n}\n`).join(''), json: { created: names } };
    });
  },
};

const remove: Command = {
  spec: {
    name: 'topics delete',
    summary: 'delete topics and all their messages',
    usage: 'mka topics delete -b BROKERS TOPIC... [--if-exists]',
    options: [...CONNECTION_OPTIONS, TOPIC, { name: 'if-exists', kind: 'flag', help: 'a topic that does not exist is not an error' }],
  },
  run: (a, ctx) => {
    const names = topicNames(a);
    return perCluster(a, ctx, async (client, t) => {
      await client.deleteTopics(names, { ...callOpts(ctx, t), ifExists: a.flag('if-exists') });
      return { text: names.map((n) => `deleted ${n}\n`).join(''), json: { deleted: names } };
    });
  },
};

const partitions: Command = {
  spec: {
    name: 'topics partitions',
    summary: 'raise the partition count of a topic',
    usage: 'mka topics partitions -b BROKERS TOPIC --count N',
    options: [...CONNECTION_OPTIONS, TOPIC, { name: 'count', short: 'n', kind: 'string', arg: 'N', help: 'the new partition count (required; more than now)' }],
  },
  run: (a, ctx): Promise<ExitCode> => {
    const names = topicNames(a);
    const count = parseIntArg(a.required('count'), '--count', 1, a.command);
    return perCluster(a, ctx, async (client, t) => {
      for (const n of names) await client.createPartitions(n, count, callOpts(ctx, t));
      return { text: names.map((n) => `${n} has ${count} partitions\n`).join(''), json: { topics: names, partitions: count } };
    });
  },
};

export const topicCommands: Command[] = [list, describe, create, remove, partitions];
