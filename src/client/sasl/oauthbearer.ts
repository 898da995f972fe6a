// RFC 7628 client initial response, as Kafka expects it: gs2 header, auth=Bearer token, extensions.
import { AuthenticationError } from '../../protocol/errors.ts';
import type { SaslMechanism } from './index.ts';

export interface OAuthBearerToken {
  /** The compact JWS the broker validates. */
  value: string;
  /** SASL extensions (KIP-342), sent as key=value pairs. */
  extensions?: Record<string, string>;
}

const utf8 = new TextEncoder();
const SEP = '\u0001';

export function oauthBearer(provider: () => OAuthBearerToken | Promise<OAuthBearerToken>): SaslMechanism {
  return {
    async first() {
      const token = await provider();
      const ext = Object.entries(token.extensions ?? {})
        .map(([k, v]) => `${k}=${v}${SEP}`)
        .join('');
      return utf8.encode(`n,,${SEP}auth=Bearer ${token.value}${SEP}${ext}${SEP}`);
    },
    next(server) {
      // A non-empty server message here is an error report (RFC 7628 §3.2.2).
      if (server.length > 0) {
        throw new AuthenticationError(`OAUTHBEARER rejected: ${new TextDecoder().decode(server)}`);
      }
      return null;
    },
  };
}
