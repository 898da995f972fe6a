// The Prometheus adapter: its text parses as the exposition format (every sample under a declared
// family, histogram buckets cumulative, +Inf equal to the count), stats() snapshots accumulate into
// counters across scrapes, and the seam feeds request latency histograms.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MultiWriter, Reader, RWMode, Writer } from '../../src/index.ts';
import { FakeCluster } from '../../src/testing/index.ts';
import { PrometheusMetrics } from '../../src/adapters/prometheus.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict parser of the text format's subset the adapter writes. */
function parse(text: string): { types: Map<string, string>; samples: Sample[] } {
  assert.ok(text.endsWith('\n'));
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      assert.ok(!helps.has(m[1]), `one HELP per family: ${m[1]}`);
      helps.add(m[1]);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary)$/.exec(line);
    if (m) {
      assert.ok(helps.has(m[1]), `HELP before TYPE: ${m[1]}`);
      types.set(m[1], m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let l: RegExpExecArray | null;
      let end = 0;
      while ((l = re.exec(m[2]))) {
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        end = re.lastIndex;
      }
      assert.equal(end, m[2].length, `labels parse: ${m[2]}`);
    }
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]) || types.has(family), `sample of an undeclared family: ${m[1]}`);
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), line);
    samples.push({ name: m[1], labels, value });
  }
  return { types, samples };
}

const pick = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
const total = (s: Sample[], name: string, labels: Record<string, string> = {}) => pick(s, name, labels).reduce((n, x) => n + x.value, 0);

const clusters: FakeCluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
});

describe('Prometheus adapter', () => {
  it('writer, reader and multi-writer stats and seam metrics in the text format; counters add up across scrapes', async () => {
    const a = await FakeCluster.start({ topics: [{ name: 'm', partitions: 2, replicationFactor: 1 }] });
    const b = await FakeCluster.start({ topics: [{ name: 'm', partitions: 2, replicationFactor: 1 }] });
    clusters.push(a, b);
    const metrics = new PrometheusMetrics();
    const w = new Writer({ brokers: a.bootstrap, topic: 'm', name: 'orders "eu"\nwriter', telemetry: metrics.hooks });
    const r = new Reader({ brokers: a.bootstrap, topic: 'm', partition: 0, maxWaitMs: 50, telemetry: metrics.hooks });
    const mw = new MultiWriter(RWMode.Backup, [{ brokers: a.bootstrap, topic: 'm' }, { brokers: b.bootstrap, topic: 'm' }], { name: 'mw', telemetry: metrics.hooks });
    metrics.addWriter('w', w).addReader('r', r).addMultiWriter('mw', mw);
    try {
      await w.writeMessages(...Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
      const first = parse(metrics.scrape()).samples;
      assert.equal(total(first, 'mka_writer_messages_total', { client: 'w' }), 30);
      await w.writeMessages(...Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
      await r.readMessage({ timeoutMs: 5000 });
      await mw.writeMessages({ value: 'a' });
      mw.forceHealth(0, 'unhealthy');
      await mw.writeMessages({ value: 'b' });
      const text = metrics.scrape();
      const { types, samples } = parse(text);
      assert.equal(total(samples, 'mka_writer_messages_total', { client: 'w' }), 42, 'snapshots accumulate');
      assert.equal(types.get('mka_writer_messages_total'), 'counter');
      assert.equal(types.get('mka_writer_write_seconds'), 'summary');
      assert.ok(total(samples, 'mka_writer_write_seconds_count', { client: 'w' }) >= 2);
      assert.equal(total(samples, 'mka_produce_records_total', { client: 'orders "eu"\nwriter', topic: 'm' }), 42, 'label values escaped and read back');
      assert.ok(total(samples, 'mka_reader_fetches_total', { client: 'r' }) >= 1);
      assert.equal(total(samples, 'mka_writer_messages_total', { client: 'mw' }), 2);
      assert.deepEqual(pick(samples, 'mka_multi_attempts_total', { client: 'mw' }).map((s) => [s.labels.cluster, s.value]), [['0', 1], ['1', 1]]);
      assert.equal(total(samples, 'mka_cluster_healthy', { client: 'mw', cluster: '0' }), 0);
      assert.equal(total(samples, 'mka_failovers_total', { client: 'mw', kind: 'failover', from: '0', to: '1' }), 1);

      // Request latency histogram: buckets cumulative, +Inf = count, one series per api and broker.
      assert.equal(types.get('mka_request_duration_seconds'), 'histogram');
      const produceLabels = { client: 'orders "eu"\nwriter', api: 'Produce' };
      const buckets = pick(samples, 'mka_request_duration_seconds_bucket', produceLabels);
      assert.ok(buckets.length > 2);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative');
      assert.equal(buckets.at(-1)!.labels.le, '+Inf');
      const count = total(samples, 'mka_request_duration_seconds_count', produceLabels);
      assert.equal(buckets.at(-1)!.value, count);
      assert.ok(count >= 2, `Produce requests: ${count}`);
      assert.ok(total(samples, 'mka_request_duration_seconds_sum', produceLabels) > 0);
      assert.ok(total(samples, 'mka_request_bytes_total', produceLabels) > 0);
    } finally {
      await Promise.all([w.close(), r.close(), mw.close()]);
    }
  });
});
