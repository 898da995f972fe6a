// Prometheus for mka (`mka/prometheus`): the text exposition format (0.0.4) of what the telemetry seam
// reports (request latency histograms, errors, bytes, produce/fetch volumes, connections, rebalances,
// cluster health, failovers) and of the clients' stats(). No dependency: serve `scrape()` from any
// HTTP handler. stats() is snapshot-and-reset, so each scrape adds what it took to running totals and
// Prometheus sees proper counters; a client registered here should not have stats() read elsewhere.
import type { WriterStats, DurationStats } from '../client/writer/stats.ts';
import type { ReaderStats } from '../client/reader/stats.ts';
import type { FailoverStats } from '../multi/stats.ts';
import type { ClusterHealth } from '../multi/health.ts';
import type { TelemetryHooks } from '../client/telemetry/events.ts';
import { ErrorCode } from '../protocol/messages/error-codes.ts';

export interface PrometheusOptions {
  /** Metric name prefix. Default "mka". */
  prefix?: string;
  /** Request latency histogram bucket bounds, in seconds. */
  buckets?: number[];
}

type Labels = Record<string, string>;
type Kind = 'counter' | 'gauge' | 'histogram' | 'summary';

interface Series {
  labels: Labels;
  value: number;
  /** Histograms: observations per bucket (made cumulative when written); summaries and histograms: sum and count. */
  buckets?: number[];
  sum?: number;
  count?: number;
}

class Family {
  readonly series = new Map<string, Series>();
  constructor(readonly name: string, readonly help: string, readonly type: Kind) {}

  at(labels: Labels): Series {
    const k = labelText(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { labels, value: 0 }));
    return s;
  }
}

export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Counters of the stats: field → metric name (without prefix) and help. */
const WRITER_COUNTERS: [keyof WriterStats, string, string][] = [
  ['writes', 'writer_requests_total', 'Produce requests sent.'],
  ['messages', 'writer_messages_total', 'Messages written.'],
  ['bytes', 'writer_bytes_total', 'Record batch bytes written.'],
  ['errors', 'writer_errors_total', 'Batches that failed.'],
  ['retries', 'writer_retries_total', 'Batches retried.'],
  ['dials', 'writer_dials_total', 'Connections dialled.'],
];
const WRITER_DURATIONS: [keyof WriterStats, string, string][] = [
  ['batchTime', 'writer_batch_seconds', 'Time from a batch first message to the batch being ready.'],
  ['batchQueueTime', 'writer_batch_queue_seconds', 'Time from a batch being ready to its Produce request.'],
  ['writeTime', 'writer_write_seconds', 'Produce round trips.'],
  ['waitTime', 'writer_wait_seconds', 'Time writeMessages calls waited for buffer space.'],
];
const WRITER_SIZES: [keyof WriterStats, string, string][] = [
  ['batchSize', 'writer_batch_messages', 'Messages per batch.'],
  ['batchBytes', 'writer_batch_bytes', 'Bytes per batch.'],
];
const READER_COUNTERS: [keyof ReaderStats, string, string][] = [
  ['dials', 'reader_dials_total', 'Connections dialled.'],
  ['fetches', 'reader_fetches_total', 'Fetch requests answered.'],
  ['messages', 'reader_messages_total', 'Messages returned.'],
  ['bytes', 'reader_bytes_total', 'Key, value and header bytes of the messages returned.'],
  ['rebalances', 'reader_rebalances_total', 'Group rebalances.'],
  ['timeouts', 'reader_timeouts_total', 'Reads that timed out.'],
  ['errors', 'reader_errors_total', 'Errors.'],
];
const READER_DURATIONS: [keyof ReaderStats, string, string][] = [
  ['dialTime', 'reader_dial_seconds', 'Dial times.'],
  ['readTime', 'reader_decode_seconds', 'Decoding fetched records.'],
  ['waitTime', 'reader_fetch_seconds', 'Fetch round trips, long-poll included.'],
];
const READER_SIZES: [keyof ReaderStats, string, string][] = [
  ['fetchSize', 'reader_fetch_messages', 'Messages per fetch.'],
  ['fetchBytes', 'reader_fetch_bytes', 'Record-set bytes per fetch.'],
];
const FAILOVER_COUNTERS: [keyof FailoverStats, string, string][] = [
  ['handedOver', 'multi_handed_over_total', 'Messages moved to another cluster after their first one failed.'],
  ['possibleDuplicates', 'multi_possible_duplicates_total', 'Handed-over messages that may also be on the old cluster.'],
  ['timedOut', 'multi_timed_out_total', 'Messages failed by their call deadline.'],
];

interface Source {
  scrape(m: PrometheusMetrics): void;
}

export class PrometheusMetrics {
  /** The seam's hooks: pass as `telemetry` in configs, or to subscribeTelemetry() for every client. */
  readonly hooks: TelemetryHooks;
  private readonly prefix: string;
  private readonly bounds: number[];
  private readonly families = new Map<string, Family>();
  private readonly sources: Source[] = [];
  private readonly requestSeries = new Map<string, Map<string, Map<string, { latency: Series; errors: Series; sent: Series; received: Series }>>>();

  constructor(opts: PrometheusOptions = {}) {
    this.prefix = opts.prefix ?? 'mka';
    this.bounds = [...(opts.buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b);
    this.hooks = {
      onRequest: (e) => {
        // The hot one (an event per request): its series are found by client, api and broker in nested
        // maps (a concatenated key cost half a microsecond per event).
        let byApi = this.requestSeries.get(e.client);
        if (!byApi) this.requestSeries.set(e.client, (byApi = new Map()));
        let byBroker = byApi.get(e.api);
        if (!byBroker) byApi.set(e.api, (byBroker = new Map()));
        let r = byBroker.get(e.broker);
        if (!r) {
          const l = { client: e.client, api: e.api, broker: e.broker };
          r = {
            latency: this.family('request_duration_seconds', 'Broker request latency, from queueing to the answer.', 'histogram').at(l),
            errors: this.family('request_errors_total', 'Requests that failed or answered a top-level error code.', 'counter').at(l),
            sent: this.family('request_bytes_total', 'Request frame bytes sent.', 'counter').at(l),
            received: this.family('response_bytes_total', 'Response frame bytes received.', 'counter').at(l),
          };
          byBroker.set(e.broker, r);
        }
        this.observeInto(r.latency, e.ms / 1000);
        if (e.error || e.errorCode !== ErrorCode.NONE) r.errors.value++;
        r.sent.value += e.requestBytes;
        r.received.value += e.responseBytes;
      },
      onConnection: (e) => this.add('counter', 'connection_events_total', 'Connections opened, closed, or failed to dial.', { client: e.client, broker: e.broker, event: e.type }, 1),
      onProduce: (e) => {
        const l = { client: e.client, topic: e.topic };
        this.add('counter', 'produce_batches_total', 'Produce batches answered, by result.', { ...l, result: e.error ? 'error' : 'ok' }, 1);
        if (!e.error) {
          this.add('counter', 'produce_records_total', 'Records in batches written.', l, e.records);
          this.add('counter', 'produce_bytes_total', 'Bytes of batches written.', l, e.bytes);
        }
      },
      onFetch: (e) => {
        const l = { client: e.client };
        this.add('counter', 'fetch_responses_total', 'Fetch responses handled.', l, 1);
        this.add('counter', 'fetch_records_total', 'Records queued from fetches.', l, e.records);
        this.add('counter', 'fetch_bytes_total', 'Record-set bytes fetched.', l, e.bytes);
      },
      onRebalance: (e) => this.add('counter', 'rebalances_total', 'Assignments received by group members.', { client: e.client, group: e.group }, 1),
      onHealthChange: (e) => this.set('cluster_healthy', 'Whether the multi client routes to the cluster (1) or not (0).', { client: e.client, cluster: String(e.cluster) }, e.state === 'healthy' ? 1 : 0),
      onFailover: (e) =>
        this.add('counter', 'failovers_total', 'Writes moved between clusters (failover or fail-back).', { client: e.client, kind: e.kind, from: String(e.from), to: String(e.to) }, 1),
    };
  }

  /** A Writer (or anything with its stats()): read at each scrape under `client`. */
  addWriter(client: string, writer: { stats(): WriterStats }): this {
    this.sources.push({ scrape: (m) => m.writerStats({ client }, writer.stats()) });
    return this;
  }

  addReader(client: string, reader: { stats(): ReaderStats }): this {
    this.sources.push({
      scrape: (m) => {
        const s = reader.stats();
        const l = { client };
        for (const [k, name, help] of READER_COUNTERS) m.add('counter', name, help, l, s[k] as number);
        for (const [k, name, help] of READER_DURATIONS) m.summary(name, help, l, s[k] as DurationStats, 1000);
        for (const [k, name, help] of READER_SIZES) m.summary(name, help, l, s[k] as DurationStats, 1);
        m.set('reader_queue_length', 'Messages in the prefetch queue.', l, s.queueLength);
        m.set('reader_queue_capacity', 'Capacity of the prefetch queue.', l, s.queueCapacity);
        if (s.lag >= 0n) m.set('reader_lag', 'Messages behind the high watermark (partition mode).', l, Number(s.lag));
      },
    });
    return this;
  }

  /** A MultiWriter: its summed writer stats, what failover did, and each cluster's health. */
  addMultiWriter(client: string, mw: { aggregateStats(): WriterStats & FailoverStats; healthStatus(): ClusterHealth[] }): this {
    this.sources.push({
      scrape: (m) => {
        const s = mw.aggregateStats();
        const l = { client };
        m.writerStats(l, s);
        for (const [k, name, help] of FAILOVER_COUNTERS) m.add('counter', name, help, l, s[k] as number);
        s.attempts.forEach((n, i) => m.add('counter', 'multi_attempts_total', 'Writer calls started on each cluster.', { client, cluster: String(i) }, n));
        for (const h of mw.healthStatus()) {
          const cl = { client, cluster: String(h.cluster) };
          m.set('cluster_healthy', 'Whether the multi client routes to the cluster (1) or not (0).', cl, (h.forced ?? h.state) === 'healthy' ? 1 : 0);
          m.set('multi_cluster_unhealthy_transitions', 'Times the cluster turned unhealthy since the client started.', cl, h.failovers);
          m.set('multi_cluster_recoveries', 'Times the cluster turned healthy again since the client started.', cl, h.recoveries);
        }
      },
    });
    return this;
  }

  /** Every metric in the text exposition format; reads the registered clients' stats first. */
  scrape(): string {
    for (const s of this.sources) s.scrape(this);
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
      for (const s of f.series.values()) {
        if (f.type === 'histogram') {
          let cumulative = 0;
          this.bounds.forEach((b, i) => out.push(`${f.name}_bucket${labelText({ ...s.labels, le: num(b) })} ${(cumulative += s.buckets![i])}`));
          out.push(`${f.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
        }
        if (f.type === 'histogram' || f.type === 'summary') {
          out.push(`${f.name}_sum${labelText(s.labels)} ${num(s.sum!)}`, `${f.name}_count${labelText(s.labels)} ${s.count}`);
        } else {
          out.push(`${f.name}${labelText(s.labels)} ${num(s.value)}`);
        }
      }
    }
    return out.join('\n') + '\n';
  }

  // ---------------------------------------------------------------------------------------- inside

  private writerStats(l: Labels, s: WriterStats): void {
    for (const [k, name, help] of WRITER_COUNTERS) this.add('counter', name, help, l, s[k] as number);
    for (const [k, name, help] of WRITER_DURATIONS) this.summary(name, help, l, s[k] as DurationStats, 1000);
    for (const [k, name, help] of WRITER_SIZES) this.summary(name, help, l, s[k] as DurationStats, 1);
  }

  private family(name: string, help: string, type: Kind): Family {
    const full = `${this.prefix}_${name}`;
    let f = this.families.get(full);
    if (!f) this.families.set(full, (f = new Family(full, help, type)));
    return f;
  }

  private add(type: 'counter', name: string, help: string, labels: Labels, v: number): void {
    this.family(name, help, type).at(labels).value += v;
  }

  private set(name: string, help: string, labels: Labels, v: number): void {
    this.family(name, help, 'gauge').at(labels).value = v;
  }

  /** Adds a snapshot-and-reset summary's sum and count (durations in ms become seconds). */
  private summary(name: string, help: string, labels: Labels, d: DurationStats, divisor: number): void {
    const s = this.family(name, help, 'summary').at(labels);
    s.sum = (s.sum ?? 0) + d.sum / divisor;
    s.count = (s.count ?? 0) + d.count;
  }

  /** Counts v in its own bucket only; scrape() makes the counts cumulative. */
  private observeInto(s: Series, v: number): void {
    s.buckets ??= new Array<number>(this.bounds.length).fill(0);
    const i = this.bounds.findIndex((b) => v <= b);
    if (i >= 0) s.buckets[i]++;
    s.sum = (s.sum ?? 0) + v;
    s.count = (s.count ?? 0) + 1;
  }
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NEEDS_ESCAPE = /[\\"\n]/;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}
