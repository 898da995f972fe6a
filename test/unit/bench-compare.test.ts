// The side-by-side benchmark's shared drivers and report: what every client's figures go through.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseSpec, CASES } from '../../bench/compare/cases.ts';
import { KEYS, LatencyRecorder, messageSource, nowMs, pumpProduce } from '../../bench/compare/drivers.ts';
import { markdown, summarise, type RunRecord } from '../../bench/compare/report.ts';
import type { BenchSpec } from '../../bench/compare/types.ts';

const spec: BenchSpec = { ...baseSpec(['127.0.0.1:1'], 10_500, 1), topic: 't', groupId: 'g' };

describe('bench drivers', () => {
  it('pumpProduce sends exactly the messages asked for, in chunks, never more than the window at once', async () => {
    const sizes: number[] = [];
    let outstanding = 0;
    let peak = 0;
    const t = await pumpProduce(spec, async (n) => {
      sizes.push(n);
      peak = Math.max(peak, ++outstanding);
      await new Promise((r) => setTimeout(r, 1));
      outstanding--;
    });
    assert.equal(t.messages, 10_500);
    assert.equal(t.bytes, 10_500 * spec.valueBytes);
    assert.deepEqual(sizes, [...Array(10).fill(1000), 500]);
    assert.ok(peak <= spec.window && peak > 1);
  });

  it('pumpProduce hands each call the index of its first message, contiguous from 0', async () => {
    const froms: number[] = [];
    await pumpProduce(spec, async (n, from) => {
      froms.push(from);
      assert.equal(n, Math.min(spec.chunk, spec.messages - from));
    });
    assert.deepEqual(froms, Array.from({ length: 11 }, (_, i) => i * 1000));
  });

  it('messageSource: message i carries key-(i mod 10,000) when keyed, none otherwise; arrays reused only when asked', () => {
    const keyed = messageSource({ ...spec, keyed: true }, (key, value) => ({ key: key?.toString() ?? null, value }));
    const a = keyed(KEYS - 1, 3);
    assert.deepEqual(a.map((m) => m.key), [`key-${KEYS - 1}`, 'key-0', 'key-1']);
    assert.equal(a[0].value.length, spec.valueBytes);
    assert.equal(keyed(2 * KEYS - 1, 3), a, 'same keys, same array');
    assert.notEqual(keyed(0, 3), a);
    const plain = messageSource(spec, (key, value) => ({ key, value }), false);
    const b = plain(5, 2);
    assert.deepEqual(b.map((m) => m.key), [null, null]);
    assert.notEqual(plain(5, 2), b, 'a fresh array per call without reuse');
  });

  it('pumpProduce rejects with the first failure after the outstanding calls settle', async () => {
    let calls = 0;
    await assert.rejects(
      pumpProduce(spec, async () => {
        if (++calls === 3) throw new Error('broker said no');
      }),
      /broker said no/,
    );
    assert.ok(calls >= 3 && calls < 11);
  });

  it('LatencyRecorder keeps only messages stamped inside the window, and ranks percentiles', () => {
    const rec = new LatencyRecorder();
    const now = nowMs();
    rec.window(now - 1000, now + 1000);
    const stamped = (t: number) => {
      const b = Buffer.alloc(16);
      b.writeDoubleBE(t, 0);
      return b;
    };
    rec.record(stamped(now - 2000)); // before the window: warm-up
    for (let i = 0; i < 1000; i++) rec.record(stamped(now - i)); // latencies of about 0..999 ms
    rec.record(stamped(now + 5000)); // after the window
    rec.record(Buffer.alloc(4)); // too short to carry a stamp
    const r = rec.result();
    // Each latency is taken when it is recorded: the loop's own duration (long on a loaded machine)
    // adds to them, so that much more is allowed above.
    const drift = nowMs() - now;
    assert.equal(r.count, 1000);
    assert.ok(r.p50 > 480 && r.p50 < 520 + drift, `p50 ${r.p50} (loop took ${drift} ms)`);
    assert.ok(r.p99 > 970 && r.p99 < 1010 + drift, `p99 ${r.p99} (loop took ${drift} ms)`);
    assert.ok(r.p999 >= r.p99 && r.max >= r.p999);
  });
});

describe('bench report', () => {
  const tp = (client: string, round: number, elapsedMs: number): RunRecord => ({
    caseId: 'produce-100',
    round,
    client,
    report: { client, version: '1', scenario: 'produce', maxRssBytes: (100 + round) * 2 ** 20, result: { kind: 'throughput', value: { messages: 1000, bytes: 100_000, elapsedMs } } },
  });

  it('medians, spreads and the mka ratio per client; unsupported and failed runs are named, not dropped', () => {
    const records: RunRecord[] = [
      tp('mka', 1, 100), tp('mka', 2, 200), tp('mka', 3, 400),
      tp('other', 1, 400), tp('other', 2, 400), tp('other', 3, 800),
      { caseId: 'produce-100', round: 1, client: 'nope', report: { client: 'nope', version: '0', scenario: 'produce', maxRssBytes: 0, result: { kind: 'unsupported', reason: 'has no producer' } } },
      { caseId: 'produce-100', round: 1, client: 'broken', error: 'exit 1: boom' },
    ];
    const s = summarise(records, CASES, ['mka', 'other', 'nope', 'broken']);
    const mka = s.find((x) => x.client === 'mka')!;
    assert.equal(mka.metrics.msgPerSec.median, 5000); // 1000 messages in 200 ms
    assert.equal(mka.metrics.msgPerSec.min, 2500);
    assert.equal(mka.metrics.msgPerSec.max, 10_000);
    assert.equal(mka.maxRssMedian, 102 * 2 ** 20);
    const other = s.find((x) => x.client === 'other')!;
    assert.equal(other.metrics.msgPerSec.median, 2500);
    const md = markdown(s, CASES);
    assert.match(md, /\| mka \| 5,000 \| 0\.5 \| -50% \/ \+100% \| 1\.00× \| 102 MB \|/);
    assert.match(md, /\| other \| 2,500 \| 0\.3 \| -50% \/ \+0% \| 2\.00× \| 102 MB \|/);
    assert.match(md, /\| nope \| n\/a: has no producer/);
    assert.match(md, /\| broken \| failed: exit 1: boom/);
  });

  it('idle cases show CPU and memory over the idle window and CPU per partition; metadata cases ms per call; every row its load', () => {
    const idleCase = CASES.find((c) => c.id === 'idle-100')!;
    const idle = (client: string, round: number, cpuMsPerSec: number): RunRecord => ({
      caseId: idleCase.id,
      round,
      client,
      load: 2 + round,
      report: {
        client,
        version: '1',
        scenario: 'consume-group',
        maxRssBytes: 70 * 2 ** 20,
        result: { kind: 'throughput', value: { messages: 1000, bytes: 100_000, elapsedMs: 500, idle: { cpuMsPerSec, rssBytes: 60 * 2 ** 20, heapUsedBytes: 10 * 2 ** 20 } } },
      },
    });
    const meta = (client: string, callMs: number, decodeMs?: number): RunRecord => ({
      caseId: 'metadata-1000',
      round: 1,
      client,
      load: 1.5,
      report: { client, version: '1', scenario: 'metadata', maxRssBytes: 90 * 2 ** 20, result: { kind: 'metadata', value: { callMs, decodeMs, responseBytes: decodeMs ? 26_000 : undefined } } },
    });
    const records = [idle('mka', 1, 10), idle('mka', 2, 14), idle('other', 1, 30), idle('other', 2, 30), meta('mka', 2, 0.25), meta('other', 5)];
    const md = markdown(summarise(records, CASES, ['mka', 'other']), CASES);
    // 12 ms/s over 100 partitions: 120 µs/s each; load median of 3 and 4.
    assert.match(md, /\| mka \| 12\.00 \| 120 \| 60 MB \| 10 MB \| 1\.00× \| 2,000 \| 70 MB \| 3\.5 \|/);
    assert.match(md, /\| other \| 30\.00 \| 300 \| 60 MB \| 10 MB \| 2\.50× \|/);
    assert.match(md, /\| mka \| 2\.00 \| 0% \/ \+0% \| 0\.250 \| 26,000 \| 1\.00× \| 90 MB \| 1\.5 \|/);
    assert.match(md, /\| other \| 5\.00 \| 0% \/ \+0% \| — \(not reachable\) \| {2}\| 2\.50× \|/);
  });
});
