// SASL over Kafka: SaslHandshake names the mechanism, then SaslAuthenticate carries its messages.
// Each mechanism is a small state machine that turns the server's message into the next client message.
import { Api, ErrorCode, type ApiCodec } from '../../protocol/messages/index.ts';
import { AuthenticationError, UnsupportedVersionError } from '../../protocol/errors.ts';
import { plain } from './plain.ts';
import { scram } from './scram.ts';
import { oauthBearer, type OAuthBearerToken } from './oauthbearer.ts';

export type { OAuthBearerToken } from './oauthbearer.ts';

export type SaslConfig =
  | { mechanism: 'PLAIN'; username: string; password: string }
  | { mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  | { mechanism: 'OAUTHBEARER'; token: () => OAuthBearerToken | Promise<OAuthBearerToken> };

/** One mechanism's conversation: the first message, then an answer to each server message. */
export interface SaslMechanism {
  first(): Uint8Array | Promise<Uint8Array>;
  /** Returns the next message, or null when the exchange is complete; throws if the server is wrong. */
  next(server: Uint8Array): Uint8Array | null | Promise<Uint8Array | null>;
}

type Send = (api: ApiCodec<unknown, unknown>, body: unknown, version: number) => Promise<unknown>;
interface VersionSource {
  version(api: ApiCodec<unknown, unknown>): number;
}

function mechanismFor(cfg: SaslConfig): SaslMechanism {
  switch (cfg.mechanism) {
    case 'PLAIN':
      return plain(cfg.username, cfg.password);
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512':
      return scram(cfg.mechanism, cfg.username, cfg.password);
    case 'OAUTHBEARER':
      return oauthBearer(cfg.token);
    default:
      throw new AuthenticationError(`unknown SASL mechanism ${(cfg as { mechanism: string }).mechanism}`);
  }
}

/** Runs the whole exchange; resolves with the session lifetime the broker granted (0: unlimited). */
export async function authenticate(send: Send, versions: VersionSource, cfg: SaslConfig): Promise<number> {
  const mech = mechanismFor(cfg);
  const hv = versions.version(Api.SaslHandshake as ApiCodec<unknown, unknown>);
  if (hv < 1) throw new UnsupportedVersionError('SaslHandshake v1 (SaslAuthenticate framing) is required');
  const hs = (await send(Api.SaslHandshake as ApiCodec<unknown, unknown>, { mechanism: cfg.mechanism }, hv)) as {
    errorCode: number;
    mechanisms: string[];
  };
  if (hs.errorCode !== ErrorCode.NONE) {
    throw new AuthenticationError(
      `SASL mechanism ${cfg.mechanism} is not enabled on the broker (it offers ${hs.mechanisms.join(', ') || 'none'})`,
    );
  }
  const av = versions.version(Api.SaslAuthenticate as ApiCodec<unknown, unknown>);
  let msg: Uint8Array | null = await mech.first();
  let lifetime = 0;
  while (msg) {
    const res = (await send(Api.SaslAuthenticate as ApiCodec<unknown, unknown>, { authBytes: msg }, av)) as {
      errorCode: number;
      errorMessage: string | null;
      authBytes: Uint8Array;
      sessionLifetimeMs?: bigint;
    };
    if (res.errorCode !== ErrorCode.NONE) {
      throw new AuthenticationError(`SASL ${cfg.mechanism} authentication failed: ${res.errorMessage ?? `error ${res.errorCode}`}`);
    }
    lifetime = Number(res.sessionLifetimeMs ?? 0n);
    msg = await mech.next(res.authBytes);
  }
  return lifetime;
}
