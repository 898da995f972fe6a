// One broker connection: framing, correlation ids, pipelining up to a limit, a timeout per request,
// version negotiation (ApiVersions) and SASL at open. Every promise it hands out settles: a broken
// socket, a timeout, an abort or close() fails what is in flight with a typed error.
import { Api, ErrorCode, type ApiCodec, type Encodable } from '../protocol/messages/index.ts';
import { encodeRequestHeaderInto, readResponseCorrelation } from './request-frame.ts';
import { abortError } from './deadline.ts';
import {
  ClosedError,
  ConnectionError,
  KafkaError,
  KafkaProtocolError,
  ProtocolDecodeError,
  TimeoutError,
  UnsupportedVersionError,
} from '../protocol/errors.ts';
import { ByteReader, ByteWriter } from '../protocol/wire/index.ts';
import { FrameDecoder } from './framing.ts';
import { authenticate, type SaslConfig } from './sasl/index.ts';
import { dial, type TlsConfig, type Transport } from './transport.ts';
import type { Telemetry } from './telemetry/telemetry.ts';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  tls?: TlsConfig | boolean;
  sasl?: SaslConfig;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Requests sent before their answers arrive; the broker answers them strictly in order. */
  maxInFlight?: number;
  /** Largest response frame accepted; a bigger size prefix closes the connection unread. */
  maxResponseBytes?: number;
  signal?: AbortSignal;
  /**
   * The cluster and node this address is believed to be (from metadata). Sent in ApiVersions v5+
   * (KIP-1242): a broker that is someone else answers REBOOTSTRAP_REQUIRED instead of serving us.
   */
  expect?: { clusterId: string; nodeId: number };
  /** Called for every response frame that arrives: the broker is alive, whatever it answered. */
  onAnswer?: () => void;
  /** The owning client's telemetry: every request's outcome is reported there. */
  telemetry?: Telemetry;
}

export interface RequestOptions {
  /** Protocol version; default: the highest both sides know. */
  version?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending {
  correlationId: number;
  api: ApiCodec<unknown, unknown>;
  version: number;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The caller gave up (abort); the answer is still read off the wire, then dropped. */
  abandoned: boolean;
  cleanup: () => void;
  /** For telemetry: when it was queued, and its frame's size. */
  sentAt: number;
  requestBytes: number;
}

interface Queued {
  frame: Uint8Array;
  pending: Pending | null;
}

const SOFTWARE_NAME = 'mka';
const SOFTWARE_VERSION = '0.1.0';
export const DEFAULTS = {
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxInFlight: 5,
  maxResponseBytes: 256 * 1024 * 1024,
};

export interface VersionRange {
  min: number;
  max: number;
}

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  /** The broker's version range per API key, from ApiVersions. */
  brokerVersions = new Map<number, VersionRange>();
  /** Cluster features the broker reports finalized (ApiVersions v3+), e.g. transaction.version → 2. */
  features = new Map<string, number>();
  private transport!: Transport;
  private readonly opts: Required<Pick<ConnectionOptions, 'connectTimeoutMs' | 'requestTimeoutMs' | 'maxInFlight' | 'maxResponseBytes'>>;
  private correlationId = 0;
  private inflight: Pending[] = [];
  private inflightHead = 0;
  private waiting: Queued[] = [];
  private closedError: Error | null = null;
  private closeListeners: ((err: Error) => void)[] = [];
  /** While SASL (re-)authenticates, user requests wait here. */
  private gate: Promise<void> | null = null;
  private reauthTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly writer = new ByteWriter(1024);
  private readonly onAnswer: (() => void) | undefined;
  private readonly telemetry: Telemetry | undefined;

  private constructor(opts: ConnectionOptions) {
    this.onAnswer = opts.onAnswer;
    this.telemetry = opts.telemetry;
    this.host = opts.host;
    this.port = opts.port;
    this.clientId = opts.clientId;
    this.opts = {
      connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      maxInFlight: Math.max(1, opts.maxInFlight ?? DEFAULTS.maxInFlight),
      maxResponseBytes: opts.maxResponseBytes ?? DEFAULTS.maxResponseBytes,
    };
  }

  get remote(): string {
    return `${this.host}:${this.port}`;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Dials, negotiates versions and authenticates. The connection is usable when this resolves. */
  static async open(opts: ConnectionOptions): Promise<Connection> {
    const c = new Connection(opts);
    c.transport = await dial({
      host: opts.host,
      port: opts.port,
      tls: opts.tls,
      connectTimeoutMs: c.opts.connectTimeoutMs,
      signal: opts.signal,
    });
    const frames = new FrameDecoder(c.opts.maxResponseBytes, (f) => c.onFrame(f));
    c.transport.onData((chunk) => {
      try {
        frames.push(chunk);
      } catch (e) {
        c.fail(e instanceof Error ? e : new ConnectionError(String(e)));
      }
    });
    c.transport.onClose((err) => c.fail(err ?? new ConnectionError(`connection to ${c.remote} closed by the broker`)));
    try {
      await c.negotiateVersions(opts.signal, opts.expect);
      if (opts.sasl) await c.authenticateSasl(opts.sasl, opts.signal);
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** The highest version of `api` both sides know, or an UnsupportedVersionError naming it. */
  version(api: ApiCodec<unknown, unknown>): number {
    const b = this.brokerVersions.get(api.apiKey);
    const max = Math.min(api.maxVersion, b?.max ?? -1);
    const min = Math.max(api.minVersion, b?.min ?? Infinity);
    if (!b || max < min) {
      throw new UnsupportedVersionError(
        `${api.name}: broker ${this.remote} supports ${b ? `v${b.min}-v${b.max}` : 'no version'}, mka supports v${api.minVersion}-v${api.maxVersion}`,
      );
    }
    return max;
  }

  /** Sends one request and resolves with its decoded response. */
  async request<Req, Res>(api: ApiCodec<Req, Res>, body: Encodable<Req>, options: RequestOptions = {}): Promise<Res> {
    while (this.gate) await this.gate;
    return this.send(api, body, options, true) as Promise<Res>;
  }

  /** Sends a request the broker will not answer (Produce with acks=0); resolves once it is written. */
  async requestNoResponse<Req>(api: ApiCodec<Req, unknown>, body: Encodable<Req>, options: RequestOptions = {}): Promise<void> {
    while (this.gate) await this.gate;
    await this.send(api, body, options, false);
  }

  private send(
    api: ApiCodec<unknown, unknown>,
    body: unknown,
    options: RequestOptions,
    expectResponse: boolean,
  ): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal, `${api.name} aborted`));
    let version: number;
    try {
      version = options.version ?? this.version(api);
    } catch (e) {
      return Promise.reject(e);
    }
    const correlationId = (this.correlationId = (this.correlationId + 1) | 0);
    // Encoding errors are the caller's, not the connection's: reject before anything is written.
    let frame: Uint8Array;
    try {
      const w = this.writer;
      w.reset();
      const sizeAt = w.reserve(4);
      encodeRequestHeaderInto(w, api, version, correlationId, this.clientId);
      api.encodeRequest(w, version, body);
      w.setInt32At(sizeAt, w.length - 4);
      frame = w.finish().slice(); // the writer is reused; the socket keeps this frame
    } catch (e) {
      return Promise.reject(e);
    }
    if (!expectResponse) {
      const sentAt = performance.now();
      return this.enqueue({ frame, pending: null })
        .then(() => this.transport.drained())
        .then(() => {
          if (this.telemetry?.request.on) this.told(api, version, sentAt, frame.length, 0, undefined, undefined);
        });
    }
    const tracing = this.telemetry?.tracing;
    if (tracing?.active) {
      // TracingChannel `mka:request`: start/end around the send, asyncStart/asyncEnd (or error) at the answer.
      const context = { client: this.telemetry!.client, api: api.name, apiKey: api.apiKey, version, broker: this.remote, correlationId };
      return tracing.tracePromise(() => this.expect(api, version, correlationId, frame, options), context);
    }
    return this.expect(api, version, correlationId, frame, options);
  }

  /** Queues a request frame and resolves with its decoded answer. */
  private expect(api: ApiCodec<unknown, unknown>, version: number, correlationId: number, frame: Uint8Array, options: RequestOptions): Promise<unknown> {
    const { signal } = options;
    return new Promise((resolve, reject) => {
      const p: Pending = {
        correlationId,
        api,
        version,
        resolve,
        reject,
        timer: undefined,
        abandoned: false,
        cleanup: () => {
          if (p.timer) clearTimeout(p.timer);
          signal?.removeEventListener('abort', onAbort);
        },
        sentAt: performance.now(),
        requestBytes: frame.length,
      };
      const onAbort = () => {
        // The caller stops waiting, but the request's own timeout keeps running: an answer that never
        // comes would hold up every request behind it on this connection, so it must still close it.
        p.abandoned = true;
        signal?.removeEventListener('abort', onAbort);
        reject(abortError(signal!, `${api.name} to ${this.remote} aborted; its effect on the broker is unknown`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timeoutMs = options.timeoutMs ?? this.opts.requestTimeoutMs;
      p.timer = setTimeout(() => {
        // Answers come in order, so one that is late holds up all behind it: the connection is done.
        this.fail(new TimeoutError(`${api.name} v${version} to ${this.remote} got no answer within ${timeoutMs} ms`), p);
      }, timeoutMs);
      void this.enqueue({ frame, pending: p });
    });
  }

  private enqueue(q: Queued): Promise<void> {
    if (this.inflight.length - this.inflightHead < this.opts.maxInFlight && this.waiting.length === 0) {
      this.write(q);
      return Promise.resolve();
    }
    this.waiting.push(q);
    return Promise.resolve();
  }

  private write(q: Queued): void {
    if (q.pending) this.inflight.push(q.pending);
    this.transport.write(q.frame);
  }

  private pump(): void {
    while (this.waiting.length && this.inflight.length - this.inflightHead < this.opts.maxInFlight) {
      this.write(this.waiting.shift()!);
    }
  }

  private onFrame(frame: Uint8Array): void {
    if (this.inflightHead >= this.inflight.length) {
      throw new ConnectionError(`${this.remote} sent a response nobody asked for`, false);
    }
    const p = this.inflight[this.inflightHead];
    this.inflight[this.inflightHead++] = undefined as unknown as Pending;
    if (this.inflightHead > 64 && this.inflightHead * 2 > this.inflight.length) {
      this.inflight = this.inflight.slice(this.inflightHead);
      this.inflightHead = 0;
    }
    const r = new ByteReader(frame);
    p.cleanup();
    let correlationId: number;
    try {
      correlationId = readResponseCorrelation(r, p.api, p.version);
      if (correlationId !== p.correlationId) {
        throw new ConnectionError(`${this.remote} answered correlation id ${correlationId} where ${p.correlationId} was due`, true);
      }
    } catch (e) {
      // The stream is out of step: this request fails with the rest when the caller closes us.
      const err = e instanceof KafkaError ? e : new ConnectionError(String(e), true);
      if (!p.abandoned) p.reject(err);
      throw err;
    }
    this.pump();
    this.onAnswer?.();
    const tell = this.telemetry?.request.on ?? false;
    if (p.abandoned && !tell) return;
    let res: unknown;
    let error: Error | undefined;
    try {
      res = decodeResponse(p.api, p.version, r);
    } catch (e) {
      error = e instanceof Error ? e : new ProtocolDecodeError(String(e), p.api.name, p.version);
    }
    if (tell) this.told(p.api, p.version, p.sentAt, p.requestBytes, frame.length + 4, res, error);
    if (p.abandoned) return;
    if (error) p.reject(error);
    else p.resolve(res);
  }

  /** Telemetry: one request ended (answered, or failed without an answer when `responseBytes` is 0). */
  private told(
    api: ApiCodec<unknown, unknown>,
    version: number,
    sentAt: number,
    requestBytes: number,
    responseBytes: number,
    res: unknown,
    error: Error | undefined,
  ): void {
    const code = (res as { errorCode?: unknown } | undefined)?.errorCode;
    this.telemetry!.request.emit({
      apiKey: api.apiKey,
      api: api.name,
      version,
      broker: this.remote,
      ms: performance.now() - sentAt,
      requestBytes,
      responseBytes,
      errorCode: typeof code === 'number' ? code : ErrorCode.NONE,
      error,
    });
  }

  /** Closes the connection and fails everything in flight or queued with `err`. */
  private fail(err: Error, _cause?: Pending): void {
    if (this.closedError) return;
    this.closedError = err instanceof KafkaError ? err : new ConnectionError(err.message, true, { cause: err });
    if (this.reauthTimer) clearTimeout(this.reauthTimer);
    this.transport?.close();
    const pending = this.inflight.slice(this.inflightHead);
    this.inflight = [];
    this.inflightHead = 0;
    const queued = this.waiting;
    this.waiting = [];
    const tell = this.telemetry?.request.on ?? false;
    for (const p of [...pending, ...queued.map((q) => q.pending)]) {
      if (!p) continue;
      p.cleanup();
      if (tell) this.told(p.api, p.version, p.sentAt, p.requestBytes, 0, undefined, this.closedError);
      if (!p.abandoned) p.reject(this.closedError);
    }
    for (const l of this.closeListeners) l(this.closedError);
    this.closeListeners = [];
  }

  /** Registers a callback for the connection's end (broken, timed out or closed). */
  onClose(cb: (err: Error) => void): void {
    if (this.closedError) cb(this.closedError);
    else this.closeListeners.push(cb);
  }

  close(): void {
    this.fail(new ClosedError(`connection to ${this.remote} closed`));
  }

  // ------------------------------------------------------------------------------- negotiation, SASL

  private async negotiateVersions(signal?: AbortSignal, expect?: ConnectionOptions['expect']): Promise<void> {
    const api = Api.ApiVersions;
    const body = { clientSoftwareName: SOFTWARE_NAME, clientSoftwareVersion: SOFTWARE_VERSION, clusterId: expect?.clusterId ?? null, nodeId: expect?.nodeId ?? -1 };
    let version = api.maxVersion;
    // The first answer is part of opening the connection: a broker that accepts TCP but does not
    // answer (frozen, overloaded) is given the connect timeout, not the longer request timeout.
    const timeoutMs = Math.min(this.opts.connectTimeoutMs, this.opts.requestTimeoutMs);
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await this.send(api, body, { version, signal, timeoutMs }, true) as {
        errorCode: number;
        apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[];
        finalizedFeatures?: { name: string; maxVersionLevel: number }[];
      };
      if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION && attempt === 0) {
        // The broker answered in v0 with the versions it knows; ask again in the newest it speaks.
        const own = res.apiKeys.find((k) => k.apiKey === api.apiKey);
        version = Math.min(own?.maxVersion ?? 0, api.maxVersion);
        continue;
      }
      if (res.errorCode === ErrorCode.REBOOTSTRAP_REQUIRED) {
        throw new KafkaProtocolError(res.errorCode, `${this.remote} is not node ${expect?.nodeId} of cluster ${expect?.clusterId}`);
      }
      if (res.errorCode !== ErrorCode.NONE) {
        throw new ConnectionError(`ApiVersions to ${this.remote} failed with error code ${res.errorCode}`, true);
      }
      this.brokerVersions = new Map(res.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
      this.features = new Map((res.finalizedFeatures ?? []).map((f) => [f.name, f.maxVersionLevel]));
      return;
    }
  }

  private async authenticateSasl(cfg: SaslConfig, signal?: AbortSignal): Promise<void> {
    const lifetimeMs = await authenticate(
      (api, body, version) => this.send(api, body, { version, signal }, true),
      this,
      cfg,
    );
    if (lifetimeMs > 0) this.scheduleReauth(cfg, lifetimeMs);
  }

  /** KIP-368: authenticate again before the session the broker granted runs out. */
  private scheduleReauth(cfg: SaslConfig, lifetimeMs: number): void {
    // Re-authenticate at 85-95 % of the lifetime, jittered so that many connections do not align.
    const delay = Math.max(0, lifetimeMs * (0.85 + Math.random() * 0.1));
    this.reauthTimer = setTimeout(() => {
      let open!: () => void;
      this.gate = new Promise<void>((r) => (open = r));
      this.authenticateSasl(cfg)
        .catch((e) => this.fail(e instanceof Error ? e : new ConnectionError(String(e))))
        .finally(() => {
          this.gate = null;
          open();
        });
    }, delay);
    // A pending re-authentication must not keep the process alive.
    (this.reauthTimer as { unref?: () => void }).unref?.();
  }
}

/** ApiVersions answers an unsupported version in v0 so that any client can read the versions it knows. */
function decodeResponse(api: ApiCodec<unknown, unknown>, version: number, r: ByteReader): unknown {
  if (api.apiKey === Api.ApiVersions.apiKey && version > 0 && r.remaining >= 2) {
    const errorCode = (r.buf[r.offset] << 8) | r.buf[r.offset + 1];
    if (errorCode === ErrorCode.UNSUPPORTED_VERSION) return api.decodeResponse(r, 0);
  }
  return api.decodeResponse(r, version);
}
