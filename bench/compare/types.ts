// The contract between the side-by-side orchestrator (run.ts) and one client's adapter. Every adapter
// runs in its own process (child.ts), gets the same BenchSpec, and returns a ScenarioResult.

export type Scenario = 'produce' | 'produce-txn' | 'consume-partition' | 'consume-group' | 'e2e' | 'codec' | 'metadata';
export type Compression = 'none' | 'lz4';

/** The settings every client is configured with alike; printed with the table. */
export interface BenchSpec {
  /** host:port of the broker(s). */
  bootstrap: string[];
  /** Topic to write to or read from (created by the orchestrator; its case says how many partitions). */
  topic: string;
  /** Partitions of spec.topic (the case's). */
  partitions: number;
  /**
   * A second cluster with the same topic, for the multi-cluster layer (the mka-multi adapter): its
   * MultiWriter (Backup) and MultiReader span spec.bootstrap (first, the primary) and this one.
   */
  secondBootstrap?: string[];
  /** Messages to produce or consume (produce, consume). */
  messages: number;
  /** Value size in bytes. */
  valueBytes: number;
  /** Keys: null, or `key-${i % 10000}` for message i (so every partition of a many-partition topic gets traffic). */
  keyed: boolean;
  /**
   * Producer built with each client's own defaults: only the bootstrap servers and the topic are given
   * (acks, linger, batch size, idempotence, compression, partitioner and in-flight limit are the client's).
   */
  clientDefaults: boolean;
  /** How the filling mka Writer spreads null-key messages (the orchestrator's fill of a shared topic). */
  balance?: 'round-robin';
  compression: Compression;
  /** Producer settings: acks=all (-1), linger, batch bytes, in-flight requests per connection. */
  acks: -1;
  lingerMs: number;
  batchBytes: number;
  maxInFlight: number;
  /**
   * Producer idempotence: off in the 1-partition cases (kafkajs allows only one request in flight with
   * it), on in the keyed idempotent case (kafkajs and @platformatic/kafka then send one request at a time).
   */
  idempotent: boolean;
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
  /**
   * consume-group: after the last message, keep the consumer running this long with nothing to read and
   * measure its CPU and memory (the cost of idle partitions); 0 = stop at once.
   */
  idleMs: number;
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
  /** With spec.idleMs: what the consumer cost while it had nothing left to read. */
  idle?: IdleCost;
}

/** A consumer's cost over spec.idleMs with every partition read to its end (process-wide figures). */
export interface IdleCost {
  /** CPU time (user + system, all threads) per second of wall time, ms. */
  cpuMsPerSec: number;
  /** Resident set size and V8 heap in use at the end of the idle window. */
  rssBytes: number;
  heapUsedBytes: number;
}

/** A Metadata call for one topic of spec.partitions partitions, through the client's own API. */
export interface MetadataRates {
  /** Mean ms per call, answer decoded into the client's own objects (round trip to the broker included). */
  callMs: number;
  /** Mean ms to decode the response bytes alone, where the client's codec can be reached; else undefined. */
  decodeMs?: number;
  /** Response size, where known. */
  responseBytes?: number;
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
  | { kind: 'metadata'; value: MetadataRates }
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
  metadata?(spec: BenchSpec): Promise<MetadataRates>;
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
