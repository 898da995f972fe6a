// The send loop: takes ready batches from the accumulator, one Produce request per leader per round,
// and applies each batch's outcome (written, retried, split, failed). Batches leave the accumulator
// only when their leader's connection is open and the partition may send, so everything not in a
// request stays removable and keeps growing while it waits.
import { Api } from '../../protocol/messages/index.ts';
import { KafkaError, KafkaProtocolError } from '../../protocol/errors.ts';
import type { Cluster } from '../cluster.ts';
import type { Connection } from '../connection.ts';
import { backoff, isRetriable } from '../retry.ts';
import type { Accumulator, Batch, PartitionQueue } from './accumulator.ts';
import { ACKS, type ResolvedWriterConfig } from './config.ts';
import { LeaderConnections } from './connections.ts';
import { classifyBatchError, partitionOutcome } from './outcome.ts';
import type { ProducerState } from './producer-state.ts';
import type { WriterMeter } from './stats.ts';

/** Runs fn after pending I/O callbacks, without the 1 ms clamp of timers (setImmediate where the runtime has it). */
const nextTurn: (fn: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (fn) => void globalThis.setImmediate(fn) : (fn) => void setTimeout(fn, 0);

/** What the send loop asks of an open transaction (transaction.ts). */
export interface TxnGate {
  readonly transactionalId: string;
  /** The Produce version to send on `conn`: capped below v12 where the broker does not add partitions itself. */
  produceVersion(conn: Connection): number;
  /** Whether batches of `p` may be sent now; if not, p is being added to the transaction and the loop is woken. */
  admit(p: PartitionQueue): boolean;
}

interface ProduceAnswer {
  errorCode: number;
  baseOffset: bigint;
  errorMessage?: string | null;
}

export class Sender {
  /** Batches in produce requests without an answer yet, over all partitions. */
  inflight = 0;
  private shuttingDown = false;
  private drainScheduled = false;
  private turnScheduled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private refreshing = false;
  private awaitingProducer = false;
  /** The last failure seen since the last acknowledged batch: why calls are timing out, if they are. */
  private lastTrouble: Error | null = null;
  private readonly conns: LeaderConnections;
  private idleWaiters: (() => void)[] = [];
  /** Set by a transactional Writer (after construction: the transaction needs the Sender too). */
  txn: TxnGate | null = null;

  constructor(
    private readonly cfg: ResolvedWriterConfig,
    private readonly cluster: Cluster,
    private readonly acc: Accumulator,
    private readonly producer: ProducerState | null,
    private readonly meter: WriterMeter,
  ) {
    this.conns = new LeaderConnections(cluster, {
      opened: () => this.wake(0),
      failed: (_leader, err) => {
        // The leader may have moved or gone: ask again, and try again after a backoff. The batches
        // wait (their calls' deadlines bound the wait).
        this.lastTrouble = asError(err);
        this.cluster.invalidate();
        this.refreshMetadata();
        this.wake(this.cfg.writeBackoffMinMs);
      },
    });
  }

  /** Runs the loop now (0: in a microtask), after `delay` ms, or on the next turn of the event loop. */
  wake(delay: number | 'turn'): void {
    if (this.shuttingDown) return;
    if (delay === 'turn') {
      if (this.turnScheduled) return;
      this.turnScheduled = true;
      nextTurn(() => {
        this.turnScheduled = false;
        this.wake(0);
      });
      return;
    }
    if (delay > 0) {
      const at = performance.now() + delay;
      if (this.timer && this.timerAt <= at) return; // an earlier wake-up is already due
      if (this.timer) clearTimeout(this.timer);
      this.timerAt = at;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.wake(0);
      }, delay);
      return;
    }
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Encoding a batch failed: nothing was numbered or sent, its messages fail. */
  sealFailed(b: Batch, err: unknown): void {
    const q = b.p.batches;
    const i = q.indexOf(b);
    if (i >= 0) q.splice(i, 1);
    this.meter.counters.errors++;
    this.settleFailed(b, asError(err));
    this.wake(0);
  }

  /** Fails every batch not in flight (no producer id to be had). */
  failQueued(err: Error): void {
    for (const p of this.acc.all()) {
      for (const b of p.batches.splice(0)) {
        if (this.producer && b.baseSequence >= 0) this.producer.needsReset = true;
        this.meter.counters.errors++;
        this.settleFailed(b, err);
      }
    }
  }

  /** What went wrong last, while nothing has been acknowledged since: the likely reason calls time out. */
  get trouble(): Error | null {
    return this.lastTrouble;
  }

  /** Resolves once no batch is in flight (a transaction ends only after its writes came back). */
  whenIdle(): Promise<void> {
    if (this.inflight === 0 || this.shuttingDown) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  close(): void {
    this.shuttingDown = true;
    for (const r of this.idleWaiters.splice(0)) r();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.conns.close();
  }

  private drain(): void {
    if (this.shuttingDown) return;
    if (this.producer) {
      const r = this.producer.prepare(() => this.acc.all(), this.inflight, () => this.acc.hasQueued());
      if (r.state === 'drain-first') return; // each batch coming back wakes the loop
      if (r.state === 'pending') {
        if (!this.awaitingProducer) {
          this.awaitingProducer = true;
          r.work.then(
            () => {
              this.awaitingProducer = false;
              this.wake(0);
            },
            (e: unknown) => {
              this.awaitingProducer = false;
              this.lastTrouble = asError(e);
              // The cluster's own retries are spent. Retriable: the messages wait for their deadlines
              // while we ask again; otherwise (authorization, a closed writer) they fail now.
              if (isRetriable(e)) this.wake(this.cfg.writeBackoffMaxMs);
              else this.failQueued(asError(e));
            },
          );
        }
        return;
      }
    }
    this.sendReady();
  }

  /** Sends every batch that may go now: one Produce request per leader per round. */
  private sendReady(): void {
    const meta = this.cluster.current;
    const now = performance.now();
    let soonest = Infinity;
    let needMetadata = false;
    const idempotent = this.producer !== null;
    for (;;) {
      const byLeader = new Map<number, { conn: Connection; batches: Batch[] }>();
      for (const p of this.acc.all()) {
        if (p.blocked || p.inflight.length >= this.cfg.maxInFlightPerPartition) continue;
        const b = this.head(p);
        // A gap was just left: nothing more goes out in this epoch (it would only be refused).
        if (this.producer?.needsReset) break;
        if (!b) continue;
        if (p.retryAt > now) {
          soonest = Math.min(soonest, p.retryAt);
          continue;
        }
        if (idempotent && p.inflight.length > 0 && (!p.acked || b.split || p.inflight.some((x) => x.split))) continue;
        const readyAt = this.acc.readyAt(b);
        if (readyAt > now) {
          soonest = Math.min(soonest, readyAt);
          continue;
        }
        if (b.state === 'sealing') continue; // its end wakes the loop
        if (this.txn && !this.txn.admit(p)) continue; // the partition's addition wakes the loop
        const leader = meta?.partition(p.topic, p.partition)?.leader ?? -1;
        if (leader < 0 || !meta!.brokers.has(leader)) {
          needMetadata = true;
          continue;
        }
        const conn = this.conns.get(leader);
        if (!conn) continue; // the dial's end wakes the loop
        if (!this.acc.sendable(b)) {
          this.acc.seal(b);
          continue;
        }
        p.batches.shift();
        p.inflight.push(b);
        this.inflight++;
        this.producer?.stamp(p, b);
        let g = byLeader.get(leader);
        if (!g) byLeader.set(leader, (g = { conn, batches: [] }));
        g.batches.push(b);
      }
      if (byLeader.size === 0) break;
      for (const g of byLeader.values()) this.produce(g.conn, g.batches);
    }
    if (needMetadata) this.refreshMetadata();
    if (soonest < Infinity) this.wake(Math.max(1, soonest - now));
  }

  /**
   * The partition's next batch. A batch already sent that no call waits for any more is dropped
   * rather than sent again (its messages were reported as of unknown outcome); if it was numbered,
   * the gap it leaves needs a new producer epoch.
   */
  private head(p: PartitionQueue): Batch | null {
    while (p.batches.length) {
      const b = p.batches[0];
      if (!(b.sentOnce && b.waiting === 0 && b.state !== 'sealing')) return b;
      p.batches.shift();
      b.settled = true;
      this.acc.releaseBatch(b);
      if (this.producer && b.baseSequence >= 0) this.producer.needsReset = true;
    }
    return null;
  }

  private refreshMetadata(): void {
    if (this.refreshing) return;
    this.refreshing = true;
    this.cluster.refreshMetadata().then(
      () => {
        this.refreshing = false;
        this.wake(Math.min(this.cfg.writeBackoffMinMs, 50));
      },
      (e: unknown) => {
        this.refreshing = false;
        this.lastTrouble = asError(e);
        this.wake(this.cfg.writeBackoffMinMs);
      },
    );
  }

  private produce(conn: Connection, batches: Batch[]): void {
    const sentAt = performance.now();
    const meta = this.cluster.current;
    const byTopic = new Map<string, { index: number; records: Uint8Array }[]>();
    for (const b of batches) {
      b.sentOnce = true;
      b.sentAt = sentAt;
      this.meter.batchQueueTime.observe(sentAt - b.readyTime);
      let list = byTopic.get(b.p.topic);
      if (!list) byTopic.set(b.p.topic, (list = []));
      list.push({ index: b.p.partition, records: b.sealed!.bytes });
    }
    const byId = new Map<string, string>();
    const topicData = [...byTopic].map(([name, partitionData]) => {
      // Produce v13 names topics by id (KIP-516), older versions by name: the codec writes the one its version has.
      const topicId = meta?.topics.get(name)?.topicId || undefined;
      if (topicId) byId.set(topicId, name);
      return { name, topicId, partitionData };
    });
    const acks = ACKS[this.cfg.requiredAcks];
    const body = { transactionalId: this.txn?.transactionalId ?? null, acks, timeoutMs: this.cfg.writeTimeoutMs, topicData };
    const version = this.txn?.produceVersion(conn);
    this.meter.counters.writes++;
    const answered = (): void => this.meter.writeTime.observe(performance.now() - sentAt);
    const failed = (e: unknown): void => {
      for (const b of batches) this.batchFailed(b, asError(e));
    };
    if (acks === 0) {
      conn.requestNoResponse(Api.Produce, body, { version }).then(() => {
        answered();
        for (const b of batches) this.batchDone(b, -1n);
      }, failed).finally(() => this.wake(0));
      return;
    }
    conn.request(Api.Produce, body, { version }).then((res) => {
      answered();
      const results = new Map<string, ProduceAnswer>();
      for (const t of res.responses) {
        const name = t.name || byId.get(t.topicId) || '';
        for (const pr of t.partitionResponses) results.set(`${name}\u0000${pr.index}`, pr);
      }
      for (const b of batches) {
        const r = results.get(`${b.p.topic}\u0000${b.p.partition}`);
        if (!r) {
          this.batchFailed(b, new KafkaError(`Produce response lacks ${b.p.topic}/${b.p.partition}`, true));
          continue;
        }
        const o = partitionOutcome(r.errorCode, r.baseOffset, `${b.p.topic}/${b.p.partition}${r.errorMessage ? `: ${r.errorMessage}` : ''}`);
        if (o.kind === 'written') this.batchDone(b, o.baseOffset);
        else this.batchFailed(b, o.error);
      }
    }, failed).finally(() => this.wake(0));
  }

  private batchDone(b: Batch, baseOffset: bigint): void {
    if (!this.leaveFlight(b)) return;
    const p = b.p;
    p.acked = true;
    this.lastTrouble = null;
    const bytes = b.sealed?.bytes.length ?? 0;
    this.meter.counters.messages += b.entries.length;
    this.meter.counters.bytes += bytes;
    this.meter.batchSize.observe(b.entries.length);
    this.meter.batchBytes.observe(bytes);
    this.told(b, baseOffset, undefined);
    b.settled = true;
    const entries = b.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      e.call.settle(e.index, null, { topic: p.topic, partition: p.partition, offset: baseOffset >= 0n ? baseOffset + BigInt(i) : -1n });
    }
    this.acc.releaseBatch(b);
  }

  private batchFailed(b: Batch, err: Error): void {
    if (!this.leaveFlight(b)) return;
    const p = b.p;
    // No answer (a broken connection, a timeout): the broker may have written the batch.
    if (!(err instanceof KafkaProtocolError)) b.uncertain = true;
    this.lastTrouble = err;
    this.told(b, -1n, err);
    const earlier = (x: Batch) => x.order < b.order;
    const action = classifyBatchError(err, {
      idempotent: this.producer !== null,
      numbered: b.baseSequence >= 0,
      attempts: b.attempts,
      maxAttempts: this.cfg.maxAttempts,
      messages: b.entries.length,
      abandoned: b.waiting === 0,
      earlierOutstanding: p.batches.some(earlier) || p.inflight.some(earlier),
      shuttingDown: this.shuttingDown,
      transactional: this.txn !== null,
    });
    if (action.kind === 'split') {
      this.meter.counters.retries++;
      this.acc.split(b);
      if (p.inflight.length > 0) p.blocked = true;
      return;
    }
    if (action.kind === 'fail') {
      if (action.resetProducer && this.producer) this.producer.needsReset = true;
      if (b.waiting > 0) this.meter.counters.errors++;
      this.settleFailed(b, err);
      return;
    }
    this.meter.counters.retries++;
    if (action.resetProducer && this.producer) this.producer.needsReset = true;
    if (action.refreshMetadata) {
      this.cluster.invalidate();
      this.refreshMetadata();
    }
    // Back in its place; hold the partition until its other batches in flight have come back.
    this.acc.requeue(b);
    if (p.inflight.length > 0) p.blocked = true;
    if (action.countAttempt) {
      b.attempts++;
      p.retryAt = Math.max(p.retryAt, performance.now() + backoff(b.attempts, this.cfg.writeBackoffMinMs, this.cfg.writeBackoffMaxMs));
    }
  }

  /** Telemetry: a produced batch came back, written or not. */
  private told(b: Batch, baseOffset: bigint, error: Error | undefined): void {
    const tel = this.cluster.telemetry.produce;
    if (!tel.on) return;
    const { topic, partition } = b.p;
    tel.emit({ topic, partition, records: b.entries.length, bytes: b.sealed?.bytes.length ?? 0, ms: performance.now() - b.sentAt, baseOffset, error });
  }

  /** Takes the batch out of its partition's in-flight list; false when it was already settled. */
  private leaveFlight(b: Batch): boolean {
    const p = b.p;
    const i = p.inflight.indexOf(b);
    if (i >= 0) {
      p.inflight.splice(i, 1);
      this.inflight--;
      if (p.inflight.length === 0) p.blocked = false;
      if (this.inflight === 0) for (const r of this.idleWaiters.splice(0)) r();
    }
    return !b.settled;
  }

  private settleFailed(b: Batch, err: Error): void {
    if (b.settled) return;
    b.settled = true;
    for (const e of b.entries) if (!e.dropped) e.call.fail(e.index, err, b.uncertain);
    this.acc.releaseBatch(b);
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new KafkaError(String(e), false);
}
