// The typed events of the telemetry seam, and the hook object that receives them. Every event names
// the client it comes from (`client`: the config's `name`, else its clientId), so one subscriber can
// tell the Writers, Readers and clusters of a process apart. Durations are milliseconds from a
// monotonic clock; errors are the typed errors the callers see.

export interface TelemetryEvent {
  /** The emitting client's `name` (default: its clientId). */
  client: string;
}

/** A connection was dialled (open), failed to dial, or ended (close: `ms` is its lifetime). */
export interface ConnectionEvent extends TelemetryEvent {
  type: 'open' | 'close' | 'dial-failure';
  /** host:port */
  broker: string;
  ms: number;
  /** Why it failed or closed (close() gives ClosedError). */
  error?: Error;
}

/** One request and its answer (or failure), measured at the connection. */
export interface RequestEvent extends TelemetryEvent {
  apiKey: number;
  /** Api name, e.g. "Produce". */
  api: string;
  version: number;
  broker: string;
  /** From the request being queued on the connection to its answer or failure. */
  ms: number;
  /** Frame sizes, size prefix included; responseBytes is 0 when no answer came. */
  requestBytes: number;
  responseBytes: number;
  /** The response's top-level error code (0 when it has none or none is set). */
  errorCode: number;
  /** Set when no answer came: timeout, broken connection, close. */
  error?: Error;
}

/** One produce batch answered (written or failed; a failed batch may be retried and reported again). */
export interface ProduceBatchEvent extends TelemetryEvent {
  topic: string;
  partition: number;
  records: number;
  /** Encoded batch bytes (after compression). */
  bytes: number;
  /** Produce round trip of the request that carried the batch. */
  ms: number;
  /** Offset of the first record; -1n when unknown (acks=none, or failed). */
  baseOffset: bigint;
  error?: Error;
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

/** One fetch response handled: what it asked for, and what it brought to the reader's queue. */
export interface FetchEvent extends TelemetryEvent {
  /** Node id of the broker fetched from. */
  node: number;
  partitions: TopicPartitionRef[];
  /** Messages handed to the queue. */
  records: number;
  /** Record-set bytes in the response. */
  bytes: number;
  /** From the request to the end of decoding (the broker's long-poll included). */
  ms: number;
}

/** A group member received an assignment (a new generation, or a KIP-848 reconciliation). */
export interface RebalanceEvent extends TelemetryEvent {
  group: string;
  /** The generation (classic) or member epoch (KIP-848). */
  generation: number;
  memberId: string;
  /** The assignor chosen ("range", "cooperative-sticky", … or the KIP-848 server assignor). */
  protocol: string;
  assigned: TopicPartitionRef[];
  added: TopicPartitionRef[];
  revoked: TopicPartitionRef[];
}

/** A MultiWriter's view of one cluster changed. */
export interface HealthChangeEvent extends TelemetryEvent {
  /** Index of the cluster in the multi client's config list. */
  cluster: number;
  /** The state routing uses: the pinned one while `forced` is set. */
  state: 'healthy' | 'unhealthy';
  /** Set while an operator pins the state. */
  forced: 'healthy' | 'unhealthy' | null;
  error: Error | null;
}

/**
 * A MultiWriter moved writes between clusters: 'failover' away from a cluster in trouble (or, in
 * Backup mode, to a standby), 'fail-back' to a more preferred cluster that recovered.
 */
export interface FailoverEvent extends TelemetryEvent {
  kind: 'failover' | 'fail-back';
  from: number;
  to: number;
  /** Messages of the call that moved. */
  messages: number;
}

/** The plain hook object: pass it as `telemetry` in a Client, Writer, Reader or Multi* config. */
export interface TelemetryHooks {
  onConnection?(e: ConnectionEvent): void;
  onRequest?(e: RequestEvent): void;
  onProduce?(e: ProduceBatchEvent): void;
  onFetch?(e: FetchEvent): void;
  onRebalance?(e: RebalanceEvent): void;
  onHealthChange?(e: HealthChangeEvent): void;
  onFailover?(e: FailoverEvent): void;
}
