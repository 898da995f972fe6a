// Incremental fetch sessions (KIP-227) against cluster B, through a counting proxy: a group Reader over
// 200 idle partitions sends one full Fetch, then fetches that name nothing and answers that carry
// nothing; a partition that starts getting writes still delivers every message. The same Reader with
// fetchSessions: false is the yardstick: every one of its fetches names all 200 partitions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.ts';
import { Reader } from '../../src/client/reader/index.ts';
import { Api } from '../../src/protocol/messages/index.ts';
import { cluster, uniqueTopic } from '../helpers/kafka.ts';
import { produceRetrying, until } from '../helpers/reader-loop.ts';
import { startSlowProxy, type ProxyFrame, type SlowProxy } from '../helpers/slow-proxy.ts';

const P = 200;
const HOT = 137;

interface Traffic {
  requests: number[];
  responses: number[];
}

describe('Reader fetch sessions (KIP-227)', () => {
  let client: Client;
  let topic: string;

  before(async () => {
    client = new Client({ brokers: cluster('b').bootstrap });
    topic = uniqueTopic('fs');
    await client.createTopics([{ topic, numPartitions: P }]);
  });
  after(async () => {
    await client.deleteTopics([topic]).catch(() => {});
    await client.close();
  });

  /** A group Reader over the topic through a proxy that records the size of every Fetch both ways. */
  async function open(fetchSessions: boolean): Promise<{ reader: Reader; proxy: SlowProxy; traffic: Traffic }> {
    const traffic: Traffic = { requests: [], responses: [] };
    const proxy = await startSlowProxy(cluster('b').bootstrap[0]!, 0, (f: ProxyFrame) => {
      if (f.apiKey !== Api.Fetch.apiKey) return;
      (f.direction === 'request' ? traffic.requests : traffic.responses).push(f.bytes);
    });
    const reader = new Reader({ brokers: [proxy.address], topic, groupId: uniqueTopic('g'), maxWaitMs: 50, heartbeatIntervalMs: 500, fetchSessions });
    return { reader, proxy, traffic };
  }

  it('idle partitions cost nothing per incremental fetch; a partition that wakes up delivers everything', async (t) => {
    const { reader, proxy, traffic } = await open(true);
    try {
      const got: { partition: number; offset: bigint; value: string }[] = [];
      const ac = new AbortController();
      const loop = (async () => {
        for (;;) {
          const m = await reader.readMessage({ signal: ac.signal }).catch(() => null);
          if (!m) return;
          got.push({ partition: m.partition, offset: m.offset, value: new TextDecoder().decode(m.value ?? new Uint8Array()) });
        }
      })();
      await until('all partitions assigned', () => reader.assignment().length === P, 60_000);
      await until('20 fetches', () => traffic.responses.length >= 20, 30_000);

      const [fullReq, ...incReq] = traffic.requests.slice(0, 20);
      const [fullRes, ...incRes] = traffic.responses.slice(0, 20);
      t.diagnostic(`full fetch: request ${fullReq} B, response ${fullRes} B; incremental: requests <= ${Math.max(...incReq)} B, responses <= ${Math.max(...incRes)} B`);
      // A full Fetch names 200 partitions (> 25 bytes each); an idle incremental one names none.
      assert.ok(fullReq! > P * 25, `full fetch request ${fullReq} B`);
      assert.ok(fullRes! > P * 25, `full fetch response ${fullRes} B`);
      for (const b of incReq) assert.ok(b < fullReq! / 20, `incremental request ${b} B vs full ${fullReq} B`);
      for (const b of incRes) assert.ok(b < fullRes! / 20, `incremental response ${b} B vs full ${fullRes} B`);

      // One partition starts getting writes: it is in the session, so its data comes back.
      const before = traffic.requests.length;
      for (let i = 0; i < 3; i++) await produceRetrying(client, topic, HOT, [{ value: `v${i * 2}` }, { value: `v${i * 2 + 1}` }]);
      await until('six messages', () => got.length >= 6, 15_000);
      assert.deepEqual(got, [0, 1, 2, 3, 4, 5].map((i) => ({ partition: HOT, offset: BigInt(i), value: `v${i}` })));
      // The fetches that moved the hot partition's position name it alone: still small.
      const moving = traffic.requests.slice(before);
      for (const b of moving) assert.ok(b < fullReq! / 10, `fetch after writes ${b} B vs full ${fullReq} B`);
      ac.abort();
      await loop;
    } finally {
      await reader.close();
      await proxy.close();
    }
  });

  it('fetchSessions: false sends every partition in every fetch (the yardstick)', async (t) => {
    const { reader, proxy, traffic } = await open(false);
    try {
      await until('all partitions assigned', () => reader.assignment().length === P, 60_000);
      await until('10 fetches', () => traffic.requests.length >= 10, 30_000);
      const sizes = traffic.requests.slice(0, 10);
      t.diagnostic(`sessionless fetch requests: ${Math.min(...sizes)}..${Math.max(...sizes)} B`);
      for (const b of sizes) assert.ok(b > P * 25, `sessionless request ${b} B`);
    } finally {
      await reader.close();
      await proxy.close();
    }
  });
});
