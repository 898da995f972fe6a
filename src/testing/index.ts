// Public API of `mka/testing`: Kafka clusters in-process for tests, with fault injection. Built on
// `mka/protocol` only, so a bug in the client cannot hide a bug in the fake.
export { FakeCluster } from './cluster.ts';
export type { FakeClusterOptions, FakeTopic, FakeListener, FakeBrokerInfo } from './cluster.ts';
export type { Fault, FaultSpec } from './faults.ts';
export type { SaslUser } from './sasl.ts';
