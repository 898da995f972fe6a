// What a Reader needs from its group, whichever protocol the group speaks: the classic one
// (JoinGroup/SyncGroup, ClassicMembership) or KIP-848's (ConsumerGroupHeartbeat, ConsumerProtocolMembership).
// Both drive one background loop with the same life cycle, shared here: start once, step until stopped,
// back off after a retriable failure, hand a fatal one to the reader, and on stop end the loop before
// saying goodbye to the coordinator.
import { ErrorCode } from '../../../protocol/messages/index.ts';
import { KafkaError } from '../../../protocol/errors.ts';
import type { CallOptions } from '../../cluster.ts';
import { backoff, sleep } from '../../retry.ts';
import type { ResolvedReaderConfig } from '../config.ts';
import { partitionKey } from '../partition-key.ts';
import type { ReaderCounters } from '../stats.ts';
import type { TopicPartition } from './assignors.ts';

export interface MembershipHooks {
  /** Partitions leave this member: commit what is pending of them, stop fetching, drop their messages. */
  revoke(tps: TopicPartition[]): Promise<void>;
  /** Partitions arrive in `generationId`: look up committed offsets, start fetching. */
  assign(tps: TopicPartition[], generationId: number): Promise<void>;
  /** The group refused us for good (authorization, fenced static member, bad config). */
  fatal(err: Error): void;
}

export interface GroupMembership {
  readonly groupId: string;
  readonly memberId: string;
  /** The classic generation, or KIP-848's member epoch: what commits are fenced by. */
  readonly generationId: number;
  /** The assignor in use; null while unknown (or left to the broker). */
  readonly protocol: string | null;
  /** Partitions this member owns now (and fetches). */
  readonly assigned: ReadonlyMap<string, TopicPartition>;
  /** True while the member is in the group and owns what the coordinator assigned. */
  readonly stable: boolean;
  /** performance.now() of the last heartbeat the coordinator accepted; -1 before the first. */
  readonly lastHeartbeatOk: number;
  start(): void;
  /** Gives up the assignment and joins again (resetMemberId: as a new member, classic only). */
  requestRejoin(resetMemberId?: boolean): void;
  /**
   * The coordinator has not acknowledged a heartbeat for a session timeout: it has removed us and our
   * partitions are someone else's. Drops the heartbeat connection that stopped answering and joins
   * again, giving every partition up first (through the loop, so a revoke never races an assignment).
   */
  sessionLost(): void;
  /** Ends the loop and its timers; with leave, tells the coordinator (static members keep their place). */
  stop(leave: boolean): Promise<void>;
  /** Commits offsets (the next offset to read) fenced by the current generation or member epoch. */
  commit(offsets: Map<string, Map<number, bigint>>, opts?: CallOptions): Promise<void>;
  /** Committed offsets (-1n where none) of the given partitions. */
  committed(tps: TopicPartition[], opts?: CallOptions): Promise<Map<string, Map<number, bigint>>>;
}

/** A group error that a fresh JoinGroup answers; the commit or heartbeat that got it failed. */
export function needsRejoin(code: number): boolean {
  return code === ErrorCode.ILLEGAL_GENERATION || code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.REBALANCE_IN_PROGRESS;
}

export const tpKey = (tp: TopicPartition): string => partitionKey(tp.topic, tp.partition);

/** The loop both memberships run. A subclass says what one step is and how to leave. */
export abstract class MembershipLoop {
  protected stopped = false;
  protected readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  // Set by wakeLoop: a wake that comes while a step runs (no wait to end yet) must not be lost.
  private kicked = false;
  private running: Promise<void> | null = null;

  constructor(
    protected readonly config: ResolvedReaderConfig,
    protected readonly counters: ReaderCounters,
    protected readonly hooks: MembershipHooks,
  ) {}

  get groupId(): string {
    return this.config.groupId!;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(leave: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTimers();
    this.abort.abort();
    this.wakeLoop();
    await this.running?.catch(() => {});
    if (leave) await this.leave();
  }

  /** One round of the protocol; resolves with the wait before the next (Infinity: until woken). */
  protected abstract step(): Promise<number>;
  /** Says goodbye to the coordinator; failures are ignored (the session timeout removes us anyway). */
  protected abstract leave(): Promise<void>;
  /** Timers the subclass runs beside the loop (classic heartbeats), ended by stop. */
  protected stopTimers(): void {}
  /** A failure that no retry heals; the classic protocol answers some non-retriable codes by rejoining. */
  protected isFatal(e: unknown): boolean {
    return e instanceof KafkaError && !e.retriable;
  }

  /** Ends the current wait of the loop, so it steps now. */
  protected wakeLoop(): void {
    this.kicked = true;
    this.wake?.();
  }

  protected fatal(err: Error): void {
    this.stopped = true;
    this.stopTimers();
    this.hooks.fatal(err);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let delay: number;
      this.kicked = false;
      try {
        delay = await this.step();
        failures = 0;
      } catch (e) {
        if (this.stopped) return;
        this.counters.errors++;
        if (this.isFatal(e)) {
          this.fatal(e as Error);
          return;
        }
        delay = backoff(++failures, this.config.readBackoffMinMs, this.config.readBackoffMaxMs);
      }
      if (delay > 0 && !this.stopped && !this.kicked) await this.pause(delay);
    }
  }

  private async pause(ms: number): Promise<void> {
    const woken = new Promise<void>((r) => (this.wake = r));
    try {
      await (ms === Infinity ? woken : Promise.race([sleep(ms, this.abort.signal), woken]));
    } catch {
      // aborted: the loop sees stopped
    } finally {
      this.wake = null;
    }
  }
}
