// The server side of SASL: PLAIN, SCRAM-SHA-256/512 (RFC 5802, as Kafka's ScramSaslServer) and
// OAUTHBEARER with unsecured tokens (as Kafka's default unsecured validator: any well-formed token
// with a subject). SaslHandshake picks the mechanism; SaslAuthenticate carries the exchange.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { Api, ErrorCode } from '../protocol/messages/index.ts';
import { handler, type ApiHandler, type SessionState } from './context.ts';

export interface SaslUser {
  username: string;
  password: string;
}

export interface SaslConfig {
  mechanisms: string[];
  users: SaslUser[];
  /** Answered as session lifetime, after which the client must re-authenticate (KIP-368); 0 = none. */
  sessionLifetimeMs: number;
}

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];
const SCRAM_ITERATIONS = 4096;

type Step = { ok: boolean; reply: Uint8Array; done: boolean; error?: string };
type Exchange = (bytes: Uint8Array) => Step;

const utf8 = new TextEncoder();
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const fail = (error: string): Step => ({ ok: false, reply: new Uint8Array(0), done: true, error });

function plain(cfg: SaslConfig, session: SessionState): Exchange {
  return (bytes) => {
    const [, user, pass] = text(bytes).split('\u0000');
    const u = cfg.users.find((x) => x.username === user);
    if (!u || u.password !== pass) return fail('Authentication failed: Invalid username or password');
    session.principal = user;
    return { ok: true, reply: new Uint8Array(0), done: true };
  };
}

function scram(cfg: SaslConfig, session: SessionState, mechanism: string): Exchange {
  const digest = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const keylen = digest === 'sha256' ? 32 : 64;
  const hmac = (key: Buffer, data: string | Buffer) => createHmac(digest, key).update(data).digest();
  let step = 0;
  let clientFirstBare = '';
  let serverFirst = '';
  let nonce = '';
  let user: SaslUser | undefined;
  let salt = Buffer.alloc(0);
  return (bytes) => {
    const msg = text(bytes);
    if (step === 0) {
      step = 1;
      const m = /^[nyp][^,]*,[^,]*,(n=([^,]*),r=([^,]*).*)$/.exec(msg);
      if (!m) return fail('Authentication failed: invalid SCRAM client-first message');
      clientFirstBare = m[1];
      const name = m[2].replace(/=2C/g, ',').replace(/=3D/g, '=');
      user = cfg.users.find((u) => u.username === name);
      nonce = m[3] + randomBytes(18).toString('base64');
      salt = randomBytes(16);
      serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${SCRAM_ITERATIONS}`;
      return { ok: true, reply: utf8.encode(serverFirst), done: false };
    }
    const m = /^(c=[^,]*,r=([^,]*)),p=([^,]*)$/.exec(msg);
    if (!m || m[2] !== nonce || !user) return fail('Authentication failed during authentication due to invalid credentials with SASL mechanism ' + mechanism);
    const salted = pbkdf2Sync(user.password, salt, SCRAM_ITERATIONS, keylen, digest);
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash(digest).update(clientKey).digest();
    const authMessage = `${clientFirstBare},${serverFirst},${m[1]}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.from(m[3], 'base64');
    if (proof.length !== signature.length) return fail('Authentication failed: invalid SCRAM proof');
    const candidate = Buffer.from(proof.map((b, i) => b ^ signature[i]));
    if (!timingSafeEqual(createHash(digest).update(candidate).digest(), storedKey)) {
      return fail('Authentication failed during authentication due to invalid credentials with SASL mechanism ' + mechanism);
    }
    session.principal = user.username;
    const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
    return { ok: true, reply: utf8.encode(`v=${serverSignature}`), done: true };
  };
}

function oauthBearer(session: SessionState): Exchange {
  return (bytes) => {
    const token = /auth=Bearer ([^\u0001]+)/.exec(text(bytes))?.[1];
    const payload = token?.split('.')[1];
    let sub: unknown;
    try {
      sub = payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub : undefined;
    } catch {
      sub = undefined;
    }
    if (typeof sub !== 'string' || !sub) return { ok: false, reply: utf8.encode('{"status":"invalid_token"}'), done: true, error: 'invalid_token' };
    session.principal = sub;
    return { ok: true, reply: new Uint8Array(0), done: true };
  };
}

export function saslHandlers(): ApiHandler[] {
  return [
    handler(Api.SaslHandshake, (ctx, req) => {
      const cfg = ctx.services.sasl;
      const mechanisms = cfg && ctx.listener.sasl ? cfg.mechanisms : [];
      if (!cfg || !mechanisms.includes(req.mechanism)) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
      const s = ctx.session;
      s.mechanism = req.mechanism;
      s.exchange =
        req.mechanism === 'PLAIN' ? plain(cfg, s) : req.mechanism === 'OAUTHBEARER' ? oauthBearer(s) : scram(cfg, s, req.mechanism);
      return { errorCode: ErrorCode.NONE, mechanisms };
    }, { min: 1 }),
    handler(Api.SaslAuthenticate, (ctx, req) => {
      const s = ctx.session;
      const cfg = ctx.services.sasl;
      if (!s.exchange || !cfg) {
        s.closeAfterReply = true;
        return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate before SaslHandshake', authBytes: new Uint8Array(0), sessionLifetimeMs: 0n };
      }
      const step = s.exchange(req.authBytes);
      if (!step.ok) {
        s.exchange = null;
        s.closeAfterReply = true;
        return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: step.error ?? 'authentication failed', authBytes: step.reply, sessionLifetimeMs: 0n };
      }
      let lifetime = 0n;
      if (step.done) {
        s.exchange = null;
        s.authenticated = true;
        s.expiresAt = cfg.sessionLifetimeMs > 0 ? performance.now() + cfg.sessionLifetimeMs : Infinity;
        lifetime = BigInt(cfg.sessionLifetimeMs);
      }
      return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.reply, sessionLifetimeMs: lifetime };
    }),
  ];
}
