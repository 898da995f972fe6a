// MultiReader's merge without a broker: each cluster's Reader is a fake with the Reader's queue
// semantics (a waiting fetchMessage takes the next message pushed; a seek drops what is queued and
// the fetcher refills from the new position a moment later). Offsets here are exact outcomes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message, PartitionLag, ReaderConfig, ReaderStats } from '../../src/client/reader/index.ts';
import { MultiReader, MultiReadCommitError, type MultiMessage } from '../../src/multi/multi-reader.ts';
import type { ClusterSource } from '../../src/multi/multi-reader-slot.ts';
import { AbortedError, ClosedError, KafkaError } from '../../src/protocol/errors.ts';

const TOPIC = 't';
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A gate a test opens (or fails) to settle the commits waiting on it. */
class Gate {
  private waiters: { ok: () => void; fail: (e: Error) => void }[] = [];
  open = true;
  wait(): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise((ok, fail) => this.waiters.push({ ok, fail }));
  }
  release(): void {
    this.open = true;
    for (const w of this.waiters.splice(0)) w.ok();
  }
  fail(e: Error): void {
    for (const w of this.waiters.splice(0)) w.fail(e);
  }
}

class FakeReader implements ClusterSource {
  readonly log: Message[] = [];
  private queue: Message[] = [];
  private waiters: (() => void)[] = [];
  private next: bigint;
  private current: bigint;
  private lagValue = 0n;
  private closed = false;
  readonly commits: bigint[][] = [];
  readonly gate = new Gate();
  taken = 0;

  constructor(readonly group: boolean, start = 0n) {
    this.next = start;
    this.current = group ? -1n : start;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Appends n messages to the log; the "fetcher" queues them a moment later. */
  append(n: number): void {
    for (let i = 0; i < n; i++) {
      const offset = BigInt(this.log.length);
      this.log.push({ topic: TOPIC, partition: 0, offset, highWaterMark: 0n, key: null, value: new TextEncoder().encode(`m${offset}`), headers: [], time: new Date(0) });
    }
    this.refill();
  }

  private refill(): void {
    setTimeout(() => {
      const hw = BigInt(this.log.length);
      while (this.next < hw) {
        this.queue.push({ ...this.log[Number(this.next)], highWaterMark: hw });
        this.next++;
        this.waiters.shift()?.();
      }
    }, 2);
  }

  async fetchMessage(opts: { signal?: AbortSignal } = {}): Promise<Message> {
    for (;;) {
      if (this.closed) throw new ClosedError('reader closed');
      const m = this.queue.shift();
      if (m) {
        this.taken++;
        if (!this.group) {
          this.current = m.offset + 1n;
          this.lagValue = m.highWaterMark - this.current;
        }
        return m;
      }
      const signal = opts.signal;
      if (signal?.aborted) throw new AbortedError('read aborted');
      await new Promise<void>((resolve, reject) => {
        const w = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new AbortedError('read aborted'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(w);
      });
    }
  }

  async commitMessages(...messages: Message[]): Promise<void> {
    await this.gate.wait();
    this.commits.push(messages.map((m) => m.offset));
  }

  offset(): bigint {
    return this.group ? -1n : this.current;
  }

  lag(): bigint {
    return this.group ? -1n : this.lagValue;
  }

  async readLag(): Promise<bigint> {
    const lag = BigInt(this.log.length) - this.current;
    return lag > 0n ? lag : 0n;
  }

  setOffset(offset: bigint): void {
    this.current = offset;
    this.next = offset;
    this.queue = [];
    this.refill();
  }

  async setOffsetAt(time: Date): Promise<void> {
    await tick(5);
    this.setOffset(BigInt(time.getTime()));
  }

  async groupLag(): Promise<Map<string, Map<number, PartitionLag>>> {
    const hw = BigInt(this.log.length);
    const position = this.next - BigInt(this.queue.length);
    return new Map([[TOPIC, new Map([[0, { committed: -1n, position, highWatermark: hw, lastStableOffset: hw, lag: hw - position }]])]]);
  }

  stats(): ReaderStats {
    return { offset: this.offset(), lag: this.lag(), messages: this.taken } as ReaderStats;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

function setup(kinds: ('partition' | 'group')[], opts: { maxPerCluster?: number; dedupeHeader?: string } = {}) {
  const fakes = kinds.map((k) => new FakeReader(k === 'group'));
  const configs: ReaderConfig[] = kinds.map((k) => (k === 'group' ? { brokers: ['x:1'], topic: TOPIC, groupId: 'g' } : { brokers: ['x:1'], topic: TOPIC }));
  let i = 0;
  const mr = new MultiReader(configs, opts, () => fakes[i++]);
  return { mr, fakes };
}

const offsets = (ms: MultiMessage[], cluster?: number) => ms.filter((m) => cluster === undefined || m.cluster === cluster).map((m) => Number(m.offset));

async function readUntil(mr: MultiReader, n: number, read: 'readMessage' | 'fetchMessage' = 'readMessage'): Promise<MultiMessage[]> {
  const got: MultiMessage[] = [];
  while (got.length < n) got.push(...(await mr[read]({ timeoutMs: 2000 })));
  return got;
}

describe('MultiReader merge (fake readers)', () => {
  it('methods that return a Promise reject, never throw, on a bad cluster index or a closed reader', async () => {
    const { mr } = setup(['partition']);
    const calls = [() => mr.readLag(3), () => mr.groupLag(-1), () => mr.setOffset(1.5, 0n), () => mr.setOffsetAt(9, new Date())];
    for (const call of calls) {
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (p = call()));
      await assert.rejects(p!, RangeError);
    }
    assert.throws(() => mr.lag(3), RangeError, 'synchronous methods throw');
    await mr.close();
    let closed: Promise<unknown> | undefined;
    assert.doesNotThrow(() => (closed = mr.readLag(0)));
    await assert.rejects(closed!, /closed/);
  });

  it('offset and lag count the messages returned, not those fetched ahead', async () => {
    const { mr, fakes } = setup(['partition'], { maxPerCluster: 5 });
    fakes[0].append(10);
    await tick(20); // all 10 queued in the reader
    assert.deepEqual(offsets(await mr.readMessage({ timeoutMs: 1000 })), [0, 1, 2, 3, 4]);
    assert.equal(mr.offset(0), 5n);
    assert.equal(mr.lag(0), 5n);
    assert.equal(mr.stats(0).offset, 5n);
    assert.equal(await mr.readLag(0), 5n);
    assert.equal(fakes[0].taken, 5, 'nothing taken from the reader beyond what was returned');
    assert.equal(fakes[0].waiting, 0, 'no fetch left waiting between calls');
    await mr.close();
  });

  it('setOffset: the next message is the one sought, also when a call is waiting', async () => {
    const { mr, fakes } = setup(['partition'], { maxPerCluster: 5 });
    fakes[0].append(10);
    assert.deepEqual(offsets(await readUntil(mr, 5)), [0, 1, 2, 3, 4]);
    await mr.setOffset(0, 2n);
    assert.equal(mr.offset(0), 2n);
    assert.deepEqual(offsets(await mr.readMessage({ timeoutMs: 1000 })), [2, 3, 4, 5, 6]);
    assert.deepEqual(offsets(await readUntil(mr, 3)), [7, 8, 9]);
    // A call waits at the log end; the seek lands while its fetch is out.
    const waiting = mr.readMessage({ timeoutMs: 2000 });
    await tick(10);
    assert.equal(fakes[0].waiting, 1);
    await mr.setOffset(0, 6n);
    assert.deepEqual(offsets(await waiting), [6, 7, 8, 9]);
    assert.equal(mr.offset(0), 10n);
    assert.equal(mr.lag(0), 0n);
    await mr.close();
  });

  it('setOffsetAt seeks once the lookup answers; messages returned meanwhile count as before it', async () => {
    const { mr, fakes } = setup(['partition'], { maxPerCluster: 4 });
    fakes[0].append(8);
    assert.deepEqual(offsets(await readUntil(mr, 4)), [0, 1, 2, 3]);
    await mr.setOffsetAt(0, new Date(1)); // the fake's time lookup answers offset = ms
    assert.equal(mr.offset(0), 1n);
    assert.deepEqual(offsets(await mr.readMessage({ timeoutMs: 1000 })), [1, 2, 3, 4]);
    await mr.close();
  });

  it('a seek is refused for a group reader without dropping anything', async () => {
    const { mr, fakes } = setup(['group']);
    fakes[0].append(3);
    await assert.rejects(mr.setOffset(0, 1n), KafkaError);
    await assert.rejects(mr.setOffset(0, -5n), KafkaError);
    await assert.rejects(mr.readLag(0), KafkaError);
    assert.deepEqual(offsets(await readUntil(mr, 3)), [0, 1, 2]);
    assert.throws(() => mr.offset(1), RangeError);
    await mr.close();
  });

  it("one cluster's slow commit never holds back the other's messages", async () => {
    const { mr, fakes } = setup(['group', 'group'], { maxPerCluster: 3 });
    fakes[1].append(3);
    fakes[1].gate.open = false; // cluster 1's group does not answer
    await tick(20);
    // Cluster 1's batch is committing: the call gets nothing from it and times out.
    await assert.rejects(mr.readMessage({ timeoutMs: 50 }), (e: unknown) => (e as Error).name === 'TimeoutError');
    const lag = (await mr.groupLag(1)).get(TOPIC)!.get(0)!;
    assert.equal(lag.position, 0n, 'a batch not yet returned is not counted as read');
    assert.equal(lag.lag, 3n);
    const got: MultiMessage[] = [];
    for (let k = 0; k < 5; k++) {
      fakes[0].append(2);
      const t0 = performance.now();
      got.push(...(await mr.readMessage({ timeoutMs: 1000 })));
      assert.ok(performance.now() - t0 < 500, 'cluster 0 delivers while cluster 1 hangs');
    }
    assert.deepEqual(offsets(got, 0), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(offsets(got, 1), []);
    assert.equal(fakes[0].commits.flat().length, 10, 'every returned message of cluster 0 committed first');
    fakes[1].gate.release();
    const late = await mr.readMessage({ timeoutMs: 1000 });
    assert.deepEqual(offsets(late, 1), [0, 1, 2]);
    assert.deepEqual(fakes[1].commits, [[0n, 1n, 2n]]);
    await mr.close();
  });

  it('a failed commit rejects one call with its cluster and messages; the next call goes on', async () => {
    const { mr, fakes } = setup(['group', 'group'], { maxPerCluster: 10 });
    fakes[1].gate.open = false;
    fakes[1].append(2);
    fakes[0].append(2);
    assert.deepEqual(offsets(await mr.readMessage({ timeoutMs: 1000 })), [0, 1]);
    fakes[1].gate.fail(new KafkaError('coordinator gone', true));
    fakes[1].gate.open = true;
    fakes[0].append(1);
    const err = await mr.readMessage({ timeoutMs: 1000 }).then(
      () => assert.fail('expected MultiReadCommitError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MultiReadCommitError);
    assert.equal(err.cluster, 1);
    assert.deepEqual(err.messages.map((m) => [m.cluster, Number(m.offset)]), [[1, 0], [1, 1]]);
    assert.equal(err.retriable, true);
    assert.deepEqual(offsets(await readUntil(mr, 1)), [2]);
    fakes[1].append(1);
    assert.deepEqual(offsets(await readUntil(mr, 1), 1), [2]);
    await mr.close();
  });

  it('fetchMessage does not commit; duplicates by header are committed but not returned', async () => {
    const { mr, fakes } = setup(['group', 'group'], { dedupeHeader: 'id' });
    for (const f of fakes) {
      f.append(2);
      for (const m of f.log) m.headers = [{ key: 'id', value: new TextEncoder().encode(`id${m.offset}`) }];
    }
    await tick(20);
    const got = await mr.fetchMessage({ timeoutMs: 1000 });
    assert.equal(got.length, 2, 'each id once');
    assert.deepEqual(fakes.map((f) => f.commits.length), [0, 0]);
    fakes[0].append(1);
    fakes[0].log[2].headers = [{ key: 'id', value: new TextEncoder().encode('id0') }];
    await tick(20);
    fakes[1].append(1);
    fakes[1].log[2].headers = [{ key: 'id', value: new TextEncoder().encode('fresh') }];
    await tick(20);
    const more = await readUntil(mr, 1);
    assert.deepEqual(more.map((m) => [m.cluster, Number(m.offset)]), [[1, 2]]);
    assert.deepEqual(fakes[0].commits, [[2n]], 'the duplicate is committed');
    await mr.close();
  });

  it('close rejects a waiting call and later ones with ClosedError', async () => {
    const { mr } = setup(['partition', 'group']);
    const waiting = mr.readMessage();
    await tick(5);
    await mr.close();
    await assert.rejects(waiting, ClosedError);
    await assert.rejects(mr.readMessage(), ClosedError);
  });
});
