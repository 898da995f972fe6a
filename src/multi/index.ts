// The multi-cluster layer: MultiWriter and MultiReader over one Writer / Reader per cluster.
export { RWMode } from './rw-mode.ts';
export { MultiWriter, type MultiWriterOptions, type MultiWriteResult, type MultiWriteOptions } from './multi-writer.ts';
export { MultiReader, type MultiMessage, type MultiReaderOptions, type ReadOptions } from './multi-reader.ts';
export { MultiReadCommitError } from './multi-reader-errors.ts';
export { MultiWriteErrors, ClusterUnavailableError } from './errors.ts';
export type { ClusterHealth, HealthConfig, HealthState } from './health.ts';
export type { FailoverStats, MultiWriterStats } from './stats.ts';
