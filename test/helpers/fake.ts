// In-process fake clusters for unit tests. Call fakeClusters() at the top of a file or a describe
// block: it registers one `after` hook there that closes every tracked client, then stops every
// cluster it started, so a failing test leaves no socket or timer that keeps the process alive.
import { after } from 'node:test';
import { FakeCluster } from '../../src/testing/index.ts';

export interface Closable {
  close(): Promise<void> | void;
}

export function fakeClusters(): {
  /** FakeCluster.start, stopped after the block. */
  start(opts?: Parameters<typeof FakeCluster.start>[0]): Promise<FakeCluster>;
  /** Closed after the block (in the order tracked, before the clusters stop); returns x. */
  track<T extends Closable>(x: T): T;
} {
  const clusters: FakeCluster[] = [];
  const closers: Closable[] = [];
  after(async () => {
    for (const c of closers) await c.close();
    for (const c of clusters) await c.stop();
  });
  return {
    async start(opts = {}) {
      const c = await FakeCluster.start(opts);
      clusters.push(c);
      return c;
    },
    track(x) {
      closers.push(x);
      return x;
    },
  };
}
