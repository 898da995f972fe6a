// The OpenTelemetry adapter with an in-memory tracer and exporter shaped like @opentelemetry/api's
// (the package is not a dependency): producer spans with the Kafka semantic conventions and a
// traceparent header, consumer spans parented by it, request CLIENT spans from the seam.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Reader, Writer, WriteErrors } from '../../src/index.ts';
import { FakeCluster } from '../../src/testing/index.ts';
import {
  formatTraceparent,
  parseTraceparent,
  requestSpans,
  SpanKind,
  SpanStatusCode,
  traceProcess,
  traceWriter,
  type AttributeValue,
  type OtelApi,
  type OtelSpan,
  type OtelSpanContext,
  type OtelSpanOptions,
  type OtelTracer,
} from '../../src/adapters/otel.ts';

/** What an in-memory exporter keeps of a finished span. */
interface Finished {
  name: string;
  kind: number | undefined;
  context: OtelSpanContext;
  parentSpanId: string | undefined;
  attributes: Record<string, AttributeValue>;
  links: OtelSpanContext[];
  status: { code: number; message?: string };
  exceptions: Error[];
  startTime: number | undefined;
  endTime: number | undefined;
}

/** Context: an immutable map holding at most the active span context, as the real API's. */
type Ctx = { span?: OtelSpanContext };
class MemoryOtel {
  readonly exported: Finished[] = [];
  private current: Ctx = {};
  readonly api: OtelApi = {
    trace: {
      setSpan: (_ctx, span) => ({ span: span.spanContext() }),
      setSpanContext: (_ctx, sc) => ({ span: sc }),
    },
    context: {
      active: () => this.current,
      with: <T>(ctx: unknown, fn: () => T): T => {
        const before = this.current;
        this.current = ctx as Ctx;
        try {
          return fn();
        } finally {
          this.current = before;
        }
      },
    },
  };
  readonly tracer: OtelTracer = {
    startSpan: (name: string, options: OtelSpanOptions = {}, context?: unknown): OtelSpan => {
      const parent = ((context as Ctx | undefined) ?? this.current).span;
      const sc: OtelSpanContext = { traceId: parent?.traceId ?? randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: 1 };
      const f: Finished = {
        name, kind: options.kind, context: sc, parentSpanId: parent?.spanId, attributes: { ...options.attributes },
        links: (options.links ?? []).map((l) => l.context), status: { code: SpanStatusCode.UNSET }, exceptions: [],
        startTime: options.startTime, endTime: undefined,
      };
      const span: OtelSpan = {
        spanContext: () => sc,
        setAttribute: (k, v) => void (f.attributes[k] = v),
        setStatus: (s) => void (f.status = s),
        recordException: (e) => void f.exceptions.push(e),
        end: (t) => {
          f.endTime = t ?? Date.now();
          this.exported.push(f);
        },
      };
      return span;
    },
  };
}

const clusters: FakeCluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
});

describe('OpenTelemetry adapter', () => {
  it('traceparent round-trips and rejects malformed or all-zero ids', () => {
    const sc = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
    assert.equal(formatTraceparent(sc), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    assert.deepEqual(parseTraceparent(new TextEncoder().encode(formatTraceparent(sc))), { ...sc, isRemote: true });
    assert.equal(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), null);
    assert.equal(parseTraceparent('garbage'), null);
    assert.equal(parseTraceparent(null), null);
  });

  it('a produced message gets a PRODUCER span with Kafka attributes, and its consumer a CONSUMER span parented by it', async () => {
    const c = await FakeCluster.start({ topics: [{ name: 'orders', partitions: 3, replicationFactor: 1 }] });
    clusters.push(c);
    const otel = new MemoryOtel();
    const writer = new Writer({ brokers: c.bootstrap, topic: 'orders', clientId: 'shop' });
    const traced = traceWriter(writer, { tracer: otel.tracer });
    // The application's own span is active: the send spans are its children.
    const app = otel.tracer.startSpan('checkout');
    const results = await otel.api.context.with(otel.api.trace.setSpan(otel.api.context.active(), app), () =>
      traced.writeMessages({ key: 'order-1', value: 'one', headers: [{ key: 'traceparent', value: 'stale' }] }, { key: 'order-2', value: 'two' }),
    );
    app.end();
    await writer.close();
    const sends = otel.exported.filter((s) => s.kind === SpanKind.PRODUCER);
    assert.deepEqual(sends.map((s) => s.name), ['send orders', 'send orders']);
    const s1 = sends.find((s) => s.attributes['messaging.kafka.message.key'] === 'order-1')!;
    assert.equal(s1.parentSpanId, app.spanContext().spanId);
    assert.deepEqual(
      { ...s1.attributes },
      {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.operation': 'publish',
        'messaging.destination.name': 'orders',
        'messaging.client.id': 'shop',
        'messaging.kafka.message.key': 'order-1',
        'messaging.message.body.size': 3,
        'messaging.destination.partition.id': String(results[0].partition),
        'messaging.kafka.destination.partition': results[0].partition,
        'messaging.kafka.offset': Number(results[0].offset),
        'messaging.kafka.message.offset': Number(results[0].offset),
      },
    );

    // The consumer: the header carries the send span's context (the stale one was replaced).
    const reader = new Reader({ brokers: c.bootstrap, topic: 'orders', partition: results[0].partition, maxWaitMs: 50 });
    const m = await reader.readMessage({ timeoutMs: 5000 });
    await reader.close();
    assert.equal(m.headers.filter((h) => h.key === 'traceparent').length, 1);
    let activeInHandler: OtelSpanContext | undefined;
    const out = await traceProcess(m, (msg) => {
      activeInHandler = (otel.api.context.active() as { span?: OtelSpanContext }).span;
      return Buffer.from(msg.value!).toString();
    }, { tracer: otel.tracer, api: otel.api, consumerGroup: 'billing' });
    assert.equal(out, 'one');
    const proc = otel.exported.find((s) => s.kind === SpanKind.CONSUMER)!;
    assert.equal(proc.name, 'process orders');
    assert.equal(proc.parentSpanId, s1.context.spanId, 'the producer span is the parent');
    assert.equal(proc.context.traceId, app.spanContext().traceId, 'one trace from checkout to processing');
    assert.deepEqual(proc.links.map((l) => l.spanId), [s1.context.spanId]);
    assert.equal(activeInHandler?.spanId, proc.context.spanId, 'the handler runs with the process span active');
    assert.equal(proc.attributes['messaging.operation.type'], 'process');
    assert.equal(proc.attributes['messaging.consumer.group.name'], 'billing');
    assert.equal(proc.attributes['messaging.kafka.offset'], Number(m.offset));
    assert.equal(proc.attributes['messaging.kafka.message.key'], 'order-1');
  });

  it('a failed message ends its span with ERROR status and the exception; a failing handler too', async () => {
    const otel = new MemoryOtel();
    const boom = new Error('no leader');
    const fakeWriter = {
      config: { topic: 't' },
      async writeMessages(): Promise<{ topic: string; partition: number; offset: bigint }[]> {
        throw new WriteErrors([null, boom]);
      },
    };
    await assert.rejects(traceWriter(fakeWriter, { tracer: otel.tracer }).writeMessages({ value: 'a' }, { value: 'b' }), WriteErrors);
    const [ok, bad] = otel.exported;
    assert.equal(ok.status.code, SpanStatusCode.UNSET);
    assert.equal(bad.status.code, SpanStatusCode.ERROR);
    assert.equal(bad.exceptions[0], boom);
    const msg = { topic: 't', partition: 0, offset: 5n, highWaterMark: 6n, key: null, value: null, headers: [], time: new Date() };
    await assert.rejects(traceProcess(msg, () => Promise.reject(new TypeError('bad')), { tracer: otel.tracer }), TypeError);
    const proc = otel.exported[2];
    assert.equal(proc.status.code, SpanStatusCode.ERROR);
    assert.deepEqual(proc.links, [], 'no header, no link');
  });

  it('requestSpans turns request events into CLIENT spans with the request timing', async () => {
    const c = await FakeCluster.start({ topics: [{ name: 'r', partitions: 1, replicationFactor: 1 }] });
    clusters.push(c);
    const otel = new MemoryOtel();
    const w = new Writer({ brokers: c.bootstrap, topic: 'r', telemetry: requestSpans({ tracer: otel.tracer }) });
    await w.writeMessages({ value: 'x' });
    await w.close();
    const produce = otel.exported.find((s) => s.name.startsWith('Produce '))!;
    assert.equal(produce.kind, SpanKind.CLIENT);
    assert.equal(produce.attributes['server.port'], Number(c.bootstrap[0].split(':')[1]));
    assert.ok((produce.attributes['mka.request.bytes'] as number) > 0);
    assert.ok(produce.startTime! <= produce.endTime!);
  });
});
