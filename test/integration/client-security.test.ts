// SASL and TLS against cluster B's SASL_PLAINTEXT and SSL listeners.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AuthenticationError, Client, type SaslConfig } from '../../src/index.ts';
import { cluster } from '../helpers/kafka.ts';

const B = () => cluster('b');

async function describeWith(config: ConstructorParameters<typeof Client>[0]) {
  const c = new Client({ retry: { attempts: 2 }, ...config });
  try {
    return await c.describeCluster({ timeoutMs: 10_000 });
  } finally {
    await c.close();
  }
}

/** An unsigned JWT, which the broker's default (unsecured) OAUTHBEARER validator accepts. */
function unsecuredJwt(sub: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub, iat: now, exp: now + 3600 })}.`;
}

describe('SASL', () => {
  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    it(`${mechanism} authenticates and the cluster answers`, async () => {
      const { sasl } = B();
      const res = await describeWith({ brokers: sasl!.bootstrap, sasl: { mechanism, username: sasl!.username, password: sasl!.password } });
      assert.equal(res.clusterId, B().clusterId);
    });

    it(`${mechanism} with a wrong password fails fast with a non-retriable AuthenticationError`, async () => {
      const { sasl } = B();
      const t0 = performance.now();
      await assert.rejects(
        describeWith({ brokers: sasl!.bootstrap, sasl: { mechanism, username: sasl!.username, password: 'wrong' } }),
        (e: unknown) => e instanceof AuthenticationError && !e.retriable && /authentication failed|Authentication failed/i.test(e.message),
      );
      assert.ok(performance.now() - t0 < 5000, 'no reconnect storm before the error');
    });
  }

  it('OAUTHBEARER with a token provider authenticates', async () => {
    const { sasl } = B();
    let calls = 0;
    const res = await describeWith({
      brokers: sasl!.bootstrap,
      sasl: { mechanism: 'OAUTHBEARER', token: () => (calls++, { value: unsecuredJwt('mka') }) },
    });
    assert.equal(res.clusterId, B().clusterId);
    assert.ok(calls >= 1);
  });

  it('an unknown mechanism fails fast, naming what the broker offers', async () => {
    const { sasl } = B();
    await assert.rejects(
      describeWith({ brokers: sasl!.bootstrap, sasl: { mechanism: 'GSSAPI' } as unknown as SaslConfig }),
      (e: unknown) => e instanceof AuthenticationError && !e.retriable,
    );
  });

  it('a mechanism the broker does not enable is refused with the list it offers', async () => {
    // PLAIN on the PLAINTEXT listener: SASL is not enabled there at all.
    await assert.rejects(
      describeWith({ brokers: B().bootstrap, sasl: { mechanism: 'PLAIN', username: 'mka', password: 'mka-secret' } }),
      (e: unknown) => e instanceof Error,
    );
  });

  it('re-authenticates before the session lifetime (20 s on this listener) runs out', { timeout: 60_000 }, async () => {
    const { sasl } = B();
    const c = new Client({ brokers: sasl!.bootstrap, sasl: { mechanism: 'SCRAM-SHA-256', username: sasl!.username, password: sasl!.password } });
    try {
      const first = await c.describeCluster();
      const conn = await c.cluster.anyConnection('admin');
      // Past the broker's connections.max.reauth.ms: without re-authentication the broker closes the socket.
      await new Promise((r) => setTimeout(r, 24_000));
      const again = await c.describeCluster();
      assert.equal(again.clusterId, first.clusterId);
      assert.equal(conn.closed, false, 'the same connection is still open: it re-authenticated');
    } finally {
      await c.close();
    }
  });
});

describe('TLS', () => {
  it('connects with the generated CA and verifies the broker', async () => {
    const { ssl } = B();
    const res = await describeWith({ brokers: ssl!.bootstrap, tls: { ca: readFileSync(ssl!.caFile, 'utf8') } });
    assert.equal(res.clusterId, B().clusterId);
  });

  it('an untrusted certificate fails fast with a non-retriable AuthenticationError', async () => {
    const { ssl } = B();
    const t0 = performance.now();
    await assert.rejects(
      describeWith({ brokers: ssl!.bootstrap, tls: true }),
      (e: unknown) => e instanceof AuthenticationError && !e.retriable,
    );
    assert.ok(performance.now() - t0 < 5000);
  });
});
