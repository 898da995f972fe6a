// The "consumer" embedded protocol of classic groups: a member's subscription (JoinGroup metadata)
// and its assignment (SyncGroup), each a version prefix followed by the versioned struct.
import {
  ConsumerProtocolAssignmentCodec,
  ConsumerProtocolSubscriptionCodec,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolSubscription,
} from '../../../protocol/messages/index.ts';
import { ByteReader, ByteWriter } from '../../../protocol/wire/index.ts';
import type { TopicPartition } from './assignors.ts';

export const SUBSCRIPTION_VERSION = 3;

export function encodeSubscription(topics: string[], owned: TopicPartition[], generationId: number): Uint8Array {
  const byTopic = new Map<string, number[]>();
  for (const tp of owned) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const w = new ByteWriter(64);
  w.int16(SUBSCRIPTION_VERSION);
  ConsumerProtocolSubscriptionCodec.encode(w, SUBSCRIPTION_VERSION, {
    topics,
    userData: null,
    ownedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    generationId,
    rackId: null,
  });
  return w.finish().slice();
}

export function decodeSubscription(b: Uint8Array): ConsumerProtocolSubscription & { version: number } {
  const r = new ByteReader(b);
  const version = r.int16();
  // Newer versions only add fields at the end: read what this codec knows.
  const s = ConsumerProtocolSubscriptionCodec.decode(r, Math.min(version, ConsumerProtocolSubscriptionCodec.maxVersion));
  return { ...s, version };
}

export function encodeAssignment(byTopic: Map<string, number[]>, version: number): Uint8Array {
  const v = Math.max(0, Math.min(version, ConsumerProtocolAssignmentCodec.maxVersion));
  const w = new ByteWriter(64);
  w.int16(v);
  ConsumerProtocolAssignmentCodec.encode(w, v, {
    assignedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    userData: null,
  });
  return w.finish().slice();
}

export function decodeAssignment(b: Uint8Array): ConsumerProtocolAssignment {
  // An empty assignment (the member got nothing, or the group is rebalancing) may come as zero bytes.
  if (b.length < 2) return { assignedPartitions: [], userData: null };
  const r = new ByteReader(b);
  const version = r.int16();
  return ConsumerProtocolAssignmentCodec.decode(r, Math.min(version, ConsumerProtocolAssignmentCodec.maxVersion));
}
