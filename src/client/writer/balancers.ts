// Partition choice for the Writer, after kafka-go's Balancer: given a message and the topic's
// partitions (ascending ids), return one of them. Keyed choices must match other clients byte for byte,
// so each hash is the exact algorithm its ecosystem uses.
import CRC32 from 'crc-32';

export interface BalancerMessage {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

export interface Balancer {
  balance(msg: BalancerMessage, partitions: readonly number[]): number;
}

/** Each message to the next partition in turn, `chunkSize` messages at a time (kafka-go RoundRobin). */
export class RoundRobin implements Balancer {
  private next = 0;
  private used = 0;
  constructor(private readonly chunkSize = 1) {}
  balance(_msg: BalancerMessage, partitions: readonly number[]): number {
    const p = partitions[this.next % partitions.length];
    if (++this.used >= this.chunkSize) {
      this.used = 0;
      this.next = (this.next + 1) % 0x7fffffff;
    }
    return p;
  }
}

/** The partition that has been sent the fewest bytes so far (kafka-go LeastBytes). */
export class LeastBytes implements Balancer {
  private readonly bytes = new Map<number, number>();
  balance(msg: BalancerMessage, partitions: readonly number[]): number {
    let best = partitions[0];
    let least = Infinity;
    for (const p of partitions) {
      const b = this.bytes.get(p) ?? 0;
      if (b < least) {
        least = b;
        best = p;
      }
    }
    this.bytes.set(best, least + (msg.key?.length ?? 0) + (msg.value?.length ?? 0));
    return best;
  }
}

/** FNV-1a 32 of the key, as kafka-go's Hash balancer (and Sarama's default); unkeyed: round-robin. */
export class Hash implements Balancer {
  private readonly fallback = new RoundRobin();
  balance(msg: BalancerMessage, partitions: readonly number[]): number {
    if (!msg.key) return this.fallback.balance(msg, partitions);
    let h = 0x811c9dc5;
    for (let i = 0; i < msg.key.length; i++) h = Math.imul(h ^ msg.key[i], 0x01000193);
    // kafka-go converts to int32 before the modulo and then takes the absolute value.
    let p = (h | 0) % partitions.length;
    if (p < 0) p = -p;
    return partitions[p];
  }
}

/**
 * CRC-32 (IEEE) of the key, as an unsigned number, modulo the partition count: librdkafka's
 * "consistent_random" (or "consistent" with `consistent`), Sarama's NewConsistentCRCHashPartitioner,
 * kafka-go's CRC32Balancer. Like librdkafka, an empty key counts as no key.
 */
export class CRC32Balancer implements Balancer {
  private readonly fallback = new RoundRobin();
  constructor(private readonly consistent = false) {}
  balance(msg: BalancerMessage, partitions: readonly number[]): number {
    if ((!msg.key || msg.key.length === 0) && !this.consistent) return this.fallback.balance(msg, partitions);
    const h = CRC32.buf(msg.key ?? new Uint8Array(0)) >>> 0;
    return partitions[h % partitions.length];
  }
}

/** Kafka's murmur2 (Utils.murmur2 in the Java client): signed 32-bit result. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) {
    h ^= data[tail];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The Java client's default partitioner for keyed messages: toPositive(murmur2(key)) % partitions.
 * Unkeyed messages stick to one partition for `stickyCount` messages, then move on, so they travel in
 * full batches instead of one record per partition per batch (KIP-480's idea).
 */
export class Murmur2Balancer implements Balancer {
  private sticky = -1;
  private used = 0;
  constructor(private readonly stickyCount = 100) {}
  balance(msg: BalancerMessage, partitions: readonly number[]): number {
    if (msg.key) return partitions[(murmur2(msg.key) & 0x7fffffff) % partitions.length];
    if (this.sticky < 0 || this.used >= this.stickyCount || !partitions.includes(this.sticky)) {
      const choices = partitions.length > 1 ? partitions.filter((p) => p !== this.sticky) : partitions;
      this.sticky = choices[Math.floor(Math.random() * choices.length)];
      this.used = 0;
    }
    this.used++;
    return this.sticky;
  }
}
