// The contract between the side-by-side orchestrator (run.ts) and one client's adapter. Every adapter
// runs in its own process (child.ts), gets the same BenchSpec, and returns a ScenarioResult.

export type Scenario = 'produce' | 'produce-txn' | 'consume-partition' | 'consume-group' | 'e2e' | 'codec';
export type Compression = 'none' | 'lz4';

/** The settings every client is configured with alike; printed with the table. */
export interface BenchSpec {
  /** host:port of the broker(s). */
  bootstrap: string[];
  /** Topic to write to or read from (created by the orchestrator, 1 partition). */
  topic: string;
  /** Messages to produce or consume (produce, consume). */
  messages: number;
  /** Value size in bytes; keys are null. */
  valueBytes: number;
  compression: Compression;
  /** Producer settings: acks=all (-1), linger, batch bytes, in-flight requests per connection. */
  acks: -1;
  lingerMs: number;
  batchBytes: number;
  maxInFlight: number;
  /** Producer idempotence (off for every client: kafkajs allows only one request in flight with it). */
  idempotent: false;
  /** produce-txn: messages per transaction (one send call, then commit; transactions one after another). */
  txnMessages: number;
  /** Messages handed to the client per send call, and how many such calls are kept outstanding. */
  chunk: number;
  window: number;
  /** Consumer settings. */
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  partitionMaxBytes: number;
  /** Fresh group id for group consumers. */
  groupId: string;
  /** e2e: fixed produce rate (messages/s), measured duration, warm-up discarded before it. */
  rate: number;
  durationMs: number;
  warmupMs: number;
  /** codec: records per batch and how long to measure each direction. */
  codecRecords: number;
  codecMs: number;
}

export interface Throughput {
  messages: number;
  /** Value bytes moved. */
  bytes: number;
  elapsedMs: number;
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface CodecRates {
  /** Records per second through batch encode and batch decode (CRC checked on decode where the client does). */
  encode: number;
  decode: number;
}

export type ScenarioResult =
  | { kind: 'throughput'; value: Throughput }
  | { kind: 'latency'; value: Latency }
  | { kind: 'codec'; value: CodecRates }
  | { kind: 'unsupported'; reason: string };

/** One client's implementation of the scenarios. Missing entries are reported as unsupported with `why`. */
export interface ClientAdapter {
  name: string;
  /** Library version, for the table header. */
  version(): string;
  produce?(spec: BenchSpec): Promise<Throughput>;
  /** spec.messages in transactions of spec.txnMessages, each committed before the next begins. */
  produceTxn?(spec: BenchSpec): Promise<Throughput>;
  consumePartition?(spec: BenchSpec): Promise<Throughput>;
  consumeGroup?(spec: BenchSpec): Promise<Throughput>;
  e2e?(spec: BenchSpec): Promise<Latency>;
  codec?(spec: BenchSpec): Promise<CodecRates>;
  /** Reason per scenario the client cannot run it. */
  why?: Partial<Record<Scenario, string>>;
}

/** What a child process prints on its last stdout line, prefixed with RESULT. */
export interface ChildReport {
  client: string;
  version: string;
  scenario: Scenario;
  result: ScenarioResult;
  /** Peak resident set size of the child process, bytes. */
  maxRssBytes: number;
}
