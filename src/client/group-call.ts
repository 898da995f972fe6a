// A request to a consumer group's coordinator, following it when it moves: the one route used by the
// admin Client and by both group memberships of the Reader.
import type { ApiCodec, Encodable } from '../protocol/codec.ts';
import { KafkaProtocolError } from '../protocol/errors.ts';
import type { CallOptions, Cluster } from './cluster.ts';
import type { Coordinators } from './coordinator.ts';
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
  return cluster.call(
    (o) => coordinators.connection(groupId, 'admin', 'group', o),
    api,
    (conn) => (typeof body === 'function' ? (body as (v: number) => Encodable<Req>)(conn.version(api)) : body),
    {
      ...opts,
      check: (res) => {
        const code = errorOf(res);
        if (code === ErrorCode.NONE) return;
        const coordinatorMoved = coordinators.forgetOn(code, groupId);
        if (throwAny || coordinatorMoved || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
          throw new KafkaProtocolError(code, `${api.name} ${groupId}`);
        }
      },
    },
  );
}
