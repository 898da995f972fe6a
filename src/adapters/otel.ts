// OpenTelemetry for mka (`mka/otel`): producer and consumer spans with the Kafka messaging semantic
// conventions, the trace context carried in a W3C `traceparent` header, and CLIENT spans for broker
// requests fed from the telemetry seam. Written against the shape of @opentelemetry/api (structural
// types, and its numeric enums), so mka depends on nothing: pass `trace.getTracer('app')` as `tracer`,
// and the API module itself as `api` to make a consumed message's producer span the parent.
import type { WriterMessage, WriteResult } from '../client/writer/config.ts';
import type { Message } from '../client/reader/message.ts';
import type { RequestEvent, TelemetryHooks } from '../client/telemetry/events.ts';
import { ErrorCode } from '../protocol/messages/error-codes.ts';

export type AttributeValue = string | number | boolean;

export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
}

export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: AttributeValue): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error): unknown;
  end(endTime?: number): void;
}

export interface OtelSpanOptions {
  kind?: number;
  attributes?: Record<string, AttributeValue>;
  links?: { context: OtelSpanContext }[];
  startTime?: number;
}

export interface OtelTracer {
  startSpan(name: string, options?: OtelSpanOptions, context?: unknown): OtelSpan;
}

/** The parts of @opentelemetry/api used to parent and activate spans (pass the module itself). */
export interface OtelApi {
  trace: {
    setSpan(context: unknown, span: OtelSpan): unknown;
    setSpanContext(context: unknown, spanContext: OtelSpanContext): unknown;
  };
  context: {
    active(): unknown;
    with<T>(context: unknown, fn: () => T): T;
  };
}

export interface KafkaTracingOptions {
  tracer: OtelTracer;
  /** @opentelemetry/api: a consumed message's producer becomes its process span's parent (else a link). */
  api?: OtelApi;
  /** Header that carries the context. Default "traceparent". */
  header?: string;
  /** messaging.client.id */
  clientId?: string;
}

/** @opentelemetry/api's SpanKind and SpanStatusCode values. */
export const SpanKind = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const;
export const SpanStatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

// ------------------------------------------------------------------------------------ traceparent

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function formatTraceparent(sc: OtelSpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The span context in a `traceparent` value; null when it is absent or malformed (W3C Trace Context). */
export function parseTraceparent(value: string | Uint8Array | null | undefined): OtelSpanContext | null {
  if (value == null) return null;
  const m = TRACEPARENT.exec(typeof value === 'string' ? value : new TextDecoder().decode(value));
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return null;
  return { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3], 16), isRemote: true };
}

// --------------------------------------------------------------------------------------- produce

function keyText(key: Uint8Array | string | null | undefined): string | undefined {
  if (key == null) return undefined;
  if (typeof key === 'string') return key;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(key);
  } catch {
    return undefined; // a binary key is not an attribute
  }
}

function failed(span: OtelSpan, e: Error): void {
  span.recordException(e);
  span.setAttribute('error.type', e.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

function base(operation: 'send' | 'process', topic: string, opts: KafkaTracingOptions): Record<string, AttributeValue> {
  const a: Record<string, AttributeValue> = {
    'messaging.system': 'kafka',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    // Pre-1.26 semantic conventions name the operation here.
    'messaging.operation': operation === 'send' ? 'publish' : 'process',
    'messaging.destination.name': topic,
  };
  if (opts.clientId) a['messaging.client.id'] = opts.clientId;
  return a;
}

/** A Writer or MultiWriter, as far as tracing needs it. */
export interface Writable<R extends WriteResult, O extends object> {
  writeMessages(...args: (WriterMessage | O)[]): Promise<R[]>;
  readonly config?: { topic?: string; clientId?: string };
}

/**
 * Wraps a Writer's (or MultiWriter's) writeMessages: each message gets a PRODUCER span "send <topic>",
 * child of the active context, whose context travels in the message's `traceparent` header. The span
 * ends with the message's outcome: its partition and offset, or its error.
 */
export function traceWriter<R extends WriteResult, O extends object>(writer: Writable<R, O>, opts: KafkaTracingOptions): Writable<R, O> {
  const header = opts.header ?? 'traceparent';
  const o = { ...opts, clientId: opts.clientId ?? writer.config?.clientId };
  return {
    config: writer.config,
    async writeMessages(...args: (WriterMessage | O)[]): Promise<R[]> {
      const last = args[args.length - 1];
      const options = last !== undefined && typeof last === 'object' && last !== null && !('value' in last) ? [args.pop() as O] : [];
      const messages = args as WriterMessage[];
      const spans = messages.map((m) => {
        const topic = m.topic ?? writer.config?.topic ?? '';
        const attributes = base('send', topic, o);
        const key = keyText(m.key);
        if (key !== undefined) attributes['messaging.kafka.message.key'] = key;
        const body = m.value == null ? 0 : typeof m.value === 'string' ? new TextEncoder().encode(m.value).length : m.value.length;
        attributes['messaging.message.body.size'] = body;
        return opts.tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes });
      });
      const carried = messages.map((m, i) => ({
        ...m,
        headers: [...(m.headers ?? []).filter((h) => h.key !== header), { key: header, value: formatTraceparent(spans[i].spanContext()) }],
      }));
      try {
        const results = await writer.writeMessages(...carried, ...options);
        results.forEach((r, i) => {
          written(spans[i], r);
          spans[i].end();
        });
        return results;
      } catch (e) {
        const errors = (e as { errors?: readonly (Error | null)[] }).errors;
        spans.forEach((span, i) => {
          const err = Array.isArray(errors) ? errors[i] : e instanceof Error ? e : new Error(String(e));
          if (err) failed(span, err);
          span.end();
        });
        throw e;
      }
    },
  };
}

function written(span: OtelSpan, r: WriteResult): void {
  span.setAttribute('messaging.destination.partition.id', String(r.partition));
  span.setAttribute('messaging.kafka.destination.partition', r.partition);
  if (r.offset >= 0n) {
    span.setAttribute('messaging.kafka.offset', Number(r.offset));
    span.setAttribute('messaging.kafka.message.offset', Number(r.offset));
  }
}

// --------------------------------------------------------------------------------------- consume

/**
 * Runs `handler` for a consumed message inside a CONSUMER span "process <topic>". The producer's
 * context from the message's header is the span's parent when `api` is given (and a link always); the
 * handler runs with the span active (with `api`). The span ends when the handler settles.
 */
export async function traceProcess<M extends Message, T>(
  message: M,
  handler: (message: M) => T | Promise<T>,
  opts: KafkaTracingOptions & { consumerGroup?: string },
): Promise<T> {
  const header = opts.header ?? 'traceparent';
  const remote = parseTraceparent(message.headers.find((h) => h.key === header)?.value);
  const attributes = base('process', message.topic, opts);
  attributes['messaging.destination.partition.id'] = String(message.partition);
  attributes['messaging.kafka.destination.partition'] = message.partition;
  attributes['messaging.kafka.offset'] = Number(message.offset);
  attributes['messaging.kafka.message.offset'] = Number(message.offset);
  const key = keyText(message.key);
  if (key !== undefined) attributes['messaging.kafka.message.key'] = key;
  if (opts.consumerGroup) {
    attributes['messaging.consumer.group.name'] = opts.consumerGroup;
    attributes['messaging.kafka.consumer.group'] = opts.consumerGroup;
  }
  const cluster = (message as { cluster?: unknown }).cluster;
  if (typeof cluster === 'number') attributes['mka.cluster'] = cluster;
  const api = opts.api;
  const parent = api && remote ? api.trace.setSpanContext(api.context.active(), remote) : undefined;
  const span = opts.tracer.startSpan(`process ${message.topic}`, { kind: SpanKind.CONSUMER, attributes, links: remote ? [{ context: remote }] : [] }, parent);
  try {
    const run = () => handler(message);
    return await (api ? api.context.with(api.trace.setSpan(api.context.active(), span), run) : run());
  } catch (e) {
    failed(span, e instanceof Error ? e : new Error(String(e)));
    throw e;
  } finally {
    span.end();
  }
}

// -------------------------------------------------------------------------------------- requests

/**
 * Telemetry hooks that record each broker request as a CLIENT span "<Api> <broker>" (started at the
 * request, ended at its answer). Pass as `telemetry` in a config, or to `subscribeTelemetry`.
 */
export function requestSpans(opts: KafkaTracingOptions): TelemetryHooks {
  return {
    onRequest(e: RequestEvent): void {
      const now = Date.now();
      const [host, port] = splitBroker(e.broker);
      const span = opts.tracer.startSpan(`${e.api} ${e.broker}`, {
        kind: SpanKind.CLIENT,
        startTime: now - e.ms,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.client.id': opts.clientId ?? e.client,
          'server.address': host,
          'server.port': port,
          'mka.api': e.api,
          'mka.api.version': e.version,
          'mka.request.bytes': e.requestBytes,
          'mka.response.bytes': e.responseBytes,
        },
      });
      if (e.error) failed(span, e.error);
      else if (e.errorCode !== ErrorCode.NONE) span.setAttribute('mka.error_code', e.errorCode);
      span.end(now);
    },
  };
}

function splitBroker(b: string): [string, number] {
  const i = b.lastIndexOf(':');
  return [b.slice(0, i), Number(b.slice(i + 1))];
}
