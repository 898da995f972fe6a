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
export { Api } from './protocol/messages/index.ts';
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
} from './protocol/errors.ts';
