// The send loop's produce connections, one per leader, known synchronously: batches are taken from the
// accumulator only when their leader's connection is open, so a message is either still queued (and
// removable) or in a request on the wire, never in between. Dials are shared work of the Writer and
// carry no caller's signal; a caller whose deadline passes simply stops waiting.
import type { Cluster } from '../cluster.ts';
import type { Connection } from '../connection.ts';

export interface LeaderConnectionHooks {
  /** A dial finished: batches for that leader may go. */
  opened(leader: number): void;
  failed(leader: number, err: unknown): void;
}

export class LeaderConnections {
  private readonly conns = new Map<number, Connection>();
  private readonly dialing = new Set<number>();
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly hooks: LeaderConnectionHooks,
  ) {}

  /** The open produce connection to `leader`, or null after starting (or while waiting for) its dial. */
  get(leader: number): Connection | null {
    const c = this.conns.get(leader);
    if (c && !c.closed) return c;
    if (c) this.conns.delete(leader);
    if (!this.dialing.has(leader) && !this.closed) {
      this.dialing.add(leader);
      this.cluster.brokerConnection(leader, 'produce').then(
        (conn) => {
          this.dialing.delete(leader);
          if (this.closed) return;
          this.conns.set(leader, conn);
          this.hooks.opened(leader);
        },
        (err: unknown) => {
          this.dialing.delete(leader);
          if (!this.closed) this.hooks.failed(leader, err);
        },
      );
    }
    return null;
  }

  /** Forgets the connections (the cluster's pool closes the sockets). */
  close(): void {
    this.closed = true;
    this.conns.clear();
  }
}
