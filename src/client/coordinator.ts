// Group and transaction coordinators: found with FindCoordinator, cached per key, forgotten when the
// broker says it no longer is (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE).
import { Api, ErrorCode } from '../protocol/messages/index.ts';
import { KafkaProtocolError } from '../protocol/errors.ts';
import type { CallOptions, Cluster } from './cluster.ts';
import type { Connection } from './connection.ts';
import type { Purpose } from './pool.ts';

export type CoordinatorType = 'group' | 'transaction';

export class Coordinators {
  private readonly cache = new Map<string, number>();

  constructor(private readonly cluster: Cluster) {}

  async nodeId(key: string, type: CoordinatorType = 'group', opts: CallOptions = {}): Promise<number> {
    const cacheKey = `${type}:${key}`;
    const known = this.cache.get(cacheKey);
    if (known !== undefined) return known;
    const res = await this.cluster.call((o) => this.cluster.anyConnection('control', o), Api.FindCoordinator, (conn) => {
      const keyType = type === 'group' ? 0 : 1;
      return conn.version(Api.FindCoordinator) >= 4 ? { keyType, coordinatorKeys: [key] } : { key, keyType };
    }, opts);
    const c = res.coordinators?.length ? res.coordinators[0] : res;
    if (c.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(c.errorCode, `FindCoordinator(${type} ${key}): ${c.errorMessage ?? ''}`);
    this.cache.set(cacheKey, c.nodeId);
    return c.nodeId;
  }

  async connection(key: string, purpose: Purpose, type: CoordinatorType = 'group', opts: CallOptions = {}): Promise<Connection> {
    return this.cluster.brokerConnection(await this.nodeId(key, type, opts), purpose, opts);
  }

  /** Forgets the coordinator of key when `code` says it moved. Returns true when it did. */
  forgetOn(code: number, key: string, type: CoordinatorType = 'group'): boolean {
    if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
      this.cache.delete(`${type}:${key}`);
      return true;
    }
    return false;
  }

  forget(key: string, type: CoordinatorType = 'group'): void {
    this.cache.delete(`${type}:${key}`);
  }

  /** Forgets the coordinator of key and closes our connections to it for `purposes`: it stopped answering. */
  reset(key: string, purposes: Purpose[], type: CoordinatorType = 'group'): void {
    const node = this.cache.get(`${type}:${key}`);
    this.forget(key, type);
    if (node !== undefined) for (const purpose of purposes) this.cluster.closeConnection(node, purpose);
  }
}
