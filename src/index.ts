// Public API of `mka`: the client layers. The codec on its own is `mka/protocol`.
export { Client } from './client/client.ts';
export type {
  ClientConfig,
  CreateTopicSpec,
  OffsetSpec,
  PartitionOffset,
  CommittedOffset,
  ConfigEntry,
  ConfigResource,
  GroupListing,
  GroupDescription,
} from './client/client.ts';
export type { ClusterConfig, CallOptions, BrokerInfo, PartitionInfo, TopicInfo } from './client/cluster.ts';
export type { SaslConfig, OAuthBearerToken } from './client/sasl/index.ts';
export type { TlsConfig } from './client/transport.ts';
export { Api, ErrorCode } from './protocol/messages/index.ts';
export {
  KafkaError,
  KafkaProtocolError,
  ProtocolDecodeError,
  ProtocolEncodeError,
  CorruptRecordError,
  ClosedError,
  TimeoutError,
  AbortedError,
  ConnectionError,
  AuthenticationError,
  UnsupportedVersionError,
  ProducerFencedError,
  TransactionAbortableError,
  TransactionStateError,
} from './protocol/errors.ts';

// Single-cluster producer and consumer (kafka-go Writer and Reader semantics).
export { Writer } from './client/writer/writer.ts';
export type { WriterConfig, WriterMessage, WriteResult, RequiredAcks } from './client/writer/config.ts';
export type { GroupMetadata, TxnOffset, TxnState, TransactionScope } from './client/writer/writer.ts';
export type { WriterStats, DurationStats } from './client/writer/stats.ts';
export { WriteErrors } from './client/writer/write-errors.ts';
export { RoundRobin, LeastBytes, Hash, CRC32Balancer, Murmur2Balancer, type Balancer } from './client/writer/balancers.ts';
export { Reader, FirstOffset, LastOffset } from './client/reader/index.ts';
export type { ReaderConfig, Message, ReaderStats, PartitionRef, PartitionLag, TopicPartition, GroupProtocol, ReaderHealth, PartitionHealth, StallEvent, StallCause } from './client/reader/index.ts';

// Telemetry: one hook seam for every client (and diagnostics_channel `mka:*` where the runtime has it).
export { subscribe as subscribeTelemetry, CHANNELS as TELEMETRY_CHANNELS, hasDiagnosticsChannel } from './client/telemetry/index.ts';
export type {
  TelemetryHooks,
  TelemetryEvent,
  ConnectionEvent,
  RequestEvent,
  ProduceBatchEvent,
  FetchEvent,
  RebalanceEvent,
  HealthChangeEvent,
  FailoverEvent,
  TopicPartitionRef,
} from './client/telemetry/index.ts';

// Several clusters at once.
export { MultiWriter, MultiReader, MultiWriteErrors, MultiReadCommitError, ClusterUnavailableError, RWMode } from './multi/index.ts';
export type {
  MultiWriterOptions,
  MultiWriteOptions,
  MultiWriteResult,
  MultiWriterStats,
  FailoverStats,
  MultiMessage,
  MultiReaderOptions,
  ReadOptions,
  ClusterHealth,
  HealthConfig,
  HealthState,
} from './multi/index.ts';
