// The setup of the group Reader tests on cluster B. Call groupReaders() in a describe block: it makes
// an admin Client before the block, opens Readers with the block's defaults, and after the block
// closes every Reader it opened (a failed test leaves members behind), then the Client.
import { after, before } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { Reader, type ReaderConfig } from '../../src/client/reader/index.ts';
import { cluster } from './kafka.ts';
import { produceRetrying } from './reader-loop.ts';

export function groupReaders(partitions: number, defaults: Partial<ReaderConfig>) {
  let client: Client | undefined;
  const readers: Reader[] = [];
  before(() => {
    client = new Client({ brokers: cluster('b').bootstrap });
  });
  after(async () => {
    for (const r of readers) await r.close().catch(() => {});
    await client!.close();
  });
  return {
    /** The admin Client (made in `before`). */
    get client(): Client {
      return client!;
    },
    /** A Reader on cluster B: maxWaitMs 200, then the block's defaults, then c. */
    open(c: Partial<ReaderConfig>): Reader {
      const r = new Reader({ brokers: cluster('b').bootstrap, maxWaitMs: 200, ...defaults, ...c });
      readers.push(r);
      return r;
    },
    /** perPartition messages `${tag}-${p}-${i}` to each partition p of the block's topics. */
    async produceAll(topic: string, perPartition: number, tag: string): Promise<void> {
      for (let p = 0; p < partitions; p++) await produceRetrying(client!, topic, p, Array.from({ length: perPartition }, (_, i) => ({ value: `${tag}-${p}-${i}` })));
    },
  };
}
