// How a MultiWriter spreads writes over its clusters.
export const RWMode = {
  /** Each write goes to the next healthy cluster in round-robin order; a failed write tries the others. */
  MultiRW: 'multi-rw',
  /** Writes go to the primary (the first config) while it is healthy, else to the first healthy standby. */
  Backup: 'backup',
  /** Every message goes to every cluster (or at least `mirrorMinClusters` of them). */
  Mirror: 'mirror',
} as const;

export type RWMode = (typeof RWMode)[keyof typeof RWMode];
