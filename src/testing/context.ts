// What a request handler sees: the cluster's state and coordinators, the broker and listener the
// request came in on, and the connection (its SASL session, a signal that fires when it closes).
import type { ApiCodec, Encodable } from '../protocol/messages/index.ts';
import type { ClassicGroups } from './groups.ts';
import type { ConsumerGroups } from './consumer-groups.ts';
import type { ClusterState } from './state.ts';
import type { SaslConfig } from './sasl.ts';
import type { Transactions } from './txn.ts';

/** A listener's name and the port each broker has on it (metadata answers with the caller's listener). */
export interface ListenerView {
  name: string;
  host: string;
  ports: ReadonlyMap<number, number>;
  /** Clients authenticate with SASL on this listener. */
  sasl: boolean;
}

export interface SessionState {
  /** SASL: mechanism chosen by SaslHandshake, and the exchange in progress. */
  mechanism: string | null;
  exchange: ((bytes: Uint8Array) => { ok: boolean; reply: Uint8Array; done: boolean; error?: string }) | null;
  authenticated: boolean;
  principal: string | null;
  /** Monotonic ms after which the session must re-authenticate (KIP-368); Infinity when it never expires. */
  expiresAt: number;
  /** A failed authentication: answer it, then close, as Kafka does. */
  closeAfterReply: boolean;
}

export interface ClusterServices {
  readonly state: ClusterState;
  readonly groups: ClassicGroups;
  readonly consumerGroups: ConsumerGroups;
  readonly transactions: Transactions;
  readonly sasl: SaslConfig | null;
  /** Highest version listed for an API in ApiVersions (an override, or what the fake implements). */
  maxVersion(apiKey: number): number;
  listed(): { apiKey: number; minVersion: number; maxVersion: number }[];
}

export interface RequestContext {
  readonly services: ClusterServices;
  readonly state: ClusterState;
  readonly brokerId: number;
  readonly listener: ListenerView;
  readonly version: number;
  readonly clientId: string;
  readonly clientHost: string;
  readonly session: SessionState;
  /** Fires when the connection closes or the broker stops: long polls and group waits end with it. */
  readonly signal: AbortSignal;
}

/** Returned by a handler that must not answer (Produce with acks=0). */
export const NO_RESPONSE = Symbol('no response');

export type Answer<Res> = Encodable<Res> | typeof NO_RESPONSE;

export interface ApiHandler {
  readonly codec: ApiCodec<unknown, unknown>;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(ctx: RequestContext, request: unknown): Promise<Answer<unknown>> | Answer<unknown>;
}

/** Binds a handler to its API's codec, keeping the request and response types together. */
export function handler<Req, Res>(
  codec: ApiCodec<Req, Res>,
  handle: (ctx: RequestContext, request: Req) => Promise<Answer<Res>> | Answer<Res>,
  versions: { min?: number; max?: number } = {},
): ApiHandler {
  return {
    codec: codec as unknown as ApiCodec<unknown, unknown>,
    minVersion: versions.min ?? codec.minVersion,
    maxVersion: versions.max ?? codec.maxVersion,
    handle: handle as ApiHandler['handle'],
  };
}

/** Resolves after `ms`, or at once when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
