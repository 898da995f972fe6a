// The errors of the multi-cluster layer. MultiWriteErrors is aligned with the messages like WriteErrors
// and says per cluster what happened, so a caller can tell "written nowhere" from "missing in cluster 1".
import { KafkaError } from '../protocol/errors.ts';
import { WriteErrors } from '../client/writer/write-errors.ts';

/** A cluster was (or turned) unhealthy, so the message was not written there. */
export class ClusterUnavailableError extends KafkaError {
  constructor(
    readonly cluster: number,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cluster ${cluster} is unhealthy: ${detail}`, true, options);
  }
}

/** Why a cluster is out, for the messages it did not take. */
export function unavailableError(h: { cluster: number; forced: string | null; lastError: Error | null }): ClusterUnavailableError {
  return new ClusterUnavailableError(h.cluster, h.forced === 'unhealthy' ? 'forced down' : (h.lastError?.message ?? 'no answer'), { cause: h.lastError ?? undefined });
}

export class MultiWriteErrors extends WriteErrors {
  /** For each message, the clusters that do not have it acknowledged (empty: written as asked). */
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
