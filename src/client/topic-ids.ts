// Topic names and ids for requests that name topics by id from some version on (Produce v13,
// OffsetCommit v10, OffsetFetch v10, TxnOffsetCommit v6; KIP-516). A request carries both; the codec
// writes the one its version has, and a response is read back by whichever it carries.
import { ZERO_UUID } from '../protocol/wire/index.ts';
import type { CallOptions, Cluster } from './cluster.ts';

export interface TopicIds {
  /** The topic's id, or the zero uuid when the cluster has none for it. */
  id(name: string): string;
  /** The name of a response's topic entry: its own name where the version has one, else by its id. */
  name(t: { name?: string | null; topicId?: string }): string;
}

/** Ids of `names`, from metadata (refreshed only when it lacks one of them). */
export async function topicIds(cluster: Cluster, names: string[], opts: CallOptions = {}): Promise<TopicIds> {
  const m = names.length ? await cluster.metadata(names, opts) : cluster.current;
  return fromTopics(names.map((n) => [n, m?.topics.get(n)?.topicId || ZERO_UUID]));
}

/** Names and ids of every topic of the cluster (for responses about topics the caller did not name). */
export async function allTopicIds(cluster: Cluster, opts: CallOptions = {}): Promise<TopicIds> {
  const m = await cluster.refreshMetadata({ ...opts, topics: null });
  return fromTopics([...m.topics.values()].map((t) => [t.name, t.topicId || ZERO_UUID]));
}

function fromTopics(pairs: [string, string][]): TopicIds {
  const byName = new Map(pairs);
  const byId = new Map(pairs.map(([n, id]) => [id, n]));
  return {
    id: (name) => byName.get(name) ?? ZERO_UUID,
    name: (t) => t.name || (t.topicId !== undefined ? byId.get(t.topicId) : undefined) || t.topicId || '',
  };
}
