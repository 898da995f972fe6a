// The bounded prefetch queue between the fetch loops and the caller. Limited in messages and bytes:
// a producer that finds it full waits for space instead of buffering. A partition's fatal error takes
// its place in the line behind that partition's messages, so other partitions lose nothing. A paused
// partition's messages are held aside, in order, until it resumes: pausing never loses what was fetched.
import { AbortedError, ClosedError, TimeoutError } from '../../protocol/errors.ts';
import { messageBytes, type Message } from './message.ts';
import { partitionKey } from './partition-key.ts';

type Item = { msg: Message; size: number; tag: unknown; err?: undefined } | { msg?: undefined; size: 0; err: Error; topic: string; partition: number };

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface TakeOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export class MessageQueue {
  private items: (Item | undefined)[] = [];
  private head = 0;
  private count = 0;
  private bytesUsed = 0;
  private closedError: Error | null = null;
  private readers: Waiter[] = [];
  private spaceWaiters: Waiter[] = [];
  // Paused partitions' items, out of the line. Not counted against the capacity: a full line of held
  // messages would stop every other partition. They are bounded anyway: a paused partition is not fetched.
  private readonly held = new Map<string, { topic: string; partition: number; items: Item[] }>();

  constructor(
    readonly capacity: number,
    readonly capacityBytes: number,
  ) {}

  /** Messages queued (errors not counted). */
  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.bytesUsed;
  }

  /** Room for one more message; an empty queue always takes one, however big. */
  get hasSpace(): boolean {
    return this.count === 0 || (this.count < this.capacity && this.bytesUsed < this.capacityBytes);
  }

  // A waiting producer is woken only once the queue has drained to half, so that a reader taking one
  // message at a time does not make the fetcher wake for every single one.
  get belowLowWater(): boolean {
    return this.count === 0 || (this.count <= this.capacity / 2 && this.bytesUsed <= this.capacityBytes / 2);
  }

  /** Resolves when hasSpace; rejects on close or abort. */
  waitForSpace(signal?: AbortSignal): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.hasSpace) return Promise.resolve();
    return this.wait(this.spaceWaiters, signal);
  }

  /** `tag` travels with the message to takeTagged (the fetcher's partition state). */
  push(msg: Message, tag?: unknown): void {
    if (this.closedError) return;
    const size = messageBytes(msg);
    this.items.push({ msg, size, tag });
    this.count++;
    this.bytesUsed += size;
    this.wakeOne(this.readers);
  }

  pushError(err: Error, topic: string, partition: number): void {
    if (this.closedError) return;
    this.items.push({ err, size: 0, topic, partition });
    this.wakeOne(this.readers);
  }

  /** The next message, waiting for one; a queued error rejects instead. */
  async take(opts: TakeOptions = {}): Promise<Message> {
    return (await this.takeTagged(opts)).msg;
  }

  async takeTagged(opts: TakeOptions = {}): Promise<{ msg: Message; tag: unknown }> {
    for (;;) {
      if (this.closedError) throw this.closedError;
      const it = this.shift();
      if (it) {
        if (it.err) throw it.err;
        return it;
      }
      await this.wait(this.readers, opts.signal, opts.timeoutMs);
    }
  }

  /** The next message if one is queued, without waiting; undefined when none is or an error is next. */
  takeReady(): { msg: Message; tag: unknown } | undefined {
    if (this.closedError) throw this.closedError;
    if (!this.items[this.head]?.msg) return undefined;
    return this.shift() as { msg: Message; tag: unknown };
  }

  private shift(): Item | undefined {
    if (this.head >= this.items.length) return undefined;
    const it = this.items[this.head]!;
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (it.msg) {
      this.count--;
      this.bytesUsed -= it.size;
      if (this.spaceWaiters.length && this.belowLowWater) this.wakeAll(this.spaceWaiters);
    }
    return it;
  }

  /** Drops what is queued or held for the partitions `match` selects (revoked, or sought elsewhere). */
  drop(match: (topic: string, partition: number) => boolean): number {
    let dropped = 0;
    for (const it of this.extract(match)) if (it.msg) dropped++;
    for (const [k, h] of this.held) {
      if (!match(h.topic, h.partition)) continue;
      this.held.delete(k);
      for (const it of h.items) if (it.msg) dropped++;
    }
    return dropped;
  }

  /** Takes one partition's queued items out of the line until release (pause). */
  hold(topic: string, partition: number): void {
    const k = partitionKey(topic, partition);
    const items = this.extract((t, p) => t === topic && p === partition);
    this.held.set(k, { topic, partition, items: [...(this.held.get(k)?.items ?? []), ...items] });
  }

  /** Puts a held partition's items back in the line, in their order (resume). */
  release(topic: string, partition: number): void {
    const k = partitionKey(topic, partition);
    const items = this.held.get(k)?.items;
    this.held.delete(k);
    if (this.closedError || !items) return;
    for (const it of items) {
      this.items.push(it);
      if (it.msg) {
        this.count++;
        this.bytesUsed += it.size;
      }
      this.wakeOne(this.readers);
    }
  }

  /** Messages held for paused partitions. */
  get heldLength(): number {
    let n = 0;
    for (const h of this.held.values()) for (const it of h.items) if (it.msg) n++;
    return n;
  }

  private extract(match: (topic: string, partition: number) => boolean): Item[] {
    const out: Item[] = [];
    const kept: (Item | undefined)[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const it = this.items[i]!;
      const topic = it.msg ? it.msg.topic : it.topic;
      const partition = it.msg ? it.msg.partition : it.partition;
      if (match(topic, partition)) {
        if (it.msg) {
          this.count--;
          this.bytesUsed -= it.size;
        }
        out.push(it);
      } else kept.push(it);
    }
    this.items = kept;
    this.head = 0;
    if (this.hasSpace) this.wakeAll(this.spaceWaiters);
    return out;
  }

  /** Fails every waiter, now and later, with err. */
  close(err: Error = new ClosedError('reader closed')): void {
    if (this.closedError) return;
    this.closedError = err;
    this.items = [];
    this.held.clear();
    this.head = 0;
    this.count = 0;
    this.bytesUsed = 0;
    for (const w of this.readers.splice(0)) w.reject(err);
    for (const w of this.spaceWaiters.splice(0)) w.reject(err);
  }

  private wakeOne(list: Waiter[]): void {
    list.shift()?.resolve();
  }

  private wakeAll(list: Waiter[]): void {
    for (const w of list.splice(0)) w.resolve();
  }

  private wait(list: Waiter[], signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortedError('read aborted', signal.reason));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
      };
      const w: Waiter = {
        resolve: () => {
          done();
          resolve();
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      const onAbort = () => w.reject(new AbortedError('read aborted', signal?.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => w.reject(new TimeoutError(`no message within ${timeoutMs} ms`)), timeoutMs);
      list.push(w);
    });
  }
}
