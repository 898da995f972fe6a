// The scenarios of the side-by-side benchmark and the settings every client gets for them.
import type { BenchSpec, Scenario } from './types.ts';

export interface BenchCase {
  id: string;
  title: string;
  scenario: Scenario;
  /** Overrides of the base spec. */
  spec: Partial<BenchSpec>;
  /** The consume cases read a topic filled once beforehand; the others get a fresh topic per run. */
  sharedTopic?: boolean;
}

export function baseSpec(bootstrap: string[], messages: number, e2eSeconds: number): Omit<BenchSpec, 'topic' | 'groupId'> {
  return {
    bootstrap,
    messages,
    valueBytes: 100,
    compression: 'none',
    acks: -1,
    lingerMs: 5,
    batchBytes: 1024 * 1024,
    maxInFlight: 5,
    idempotent: false,
    txnMessages: 1000,
    chunk: 1000,
    window: 5,
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
];
