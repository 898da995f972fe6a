// The Reader's liveness watchdog. Consumers elsewhere stall silently: a fetch that never comes back on
// a half-open socket, a partition whose position stops while the broker has data, a fetch loop that
// ended, heartbeats failing for longer than the session while the member goes on reading partitions
// the group gave to someone else. Every tick this looks for each of these, heals it (a fresh fetch on a
// fresh connection, a restarted loop, a rejoin) and tells the reader's listeners and stats.
import type { Fetcher, PartitionState } from './fetcher.ts';
import type { TopicPartition } from './group/assignors.ts';
import type { GroupMembership } from './group/group-membership.ts';
import { partitionKey } from './partition-key.ts';
import type { MessageQueue } from './queue.ts';

export type StallCause =
  /** The broker has data past the position (high watermark > position) and the position did not move. */
  | 'partition-stuck'
  /** No fetch answer for the partition for maxWaitMs + the window (a fetch lost on a dead connection). */
  | 'fetch-unanswered'
  /** The partition has a leader but no fetch loop runs for it. */
  | 'fetch-loop-stopped'
  /** No heartbeat acknowledged for the session timeout: the group has moved our partitions on. */
  | 'heartbeat-failing';

export interface StallEvent {
  cause: StallCause;
  /** The partitions healed; for heartbeat-failing, those the member gave up. */
  partitions: TopicPartition[];
  /** How long the condition had held when it was healed, in ms. */
  stalledMs: number;
  /** What was done: a fresh fetch (new connection, leader looked up again), or leaving and rejoining the group. */
  action: 'refetch' | 'rejoin';
  at: Date;
}

export interface PartitionHealth {
  topic: string;
  partition: number;
  /** Next offset to fetch; negative while FirstOffset/LastOffset is being resolved. */
  position: bigint;
  /** As of the last fetch answer; -1n before one. */
  highWatermark: bigint;
  /** Leader's node id; -1 while it is being looked up. */
  leader: number;
  paused: boolean;
  /** A fatal error was delivered for it; it is not fetched until a seek. */
  failed: boolean;
  /** Since the position last moved (or the partition was caught up, paused or waiting for the caller), ms. */
  sinceProgressMs: number;
  /** Since the last fetch answer for it, ms. */
  sinceAnswerMs: number;
}

export interface ReaderHealth {
  /** False while a stall is seen and not yet healed (or the watchdog is off and one would be). */
  healthy: boolean;
  /** Stalls healed since the reader started. */
  stalls: number;
  lastStall: StallEvent | null;
  /** Group mode: since the coordinator last acknowledged a heartbeat, ms (-1 before the first); null without a group. */
  sinceHeartbeatMs: number | null;
  partitions: PartitionHealth[];
}

export interface WatchdogConfig {
  /** How long a condition must hold before it counts as a stall; 0 turns the watchdog off. */
  stallWindowMs: number;
  maxWaitMs: number;
  sessionTimeoutMs: number;
}

interface Clock {
  position: bigint;
  /** performance.now() when the position last moved, or the partition was last excused. */
  progressAt: number;
  /** performance.now() the partition was last excused from answering (paused, waiting on the caller, healed). */
  excusedAt: number;
  /**
   * performance.now() the position was last seen to move. The next fetch left then, so no answer is
   * overdue before maxWaitMs after it: a response held for a slow caller moves the position long after
   * it was answered, and a fetch sent after that is not lost yet.
   */
  movedAt: number;
  /** performance.now() since when its leader has had no fetch loop; -1 while it has one. */
  loopMissingSince: number;
  /** Heals since it last made progress: each doubles the window (up to 8x), so a broker that is only slow is not hammered. */
  heals: number;
}

export class Watchdog {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly clocks = new Map<string, Clock>();
  private readonly listeners = new Set<(e: StallEvent) => void>();
  private stalls = 0;
  private lastStall: StallEvent | null = null;
  private heartbeatHealedAt = -Infinity;

  constructor(
    private readonly config: WatchdogConfig,
    private readonly fetcher: Fetcher,
    private readonly queue: MessageQueue,
    private readonly membership: GroupMembership | null,
    private readonly onStall: (e: StallEvent) => void,
  ) {}

  start(): void {
    if (this.config.stallWindowMs <= 0 || this.timer) return;
    // A few looks per window, so a stall is healed within about 1.25 windows of starting.
    this.timer = setInterval(() => this.tick(), Math.max(50, Math.min(1_000, this.config.stallWindowMs / 4)));
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** Calls listener on every stall healed; returns the function that unsubscribes. */
  subscribe(listener: (e: StallEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One look: exposed for tests, run by the timer otherwise. */
  tick(now = performance.now()): void {
    const found = this.inspect(now);
    const byCause = new Map<StallCause, { parts: PartitionState[]; stalledMs: number }>();
    for (const f of found) {
      const e = byCause.get(f.cause) ?? { parts: [], stalledMs: 0 };
      e.parts.push(f.p);
      e.stalledMs = Math.max(e.stalledMs, f.stalledMs);
      byCause.set(f.cause, e);
    }
    for (const [cause, { parts, stalledMs }] of byCause) {
      this.fetcher.restart(parts);
      for (const p of parts) {
        this.excuse(p, now);
        const c = this.clocks.get(partitionKey(p.topic, p.partition));
        if (c) c.heals++;
      }
      this.report({ cause, partitions: parts.map((p) => ({ topic: p.topic, partition: p.partition })), stalledMs, action: 'refetch', at: new Date() });
    }
    const g = this.membership;
    if (g && g.stable && g.lastHeartbeatOk >= 0) {
      const since = now - Math.max(g.lastHeartbeatOk, this.heartbeatHealedAt);
      if (since > this.config.sessionTimeoutMs) {
        this.heartbeatHealedAt = now;
        const partitions = [...g.assigned.values()].map((tp) => ({ ...tp }));
        g.sessionLost();
        this.report({ cause: 'heartbeat-failing', partitions, stalledMs: Math.round(now - g.lastHeartbeatOk), action: 'rejoin', at: new Date() });
      }
    }
  }

  /** The partitions stalled now (the clocks updated as a side effect). */
  private inspect(now: number): { p: PartitionState; cause: StallCause; stalledMs: number }[] {
    // The caller not reading is not a stall: a queue above half full means the fetcher waits for it.
    const waitingForCaller = !this.queue.belowLowWater;
    const out: { p: PartitionState; cause: StallCause; stalledMs: number }[] = [];
    const seen = new Set<string>();
    for (const p of this.fetcher.all()) {
      const k = partitionKey(p.topic, p.partition);
      seen.add(k);
      let c = this.clocks.get(k);
      if (!c) this.clocks.set(k, (c = { position: p.position, progressAt: now, excusedAt: now, movedAt: now, loopMissingSince: -1, heals: 0 }));
      if (p.position !== c.position) {
        c.position = p.position;
        c.progressAt = now;
        c.movedAt = now;
        c.heals = 0;
      }
      const loopMissing = p.leader >= 0 && !p.paused && !p.failed && !this.fetcher.hasLoop(p);
      if (!loopMissing) c.loopMissingSince = -1;
      else if (c.loopMissingSince < 0) c.loopMissingSince = now;
      if (p.paused || p.failed || (waitingForCaller && !loopMissing)) {
        this.excuse(p, now);
        continue;
      }
      const caughtUp = p.highWatermark < 0n || p.position < 0n || p.highWatermark <= p.position;
      if (caughtUp) {
        c.progressAt = now;
        if (p.answeredAt > c.excusedAt) c.heals = 0;
      }
      const sinceAnswer = now - Math.max(p.answeredAt, c.excusedAt, c.movedAt);
      const window = this.config.stallWindowMs * 2 ** Math.min(c.heals, 3);
      if (loopMissing && now - c.loopMissingSince >= Math.min(this.config.stallWindowMs, 1_000)) {
        // A loop ends when its partitions leave it and starts when they come back; one missing for a
        // second while its partitions wait has stopped for good.
        out.push({ p, cause: 'fetch-loop-stopped', stalledMs: Math.round(now - c.loopMissingSince) });
      } else if (!caughtUp && now - c.progressAt > window) {
        out.push({ p, cause: 'partition-stuck', stalledMs: Math.round(now - c.progressAt) });
      } else if (sinceAnswer > this.config.maxWaitMs + window) {
        out.push({ p, cause: 'fetch-unanswered', stalledMs: Math.round(sinceAnswer) });
      }
    }
    for (const k of this.clocks.keys()) if (!seen.has(k)) this.clocks.delete(k);
    return out;
  }

  private excuse(p: PartitionState, now: number): void {
    const c = this.clocks.get(partitionKey(p.topic, p.partition));
    if (!c) return;
    c.progressAt = now;
    c.excusedAt = now;
    c.loopMissingSince = -1;
  }

  private report(e: StallEvent): void {
    this.stalls++;
    this.lastStall = e;
    this.onStall(e);
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // A listener's failure is its own; the watchdog goes on.
      }
    }
  }

  health(now = performance.now()): ReaderHealth {
    const window = this.config.stallWindowMs || Infinity;
    let stuck = false;
    const partitions: PartitionHealth[] = this.fetcher.all().map((p) => {
      const c = this.clocks.get(partitionKey(p.topic, p.partition));
      const sinceProgressMs = Math.round(now - (c?.progressAt ?? now));
      // Waiting for the caller to read is no stall: the excuse counts as an answer here.
      const sinceAnswerOrExcuse = now - Math.max(p.answeredAt, c?.excusedAt ?? -Infinity);
      if (!p.paused && !p.failed && (sinceProgressMs > window || sinceAnswerOrExcuse > this.config.maxWaitMs + window)) stuck = true;
      return {
        topic: p.topic,
        partition: p.partition,
        position: p.position,
        highWatermark: p.highWatermark,
        leader: p.leader,
        paused: p.paused,
        failed: p.failed,
        sinceProgressMs,
        sinceAnswerMs: Math.round(now - p.answeredAt),
      };
    });
    const g = this.membership;
    const sinceHeartbeatMs = g ? (g.lastHeartbeatOk >= 0 ? Math.round(now - g.lastHeartbeatOk) : -1) : null;
    const heartbeatLate = g !== null && g.stable && sinceHeartbeatMs !== null && sinceHeartbeatMs > this.config.sessionTimeoutMs;
    return { healthy: !stuck && !heartbeatLate, stalls: this.stalls, lastStall: this.lastStall, sinceHeartbeatMs, partitions };
  }
}
