// Incremental fetch sessions (KIP-227), one per broker a Reader fetches from. The broker remembers the
// partitions of a session and where each stands, so a fetch names only what changed since the last
// one (a moved position, a new or dropped partition) and the response carries only partitions with
// news: an idle partition costs no bytes per fetch on either side. The session is a sequence of
// requests numbered by epoch; whatever breaks the sequence (an error, a timeout, a second request
// while one is out) starts a new session with a full fetch, which is always correct.
import { ErrorCode, type Encodable, type FetchRequestFetchPartition, type FetchRequestFetchTopic, type FetchRequestForgottenTopic, type FetchResponse } from '../../protocol/messages/index.ts';

/** Sessions came with Fetch v7. */
export const FETCH_SESSION_MIN_VERSION = 7;

/** One partition as a fetch wants it now. */
export interface WantedPartition {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly fields: Encodable<FetchRequestFetchPartition>;
}

/** The session fields and partition lists of one Fetch request. */
export interface SessionFetch {
  sessionId: number;
  sessionEpoch: number;
  topics: Encodable<FetchRequestFetchTopic>[];
  forgottenTopicsData: Encodable<FetchRequestForgottenTopic>[];
  /** Hand back to `answered` or `failed`; a ticket of a superseded sequence changes nothing. */
  readonly ticket: object;
  /** Every wanted partition was named (a full fetch, or a sessionless one). */
  readonly full: boolean;
}

/** session id 0, epoch -1: no session (KIP-227's "sessionless" full fetch). */
const NO_SESSION = { id: 0, epoch: -1 };
const FULL_EPOCH = 0;
/** Epochs wrap to 1, never to 0 (which means "start over"). */
const nextEpoch = (e: number) => (e >= 0x7fffffff ? 1 : e + 1);

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Errors that mean the broker lost or no longer trusts the session: start a new one. */
export function isSessionError(code: number): boolean {
  return code === ErrorCode.FETCH_SESSION_ID_NOT_FOUND || code === ErrorCode.INVALID_FETCH_SESSION_EPOCH || code === ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR;
}

export class FetchSession {
  /** Session id the broker gave (0: none yet). */
  private id = 0;
  /** Epoch of the next request; FULL_EPOCH starts a session (closing `id` if there is one). */
  private epoch = FULL_EPOCH;
  /** What the broker holds for this session: the last fields sent per partition. */
  private readonly held = new Map<string, WantedPartition>();
  /** The ticket of the request whose answer the next request depends on. */
  private pending: object | null = null;
  /** Requests answered in this session so far (incremental ones). */
  incremental = 0;

  constructor(private readonly enabled: boolean) {}

  get sessionId(): number {
    return this.id;
  }

  /** The fields for a fetch of `wanted` (every partition the loop fetches, changed or not). */
  next(wanted: readonly WantedPartition[], version: number): SessionFetch {
    const ticket = {};
    if (!this.enabled || version < FETCH_SESSION_MIN_VERSION) {
      this.pending = null;
      return { sessionId: NO_SESSION.id, sessionEpoch: NO_SESSION.epoch, topics: group(wanted), forgottenTopicsData: [], ticket, full: true };
    }
    // A request still out makes the epoch of this one unknown: start over rather than guess.
    if (this.pending) this.restart(false);
    this.pending = ticket;
    if (this.epoch === FULL_EPOCH || this.idChanged(wanted)) {
      this.epoch = FULL_EPOCH;
      this.held.clear();
      for (const w of wanted) this.held.set(key(w.topic, w.partition), w);
      return { sessionId: this.id, sessionEpoch: FULL_EPOCH, topics: group(wanted), forgottenTopicsData: [], ticket, full: true };
    }
    const changed: WantedPartition[] = [];
    const keep = new Set<string>();
    for (const w of wanted) {
      const k = key(w.topic, w.partition);
      keep.add(k);
      const h = this.held.get(k);
      if (!h || !same(h.fields, w.fields)) changed.push(w);
      this.held.set(k, w);
    }
    const forgotten: WantedPartition[] = [];
    for (const [k, h] of this.held) {
      if (keep.has(k)) continue;
      forgotten.push(h);
      this.held.delete(k);
    }
    return { sessionId: this.id, sessionEpoch: this.epoch, topics: group(changed), forgottenTopicsData: groupForgotten(forgotten), ticket, full: false };
  }

  /** The broker answered the request of `ticket`. */
  answered(ticket: object, res: FetchResponse): void {
    if (ticket !== this.pending) return;
    this.pending = null;
    if (res.errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND) return this.restart(true);
    if (res.errorCode !== ErrorCode.NONE) return this.restart(false);
    if (this.epoch === FULL_EPOCH) {
      // sessionId 0: the broker would not make a session (its cache is full, or it has none); the
      // next fetch asks again, in full.
      this.id = res.sessionId;
      this.epoch = res.sessionId === 0 ? FULL_EPOCH : 1;
      return;
    }
    this.incremental++;
    this.epoch = nextEpoch(this.epoch);
  }

  /** The request of `ticket` got no answer (timeout, closed socket, abort): the broker may or may not have seen it. */
  failed(ticket: object): void {
    if (ticket !== this.pending) return;
    this.pending = null;
    this.restart(false);
  }

  /** The fields that end the session on the broker (epoch -1, no partitions), or null when there is none. */
  closing(): { sessionId: number; sessionEpoch: number } | null {
    if (!this.id) return null;
    const id = this.id;
    this.id = 0;
    this.restart(true);
    return { sessionId: id, sessionEpoch: -1 };
  }

  /** The next fetch is full; it closes the old session on the broker unless that one is already gone. */
  private restart(forgetId: boolean): void {
    if (forgetId) this.id = 0;
    this.epoch = FULL_EPOCH;
    this.held.clear();
    this.pending = null;
  }

  /** A topic recreated under the same name has a new id: the broker would refuse the mix, so start over. */
  private idChanged(wanted: readonly WantedPartition[]): boolean {
    for (const w of wanted) {
      const h = this.held.get(key(w.topic, w.partition));
      if (h && h.topicId !== w.topicId) return true;
    }
    return false;
  }
}

function same(a: Encodable<FetchRequestFetchPartition>, b: Encodable<FetchRequestFetchPartition>): boolean {
  return (
    a.fetchOffset === b.fetchOffset &&
    a.currentLeaderEpoch === b.currentLeaderEpoch &&
    a.partitionMaxBytes === b.partitionMaxBytes &&
    a.lastFetchedEpoch === b.lastFetchedEpoch &&
    a.logStartOffset === b.logStartOffset
  );
}

function group(parts: readonly WantedPartition[]): Encodable<FetchRequestFetchTopic>[] {
  const out: Encodable<FetchRequestFetchTopic>[] = [];
  const topics = new Map<string, Encodable<FetchRequestFetchPartition>[]>();
  for (const w of parts) {
    let list = topics.get(w.topic);
    if (!list) {
      topics.set(w.topic, (list = []));
      out.push({ topic: w.topic, topicId: w.topicId, partitions: list });
    }
    list.push(w.fields);
  }
  return out;
}

function groupForgotten(parts: readonly WantedPartition[]): Encodable<FetchRequestForgottenTopic>[] {
  const out: Encodable<FetchRequestForgottenTopic>[] = [];
  const topics = new Map<string, number[]>();
  for (const w of parts) {
    let list = topics.get(w.topic);
    if (!list) {
      topics.set(w.topic, (list = []));
      out.push({ topic: w.topic, topicId: w.topicId, partitions: list });
    }
    list.push(w.partition);
  }
  return out;
}
