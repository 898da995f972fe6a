// Public surface of the Writer (re-exported by src/index.ts).
export { Writer } from './writer.ts';
export type { WriteOptions } from './call.ts';
export type { WriterConfig, WriterMessage, WriteResult, RequiredAcks } from './config.ts';
export { WriteErrors } from './write-errors.ts';
export type { WriterStats, DurationStats, SummaryStats } from './stats.ts';
export { type Balancer, type BalancerMessage, RoundRobin, LeastBytes, Hash, CRC32Balancer, Murmur2Balancer, murmur2 } from './balancers.ts';
