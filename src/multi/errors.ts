// The error of a multi-cluster write: aligned with the messages like WriteErrors, and saying per
// cluster what happened, so a caller can tell "written nowhere" from "missing in cluster 1".
import { WriteErrors } from '../client/writer/write-errors.ts';

export class MultiWriteErrors extends WriteErrors {
  /** For each message, the clusters that do not have it (Mirror: every cluster that missed it). */
  readonly missing: readonly (readonly number[])[];
  /** For each cluster tried, its error per message (null: written there, or not sent there). */
  readonly byCluster: ReadonlyMap<number, readonly (Error | null)[]>;

  constructor(errors: (Error | null)[], missing: number[][], byCluster: Map<number, (Error | null)[]>) {
    super(errors);
    this.missing = missing;
    this.byCluster = byCluster;
    const clusters = [...new Set(missing.flat())].sort((a, b) => a - b);
    if (clusters.length) this.message += ` (missing in cluster${clusters.length > 1 ? 's' : ''} ${clusters.join(', ')})`;
  }
}
