// 100,000 keyed messages with acks=all while the broker leading the most partitions is stopped and
// started again: every message is stored exactly once, in order per key (so per partition). The values
// carry a per-key sequence number. Restarts a broker of cluster A.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../../src/client/client.ts';
import { Writer, WriteErrors } from '../../../src/client/writer/index.ts';
import { cluster, startBroker, stopBroker, uniqueTopic } from '../../helpers/kafka.ts';
import { fetchBatches } from '../../helpers/produce.ts';

/** At least this many messages; more when the broker takes long to restart (the stream outlasts it). */
const TOTAL = 100_000;
const KEYS = 1000;
const PARTITIONS = 6;
const CHUNK = 250;
const td = new TextDecoder();

describe('Writer through a broker restart (cluster A)', () => {
  let client: Client;
  const topic = uniqueTopic('writer-failover');
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    client = new Client({ brokers: cluster('a').bootstrap, clientId: 'mka-writer-failover-admin', requestTimeoutMs: 10_000 });
    await client.createTopics([
      { topic, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
    ]);
  });
  after(async () => {
    await client.deleteTopics([topic], { ifExists: true }).catch(() => {});
    await client.close();
    process.off('unhandledRejection', onUnhandled);
  });

  it('every message exactly once and in order per key, with the busiest leader stopped mid-stream', { timeout: 120_000 }, async () => {
    await scenario(topic, false);
  });

  it('the same with the busiest leader killed (no controlled shutdown)', { timeout: 120_000 }, async () => {
    const t = uniqueTopic('writer-failover-kill');
    await client.createTopics([{ topic: t, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    try {
      await scenario(t, true);
    } finally {
      await client.deleteTopics([t], { ifExists: true }).catch(() => {});
    }
  });

  async function scenario(topic: string, kill: boolean): Promise<void> {
    const m = await client.metadata({ topics: [topic] });
    const leads = new Map<number, number>();
    for (const p of m.topics[0].partitions) leads.set(p.leader, (leads.get(p.leader) ?? 0) + 1);
    const victim = [...leads].sort((a, b) => b[1] - a[1])[0][0];

    const writer = new Writer({
      brokers: cluster('a').bootstrap,
      clientId: 'mka-writer-failover',
      topic,
      requiredAcks: 'all',
      batchTimeoutMs: 5,
      maxAttempts: 20,
      writeBackoffMinMs: 100,
      writeBackoffMaxMs: 1000,
      requestTimeoutMs: 10_000,
      connectTimeoutMs: 2000,
    });
    let sent = 0;
    let acked = 0;
    const failures: string[] = [];
    const t0 = performance.now();
    // The stream: chunks of CHUNK messages, up to 8 calls outstanding, paced to about 4,000 messages
    // a second; it goes on for 2 s past the restart (a broker may take long to start on a loaded
    // machine), so that the stop and the restart both fall inside it. It ends on a whole round of keys.
    let restartedAt = Infinity;
    const stream = (async () => {
      const outstanding = new Set<Promise<void>>();
      for (let start = 0; start < TOTAL || performance.now() < restartedAt + 2000 || start % KEYS !== 0; start += CHUNK) {
        const msgs = [];
        for (let i = start; i < start + CHUNK; i++) {
          const k = i % KEYS;
          msgs.push({ key: `key-${k}`, value: `${k}:${Math.floor(i / KEYS)}` });
        }
        const p: Promise<void> = writer.writeMessages(...msgs).then(
          (r) => void (acked += r.length),
          (e: unknown) => {
            if (e instanceof WriteErrors) {
              acked += e.errors.length - e.count();
              failures.push(...e.errors.filter((x): x is Error => !!x).slice(0, 3).map((x) => x.message));
            } else failures.push(String(e));
          },
        ).finally(() => outstanding.delete(p));
        outstanding.add(p);
        sent += CHUNK;
        if (outstanding.size >= 8) await Promise.race(outstanding);
        // 4 msgs/ms up to TOTAL; past it (waiting for a slow restart) 1 msg/ms.
        const ahead = sent <= TOTAL ? sent / 4 - (performance.now() - t0) : CHUNK;
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      }
      await Promise.all(outstanding);
    })();

    const waitFor = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setTimeout(r, 20));
    };
    await waitFor(() => sent >= TOTAL * 0.2);
    const stopAt = performance.now() - t0;
    await stopBroker('a', victim, { kill });
    const stoppedAt = performance.now() - t0;
    const ackedWhenStopped = acked;
    await waitFor(() => sent >= TOTAL * 0.45 || performance.now() - t0 > stoppedAt + 3000);
    await startBroker('a', victim);
    restartedAt = performance.now();
    const startedAt = restartedAt - t0;
    const ackedWhenStarted = acked;
    await stream;
    const doneAt = performance.now() - t0;
    const stats = writer.stats();
    await writer.close();
    console.log(
      `${kill ? 'killed' : 'stopped'}: victim broker ${victim} (led ${leads.get(victim)} of ${PARTITIONS}); stop at ${stopAt.toFixed(0)} ms, stopped at ${stoppedAt.toFixed(0)} ms ` +
        `(acked ${ackedWhenStopped}), started at ${startedAt.toFixed(0)} ms, all settled at ${doneAt.toFixed(0)} ms; ` +
        `writes ${stats.writes}, retries ${stats.retries}, errors ${stats.errors}, dials ${stats.dials}`,
    );
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} failures`);
    assert.equal(acked, sent);
    assert.ok(ackedWhenStarted < sent, 'the restart fell inside the stream');
    assert.ok(stats.retries > 0, 'the stop was felt (retries happened)');

    // Read back every partition: per key, sequence numbers 0, 1, 2, ... exactly once each.
    await client.cluster.refreshMetadata({ topics: [topic] });
    const next = new Map<number, number>();
    const partitionOfKey = new Map<number, number>();
    let total = 0;
    const offsets = await client.listOffsets(topic, 'latest');
    for (let p = 0; p < PARTITIONS; p++) {
      const end = offsets.get(p)!.offset;
      let read = 0;
      const batches = end > 0n ? await fetchBatches(client, topic, p, 0n, Number(end)) : [];
      for (const b of batches) {
        if (b.isControl) continue;
        for (const r of b.records) {
          const [k, seq] = td.decode(r.value!).split(':').map(Number);
          assert.equal(td.decode(r.key!), `key-${k}`);
          const want = next.get(k) ?? 0;
          assert.equal(seq, want, `key ${k} at ${p}/${r.offset}: got #${seq}, expected #${want} (duplicate or reordered)`);
          next.set(k, want + 1);
          if (partitionOfKey.has(k)) assert.equal(partitionOfKey.get(k), p);
          partitionOfKey.set(k, p);
          read++;
        }
      }
      assert.equal(BigInt(read), end, `partition ${p}: records = log end offset`);
      total += read;
    }
    assert.equal(total, sent);
    for (let k = 0; k < KEYS; k++) assert.equal(next.get(k), sent / KEYS, `key ${k}`);
    assert.deepEqual(unhandled, []);
  }
});
