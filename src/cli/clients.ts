// One admin Client per cluster for the length of a command, closed whatever happens.
import { Client, ErrorCode, KafkaError, type CallOptions } from '../index.ts';
import type { Context } from './command.ts';
import type { Target } from './settings.ts';

export async function withClients<T>(targets: Target[], fn: (clients: Client[]) => Promise<T>): Promise<T> {
  const clients = targets.map((t) => new Client(t.config));
  try {
    return await fn(clients);
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
  }
}

/** The options of one admin call: the command's interrupt signal and the target's deadline. */
export function callOpts(ctx: Context, t: Target): CallOptions {
  return { signal: ctx.signal, timeoutMs: t.timeoutMs };
}

/** The partitions of a topic, or an error that names the topic and cluster. */
export async function partitionsOf(client: Client, topic: string, t: Target, ctx: Context): Promise<number[]> {
  const m = await client.metadata({ ...callOpts(ctx, t), topics: [topic] });
  const info = m.topics.find((x) => x.name === topic);
  if (!info || info.errorCode !== ErrorCode.NONE || !info.partitions.length) throw new KafkaError(`topic ${topic} does not exist on ${t.label}`, false);
  return info.partitions.map((p) => p.partition).sort((a, b) => a - b);
}
