// Reading a topic back after a test wrote it: from the start, one Reader per partition, until the
// partition has brought nothing for `idleMs` (there is no end marker to wait for, so quiet means done).
import { TimeoutError } from '../../src/protocol/errors.ts';
import { FirstOffset, Reader } from '../../src/client/reader/index.ts';

export interface ReadUntilIdleOptions {
  brokers: string[];
  topic: string;
  /** The one partition to read (default 0); ignored when `partitions` is given. */
  partition?: number;
  /** Read partitions 0 .. partitions-1 in turn instead of one. */
  partitions?: number;
  isolationLevel: 'read_committed' | 'read_uncommitted';
  /** A fetch that brings nothing for this long ends the partition. */
  idleMs: number;
}

const text = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('utf8') : '');

/** Every value (as UTF-8 text; null as '') of the partition or partitions, partition by partition, each in offset order. */
export async function readUntilIdle(opts: ReadUntilIdleOptions): Promise<string[]> {
  const { brokers, topic, isolationLevel, idleMs } = opts;
  const list = opts.partitions === undefined ? [opts.partition ?? 0] : Array.from({ length: opts.partitions }, (_, p) => p);
  const out: string[] = [];
  for (const partition of list) {
    const r = new Reader({ brokers, topic, partition, isolationLevel, startOffset: FirstOffset, maxWaitMs: 200 });
    try {
      for (;;) {
        const m = await r.fetchMessage({ timeoutMs: idleMs }).catch((e: unknown) => {
          if (e instanceof TimeoutError) return null;
          throw e;
        });
        if (!m) break;
        out.push(text(m.value));
      }
    } finally {
      await r.close();
    }
  }
  return out;
}
