// A hostile or broken peer on loopback: a 2 GiB length prefix, garbage, or silence. Each must fail the
// call with the right typed error, within its timeout, without allocating what the peer claims.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Connection } from '../../src/client/connection.ts';
import { ConnectionError, KafkaError, TimeoutError } from '../../src/protocol/errors.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];

function fakeBroker(onRequest: (sock: Socket, data: Buffer) => void): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer((sock) => {
      sockets.push(sock);
      sock.on('error', () => {});
      sock.on('data', (d) => onRequest(sock, d));
    });
    servers.push(srv);
    srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
  });
}

after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

describe('connection against a fake broker', () => {
  it('a 2 GiB length prefix closes the connection with a ConnectionError, memory flat', async () => {
    const port = await fakeBroker((sock) => sock.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1])));
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    await assert.rejects(
      Connection.open({ host: '127.0.0.1', port, clientId: 't', requestTimeoutMs: 5000 }),
      (e: unknown) => e instanceof ConnectionError && /exceeds the limit/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 2000, 'fails at once, not at the timeout');
    const grown = process.memoryUsage().rss - rss0;
    assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
  });

  it('a size prefix just above maxResponseBytes is refused too', async () => {
    const port = await fakeBroker((sock) => sock.write(Buffer.from([0, 0x10, 0, 1])));
    await assert.rejects(
      Connection.open({ host: '127.0.0.1', port, clientId: 't', maxResponseBytes: 1024 * 1024 }),
      (e: unknown) => e instanceof ConnectionError && !e.retriable,
    );
  });

  it('garbage in a well-sized frame fails the call with a typed error', async () => {
    const port = await fakeBroker((sock) => {
      const body = Buffer.alloc(40, 0xab);
      const head = Buffer.alloc(4);
      head.writeInt32BE(body.length);
      sock.write(Buffer.concat([head, body]));
    });
    await assert.rejects(
      Connection.open({ host: '127.0.0.1', port, clientId: 't', requestTimeoutMs: 5000 }),
      (e: unknown) => e instanceof KafkaError,
    );
  });

  it('a correct correlation id followed by garbage is a decode error naming ApiVersions', async () => {
    const port = await fakeBroker((sock, data) => {
      const correlationId = data.readInt32BE(8);
      const body = Buffer.from([0, 0, 0xff, 0xff, 0xff, 0x7f]); // error 0, then an array count of ~2^31
      const head = Buffer.alloc(8);
      head.writeInt32BE(4 + body.length);
      head.writeInt32BE(correlationId, 4);
      sock.write(Buffer.concat([head, body]));
    });
    await assert.rejects(
      Connection.open({ host: '127.0.0.1', port, clientId: 't', requestTimeoutMs: 5000 }),
      (e: unknown) => e instanceof KafkaError && /ApiVersions/.test(e.message),
    );
  });

  it('silence: the call fails with TimeoutError at its timeout, not later, not never', async () => {
    const port = await fakeBroker(() => {});
    const t0 = performance.now();
    await assert.rejects(
      Connection.open({ host: '127.0.0.1', port, clientId: 't', requestTimeoutMs: 300 }),
      (e: unknown) => e instanceof TimeoutError && e.retriable,
    );
    const took = performance.now() - t0;
    assert.ok(took >= 290 && took < 1500, `took ${took} ms`);
  });

  it('an abort while connecting rejects at once', async () => {
    const port = await fakeBroker(() => {});
    const ac = new AbortController();
    const p = Connection.open({ host: '127.0.0.1', port, clientId: 't', requestTimeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, (e: unknown) => e instanceof KafkaError && e.name === 'AbortedError');
  });

  it('a refused port is a retriable ConnectionError', async () => {
    const port = await fakeBroker(() => {});
    servers.at(-1)!.close();
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(
      Connection.open({ host: '127.0.0.1', port, clientId: 't', connectTimeoutMs: 2000 }),
      (e: unknown) => e instanceof ConnectionError && e.retriable,
    );
  });
});
