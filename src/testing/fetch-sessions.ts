// The broker side of incremental fetch sessions (KIP-227), as Kafka serves them: a full fetch with
// epoch 0 opens a session (closing the one it names), later fetches name only changed partitions at
// the next epoch, and the answer leaves out partitions with nothing new. A broker that stops loses its
// sessions, as a restarted Kafka broker does.
import { ErrorCode, type FetchRequest, type FetchRequestFetchPartition } from '../protocol/messages/index.ts';

/** One partition of a session and the marks last sent for it. */
interface HeldPartition {
  topic: string;
  topicId: string;
  fields: FetchRequestFetchPartition;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
}

interface Session {
  epoch: number;
  parts: Map<string, HeldPartition>;
}

/** What a Fetch asks for once its session is applied. */
export interface SessionView {
  /** Answered in the response's sessionId (0: no session). */
  sessionId: number;
  /** Only changed partitions are answered. */
  incremental: boolean;
  topics: { topic: string; topicId: string; partitions: FetchRequestFetchPartition[] }[];
  /** Records the marks sent for a partition; false when the partition has nothing new to say. */
  changed(topicKey: string, partition: number, marks: { errorCode: number; records: Uint8Array | null; highWatermark: bigint; lastStableOffset: bigint; logStartOffset: bigint }): boolean;
}

/** Kafka's fetch session cache has 1000 slots by default; a fake needs far fewer. */
const MAX_SESSIONS = 1000;

export class FetchSessionCache {
  private readonly sessions = new Map<number, Session>();
  private nextId = 1;

  get size(): number {
    return this.sessions.size;
  }

  clear(): void {
    this.sessions.clear();
  }

  /** The partitions `req` fetches, or the session error code to answer. `byId`: Fetch v13+ names topics by id. */
  open(req: FetchRequest, byId: boolean): SessionView | number {
    const tkey = (topic: string, topicId: string) => (byId ? topicId : topic);
    const pkey = (t: string, p: number) => `${t}\u0000${p}`;
    const { sessionId, sessionEpoch } = req;
    if (sessionEpoch === 0 || sessionEpoch === -1) {
      if (sessionId) this.sessions.delete(sessionId);
      const topics = req.topics.map((ft) => ({ topic: ft.topic, topicId: ft.topicId, partitions: ft.partitions }));
      if (sessionEpoch === -1 || this.sessions.size >= MAX_SESSIONS) return { sessionId: 0, incremental: false, topics, changed: () => true };
      const id = this.nextId++;
      const parts = new Map<string, HeldPartition>();
      for (const ft of req.topics) for (const fp of ft.partitions) parts.set(pkey(tkey(ft.topic, ft.topicId), fp.partition), held(ft.topic, ft.topicId, fp));
      const s: Session = { epoch: 1, parts };
      this.sessions.set(id, s);
      return { sessionId: id, incremental: false, topics, changed: (t, p, marks) => note(s.parts.get(pkey(t, p)), marks, true) };
    }
    if (!sessionId) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
    const s = this.sessions.get(sessionId);
    if (!s) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
    if (s.epoch !== sessionEpoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
    s.epoch = sessionEpoch >= 0x7fffffff ? 1 : sessionEpoch + 1;
    const named = new Set<string>();
    for (const ft of req.topics) {
      for (const fp of ft.partitions) {
        const k = pkey(tkey(ft.topic, ft.topicId), fp.partition);
        named.add(k);
        const h = s.parts.get(k);
        if (h) h.fields = fp;
        else s.parts.set(k, held(ft.topic, ft.topicId, fp));
      }
    }
    for (const ft of req.forgottenTopicsData) for (const p of ft.partitions) s.parts.delete(pkey(tkey(ft.topic, ft.topicId), p));
    const grouped = new Map<string, SessionView['topics'][number]>();
    for (const h of s.parts.values()) {
      const t = tkey(h.topic, h.topicId);
      let g = grouped.get(t);
      if (!g) grouped.set(t, (g = { topic: h.topic, topicId: h.topicId, partitions: [] }));
      g.partitions.push(h.fields);
    }
    return {
      sessionId,
      incremental: true,
      topics: [...grouped.values()],
      // A partition named in this request is always answered, as a newly added one must be.
      changed: (t, p, marks) => note(s.parts.get(pkey(t, p)), marks, named.has(pkey(t, p))),
    };
  }
}

function held(topic: string, topicId: string, fields: FetchRequestFetchPartition): HeldPartition {
  return { topic, topicId, fields, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n };
}

function note(h: HeldPartition | undefined, m: Parameters<SessionView['changed']>[2], always: boolean): boolean {
  if (!h) return true;
  const changed = always || m.errorCode !== ErrorCode.NONE || !!m.records?.length || m.highWatermark !== h.highWatermark || m.lastStableOffset !== h.lastStableOffset || m.logStartOffset !== h.logStartOffset;
  h.highWatermark = m.highWatermark;
  h.lastStableOffset = m.lastStableOffset;
  h.logStartOffset = m.logStartOffset;
  return changed;
}
