// The active health probe of one cluster: a Metadata request for the writer's topic on the probe's own
// Client (its own connections, one attempt, no retry window), so a probe costs one small round trip and
// never queues behind produce traffic. The cluster is fit when it answers and, for a writer with a
// topic, every partition of that topic has a leader.
import { Client } from '../client/client.ts';
import type { ClusterConfig } from '../client/cluster.ts';
import { KafkaError } from '../protocol/errors.ts';
import type { HealthConfig } from './health.ts';

/** A Client for probes: one attempt, dials and requests bounded by the probe timeout, quick redial. */
export function probeClient(cfg: ClusterConfig, health: Required<HealthConfig>): Client {
  return new Client({
    ...cfg,
    retry: { attempts: 1 },
    retryTimeoutMs: 0,
    connectTimeoutMs: health.probeTimeoutMs,
    requestTimeoutMs: health.probeTimeoutMs,
    // A restarted cluster must be seen within a probe interval or two, not after a long redial backoff.
    reconnectBackoffMinMs: Math.min(cfg.reconnectBackoffMinMs ?? 100, health.probeIntervalMs),
    reconnectBackoffMaxMs: Math.min(cfg.reconnectBackoffMaxMs ?? health.probeIntervalMs, health.probeIntervalMs),
  });
}

export async function probeCluster(client: Client, cluster: number, topic: string | undefined, signal: AbortSignal, timeoutMs: number): Promise<void> {
  const topics = topic ? [topic] : [];
  const m = await client.metadata({ topics, signal, timeoutMs });
  if (m.brokers.length === 0) throw new KafkaError(`cluster ${cluster}: metadata names no brokers`, true);
  for (const t of m.topics) {
    if (t.partitions.some((p) => p.leader < 0)) throw new KafkaError(`cluster ${cluster}: ${t.name} has partitions without a leader`, true);
  }
}
