// The scenarios of the side-by-side benchmark and the settings every client gets for them.
import type { BenchSpec, Scenario } from './types.ts';

export interface BenchCase {
  id: string;
  title: string;
  scenario: Scenario;
  /** Overrides of the base spec. */
  spec: Partial<BenchSpec>;
  /**
   * The consume cases read a topic filled once beforehand; the others get a fresh topic per run. A shared
   * topic is made once per bench run for every case of the same shape (cluster, partitions, replication,
   * fill), reused across clients and rounds, and deleted after the last case that reads it.
   */
  sharedTopic?: boolean;
  /** Where the topic lives (default B, the 1-broker cluster), its partitions (1) and replication factor (1). */
  cluster?: 'a' | 'b';
  partitions?: number;
  replicationFactor?: number;
  /**
   * Messages written into the shared topic (spread evenly over its partitions, round robin) and read by
   * each consumer; default --messages. 0 leaves it empty.
   */
  fill?: number;
}

/** Messages per partition of the idle cases: a little data to read before the idle window opens. */
const IDLE_FILL = 10;
const IDLE_MS = 10_000;
const idle = (partitions: number): BenchCase => ({
  id: `idle-${partitions}`,
  title: `Idle group consumer over ${partitions.toLocaleString('en-US')} partition${partitions > 1 ? 's' : ''} (${IDLE_FILL} messages each, then ${IDLE_MS / 1000} s idle), cluster B`,
  scenario: 'consume-group',
  spec: { idleMs: IDLE_MS },
  sharedTopic: true,
  partitions,
  fill: partitions * IDLE_FILL,
});

export function baseSpec(bootstrap: string[], messages: number, e2eSeconds: number): Omit<BenchSpec, 'topic' | 'groupId'> {
  return {
    bootstrap,
    partitions: 1,
    messages,
    valueBytes: 100,
    keyed: false,
    clientDefaults: false,
    compression: 'none',
    acks: -1,
    lingerMs: 5,
    batchBytes: 1024 * 1024,
    maxInFlight: 5,
    idempotent: false,
    txnMessages: 1000,
    chunk: 1000,
    window: 5,
    idleMs: 0,
    fetchMinBytes: 1,
    fetchMaxWaitMs: 500,
    fetchMaxBytes: 50 * 1024 * 1024,
    partitionMaxBytes: 1024 * 1024,
    rate: 10_000,
    durationMs: e2eSeconds * 1000,
    warmupMs: 3000,
    codecRecords: 1000,
    codecMs: 2000,
  };
}

export const CASES: BenchCase[] = [
  { id: 'produce-100', title: 'Produce 100 B', scenario: 'produce', spec: {} },
  { id: 'produce-1k', title: 'Produce 1 KiB', scenario: 'produce', spec: { valueBytes: 1024 } },
  { id: 'produce-100-lz4', title: 'Produce 100 B, lz4', scenario: 'produce', spec: { compression: 'lz4' } },
  { id: 'produce-1k-lz4', title: 'Produce 1 KiB, lz4', scenario: 'produce', spec: { valueBytes: 1024, compression: 'lz4' } },
  { id: 'produce-txn', title: 'Produce 100 B in transactions of 1,000', scenario: 'produce-txn', spec: {} },
  { id: 'consume-partition', title: 'Consume 100 B, partition reader', scenario: 'consume-partition', spec: {}, sharedTopic: true },
  { id: 'consume-group', title: 'Consume 100 B, group', scenario: 'consume-group', spec: {}, sharedTopic: true },
  // No linger here: kafkajs and @platformatic/kafka cannot linger, so every client sends at once.
  { id: 'e2e', title: 'End-to-end latency at 10,000 msg/s, 100 B', scenario: 'e2e', spec: { lingerMs: 0 } },
  { id: 'codec', title: 'Codec: record batch of 1,000 × 100 B', scenario: 'codec', spec: {} },
  // At scale (issue 17). Keys `key-${i % 10000}`, so every partition gets traffic.
  {
    id: 'keyed-defaults',
    title: "Keyed produce 100 B to 12 partitions of cluster A (3 brokers, RF 3), each client's defaults",
    scenario: 'produce',
    spec: { keyed: true, clientDefaults: true },
    cluster: 'a',
    partitions: 12,
    replicationFactor: 3,
  },
  {
    id: 'keyed-idempotent',
    title: 'Keyed produce 100 B to 12 partitions of cluster A (3 brokers, RF 3), idempotent, acks all',
    scenario: 'produce',
    spec: { keyed: true, idempotent: true },
    cluster: 'a',
    partitions: 12,
    replicationFactor: 3,
  },
  { id: 'consume-group-100', title: 'Consume 100 B, group, 100 partitions of cluster B', scenario: 'consume-group', spec: {}, sharedTopic: true, partitions: 100 },
  { id: 'consume-group-1000', title: 'Consume 100 B, group, 1,000 partitions of cluster B', scenario: 'consume-group', spec: {}, sharedTopic: true, partitions: 1000 },
  // Reads the topic of consume-group-1000 when both run (same shape); its content does not matter.
  { id: 'metadata-1000', title: 'Metadata of a topic of 1,000 partitions, cluster B', scenario: 'metadata', spec: {}, sharedTopic: true, partitions: 1000 },
  idle(1),
  idle(10),
  idle(100),
  idle(1000),
];

/** The cases `npm run bench` runs when --cases is not given: the 1-partition ones (about 15 minutes here). */
export const DEFAULT_CASES = ['produce-100', 'produce-1k', 'produce-100-lz4', 'produce-1k-lz4', 'produce-txn', 'consume-partition', 'consume-group', 'e2e', 'codec'];
