// A request to a coordinator (a consumer group's, or a transactional id's), following it when it
// moves: the one route used by the admin Client, both group memberships of the Reader and the
// transactional Writer.
import type { ApiCodec, Encodable } from '../protocol/codec.ts';
import { KafkaProtocolError } from '../protocol/errors.ts';
import type { CallOptions, Cluster } from './cluster.ts';
import type { Connection } from './connection.ts';
import type { CoordinatorType, Coordinators } from './coordinator.ts';
import { ErrorCode } from '../protocol/messages/index.ts';

/**
 * Sends `body` (or the body for the negotiated version) to the group's coordinator with the cluster's
 * retry policy. `errorOf` picks the response's error code: coordinator errors forget the cached
 * coordinator and go back through the retry policy; with `throwAny`, every non-zero code is thrown
 * there (a retriable one is then retried), else the caller inspects the response itself.
 */
export function groupCall<Req, Res>(
  cluster: Cluster,
  coordinators: Coordinators,
  groupId: string,
  api: ApiCodec<Req, Res>,
  body: Encodable<Req> | ((version: number) => Encodable<Req>),
  errorOf: (res: Res) => number,
  opts: CallOptions,
  throwAny = false,
): Promise<Res> {
  return coordinatorCall(cluster, coordinators, { key: groupId, type: 'group' }, api, body, errorOf, opts, throwAny ? (code) => new KafkaProtocolError(code, `${api.name} ${groupId}`) : undefined);
}

/**
 * groupCall for any coordinator. `toError`, when given, turns every non-zero code into the error
 * thrown (retried when retriable); without it only coordinator errors are thrown.
 */
export function coordinatorCall<Req, Res>(
  cluster: Cluster,
  coordinators: Coordinators,
  of: { key: string; type: CoordinatorType },
  api: ApiCodec<Req, Res>,
  body: Encodable<Req> | ((version: number, conn: Connection) => Encodable<Req>),
  errorOf: (res: Res) => number,
  opts: CallOptions & { retryUntil?: number; version?: (conn: Connection) => number },
  toError?: (code: number) => Error,
): Promise<Res> {
  return cluster.call(
    (o) => coordinators.connection(of.key, 'admin', of.type, o),
    api,
    (conn) => (typeof body === 'function' ? (body as (v: number, c: Connection) => Encodable<Req>)(conn.version(api), conn) : body),
    {
      ...opts,
      check: (res) => {
        const code = errorOf(res);
        if (code === ErrorCode.NONE) return;
        const coordinatorMoved = coordinators.forgetOn(code, of.key, of.type);
        if (toError) throw toError(code);
        if (coordinatorMoved || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
          throw new KafkaProtocolError(code, `${api.name} ${of.key}`);
        }
      },
    },
  );
}
