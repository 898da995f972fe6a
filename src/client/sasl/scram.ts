// RFC 5802 SCRAM as Kafka runs it (no channel binding). The server's final signature is verified, so
// a man in the middle that does not know the password cannot pretend to be the broker.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../../protocol/errors.ts';
import type { SaslMechanism } from './index.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** RFC 5802 §5.1: ',' and '=' in names are escaped. */
const saslName = (s: string) => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

function parse(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i), part.slice(i + 1));
  }
  return out;
}

function pbkdf2Async(password: string, salt: Buffer, iterations: number, keylen: number, digest: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, iterations, keylen, digest, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export function scram(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username: string, password: string): SaslMechanism {
  const digest = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const keylen = mechanism === 'SCRAM-SHA-256' ? 32 : 64;
  const nonce = randomBytes(24).toString('base64');
  const clientFirstBare = `n=${saslName(username)},r=${nonce}`;
  let step = 0;
  let serverSignature: Buffer | null = null;
  const hmac = (key: Buffer, data: string) => createHmac(digest, key).update(data).digest();

  return {
    first: () => utf8.encode(`n,,${clientFirstBare}`),
    async next(server) {
      const msg = text.decode(server);
      const attrs = parse(msg);
      if (attrs.has('e')) throw new AuthenticationError(`${mechanism} failed: ${attrs.get('e')}`);
      if (step++ === 0) {
        const r = attrs.get('r');
        const s = attrs.get('s');
        const i = Number(attrs.get('i'));
        if (!r || !s || !r.startsWith(nonce) || !Number.isInteger(i) || i < 1) {
          throw new AuthenticationError(`${mechanism}: malformed server-first-message`);
        }
        // Kafka's minimum is 4096; a tiny count would make the stored key cheap to brute-force.
        if (i < 4096) throw new AuthenticationError(`${mechanism}: server asked for only ${i} iterations`);
        const salted = await pbkdf2Async(password, Buffer.from(s, 'base64'), i, keylen, digest);
        const clientKey = hmac(salted, 'Client Key');
        const storedKey = createHash(digest).update(clientKey).digest();
        const withoutProof = `c=biws,r=${r}`;
        const authMessage = `${clientFirstBare},${msg},${withoutProof}`;
        const clientSignature = hmac(storedKey, authMessage);
        const proof = Buffer.alloc(clientKey.length);
        for (let k = 0; k < proof.length; k++) proof[k] = clientKey[k] ^ clientSignature[k];
        serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
        return utf8.encode(`${withoutProof},p=${proof.toString('base64')}`);
      }
      const v = attrs.get('v');
      const got = v ? Buffer.from(v, 'base64') : Buffer.alloc(0);
      if (!serverSignature || got.length !== serverSignature.length || !timingSafeEqual(got, serverSignature)) {
        throw new AuthenticationError(`${mechanism}: the broker's signature does not match; it does not know the password`);
      }
      return null;
    },
  };
}
