// One deadline per call: a Client call against a silent, a garbage-speaking or a refusing broker ends
// by its own timeout (retries, dials and backoff included); one caller's deadline or abort never
// cancels the shared work (a dial, a metadata refresh) another caller is waiting for.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { deadline, raceSignal } from '../../src/client/deadline.ts';
import { AbortedError, KafkaError, TimeoutError } from '../../src/protocol/errors.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];

function fakeBroker(onData: (sock: Socket, data: Buffer) => void): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer((sock) => {
      sockets.push(sock);
      sock.on('error', () => {});
      sock.on('data', (d) => onData(sock, d));
    });
    servers.push(srv);
    srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
  });
}

after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

/** The call's settle time, and that it settled with a typed error. */
async function timeRejection(p: Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (err) {
    return { ms: performance.now() - t0, err };
  }
  assert.fail('the call resolved');
}

// Slack for a loaded 2-core machine: the bar is timeout + 0.5 s.
const SLACK_MS = 500;

describe('deadline primitives', () => {
  it('the deadline signal aborts with a TimeoutError at the deadline, with the caller signal as AbortedError', async () => {
    const dl = deadline({ timeoutMs: 50 }, 10_000, 'probe');
    await new Promise((r) => setTimeout(r, 80));
    assert.ok(dl.signal.aborted && dl.signal.reason instanceof TimeoutError);
    assert.match((dl.signal.reason as Error).message, /probe did not complete within 50 ms/);
    dl.dispose();

    const ac = new AbortController();
    const d2 = deadline({ signal: ac.signal }, 10_000, 'probe');
    ac.abort();
    assert.ok(d2.signal.reason instanceof AbortedError);
    d2.dispose();
  });

  it('raceSignal leaves shared work running for the others', async () => {
    let finish!: (v: number) => void;
    const shared = new Promise<number>((r) => (finish = r));
    const ac = new AbortController();
    const first = raceSignal(shared, ac.signal, 'first gave up');
    const second = raceSignal(shared, undefined, 'never');
    ac.abort();
    await assert.rejects(first, AbortedError);
    finish(7);
    assert.equal(await second, 7);
  });
});

describe('Client calls end by their own timeout', () => {
  it('a silent broker (accepts, never answers): metadata rejects within timeoutMs + 0.5 s', async () => {
    const port = await fakeBroker(() => {});
    const client = new Client({ brokers: [`127.0.0.1:${port}`], requestTimeoutMs: 30_000, connectTimeoutMs: 10_000 });
    try {
      for (const timeoutMs of [300, 1500]) {
        const { ms, err } = await timeRejection(client.metadata({ timeoutMs }));
        assert.ok(err instanceof TimeoutError, String(err));
        // libuv timers run on a loop clock cached per turn, so one may fire a few ms before performance.now() says.
        assert.ok(ms >= timeoutMs - 50 && ms < timeoutMs + SLACK_MS, `${timeoutMs} ms call took ${ms.toFixed(0)} ms`);
      }
    } finally {
      await client.close();
    }
  });

  it('a garbage-speaking broker: metadata rejects with a typed error within timeoutMs + 0.5 s', async () => {
    const port = await fakeBroker((sock) => sock.write(Buffer.from([0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])));
    const client = new Client({ brokers: [`127.0.0.1:${port}`], retry: { attempts: 1000, backoffMinMs: 20, backoffMaxMs: 50 } });
    try {
      const { ms, err } = await timeRejection(client.metadata({ timeoutMs: 1000 }));
      assert.ok(err instanceof KafkaError, String(err));
      assert.ok(ms < 1000 + SLACK_MS, `took ${ms.toFixed(0)} ms`);
    } finally {
      await client.close();
    }
  });

  it('a refused port with many retries allowed: the deadline, not the attempt count, ends the call', async () => {
    const port = await fakeBroker(() => {});
    servers.at(-1)!.close();
    const client = new Client({ brokers: [`127.0.0.1:${port}`], retry: { attempts: 1000, backoffMinMs: 50, backoffMaxMs: 200 } });
    try {
      const { ms, err } = await timeRejection(client.describeCluster({ timeoutMs: 800 }));
      assert.ok(err instanceof KafkaError && err.retriable, String(err));
      assert.ok(ms < 800 + SLACK_MS, `took ${ms.toFixed(0)} ms`);
    } finally {
      await client.close();
    }
  });

  it("one caller's short deadline does not cancel the dial another caller waits for", async () => {
    // The broker answers ApiVersions only after 400 ms: a caller with 100 ms gives up, one with 5 s
    // gets its answer over the very same dial (the broker sees one connection).
    let connections = 0;
    const port = await fakeBroker((sock, data) => {
      const correlation = data.readInt32BE(8);
      setTimeout(() => {
        // ApiVersions v0 answer: UNSUPPORTED_VERSION would make the client ask again; answer an empty
        // key list with error 0 instead, which makes the metadata request itself unsupported.
        const body = Buffer.alloc(4 + 2 + 4);
        body.writeInt32BE(correlation, 0);
        body.writeInt16BE(0, 4);
        body.writeInt32BE(0, 6);
        const frame = Buffer.alloc(4 + body.length);
        frame.writeInt32BE(body.length, 0);
        body.copy(frame, 4);
        sock.write(frame);
      }, 400);
    });
    servers.at(-1)!.on('connection', () => connections++);
    const client = new Client({ brokers: [`127.0.0.1:${port}`], retry: { attempts: 1 }, retryTimeoutMs: 0 });
    try {
      const short = timeRejection(client.metadata({ timeoutMs: 100 }));
      const long = timeRejection(client.metadata({ timeoutMs: 5000 }));
      const s = await short;
      assert.ok(s.err instanceof TimeoutError, `short: ${String(s.err)}`);
      const l = await long;
      // The long caller got the broker's (empty) answer over the shared dial: its error is about the
      // missing API, not an abort or a timeout.
      assert.ok(l.err instanceof KafkaError && !(l.err instanceof AbortedError) && !(l.err instanceof TimeoutError), `long: ${String(l.err)}`);
      assert.equal(connections, 1);
    } finally {
      await client.close();
    }
  });
});

describe('an answer that never comes', () => {
  it('a call that gave up on a request still gets its connection closed at the request timeout, so later calls are not stuck behind it', async () => {
    const { FakeCluster } = await import('../../src/testing/index.ts');
    const c = await FakeCluster.start({ brokers: 1 });
    const client = new Client({ brokers: c.bootstrap, requestTimeoutMs: 1500 });
    try {
      await client.describeCluster(); // connections open, versions known
      const lost = c.inject({ api: 'DescribeCluster', noAnswer: true, times: 1 });
      const first = await timeRejection(client.describeCluster({ timeoutMs: 500 }));
      assert.ok(first.err instanceof TimeoutError, String(first.err));
      assert.equal(lost.hits, 1);
      // The broker answers everything from here on; the call must not wait behind the lost answer.
      const t0 = performance.now();
      const res = await client.describeCluster({ timeoutMs: 5000 });
      assert.equal(res.clusterId, c.clusterId);
      assert.ok(performance.now() - t0 < 3000, `took ${(performance.now() - t0).toFixed(0)} ms`);
    } finally {
      await client.close();
      await c.stop();
    }
  });
});
