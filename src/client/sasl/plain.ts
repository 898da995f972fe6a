// RFC 4616: one message, authzid NUL authcid NUL password.
import type { SaslMechanism } from './index.ts';

const utf8 = new TextEncoder();

export function plain(username: string, password: string): SaslMechanism {
  return {
    first: () => utf8.encode(`\u0000${username}\u0000${password}`),
    next: () => null,
  };
}
