// Public surface of the Writer (re-exported by src/index.ts).
export { Writer, type WriteOptions } from './writer.ts';
export type { WriterConfig, WriterMessage, WriteResult, RequiredAcks } from './config.ts';
export { WriteErrors } from './write-errors.ts';
export type { WriterStats, DurationStats, SummaryStats } from './stats.ts';
export { type Balancer, type BalancerMessage, RoundRobin, LeastBytes, Hash, CRC32Balancer, Murmur2Balancer, murmur2 } from './balancers.ts';
