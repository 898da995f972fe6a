// One fake broker's sockets: a TCP (or TLS) server per listener, and per connection the framing, the
// request header, SASL gating, fault rules and in-order answers. Requests of one connection are handled
// one at a time, as a Kafka broker mutes a channel until it has answered — so a long poll or a held
// JoinGroup delays what follows on the same connection, exactly as with a real broker.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Api, ErrorCode, apiByKey, decodeRequestHeader, encodeResponseHeader } from '../protocol/messages/index.ts';
import { ByteReader, ByteWriter } from '../protocol/wire/index.ts';
import type { ApiHandler, ClusterServices, ListenerView, RequestContext, SessionState } from './context.ts';
import { NO_RESPONSE, sleep } from './context.ts';
import { overwriteErrorCodes, type FaultRules } from './faults.ts';

/** Largest request frame accepted: anything bigger is a broken or hostile client (Kafka: socket.request.max.bytes). */
const MAX_FRAME = 100 * 1024 * 1024;
const SASL_APIS = new Set([Api.ApiVersions.apiKey, Api.SaslHandshake.apiKey, Api.SaslAuthenticate.apiKey]);

export interface ListenerSpec {
  name: string;
  sasl: boolean;
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface BrokerDeps {
  services: ClusterServices;
  handlers: ReadonlyMap<number, ApiHandler>;
  faults: FaultRules;
  host: string;
  listeners: readonly ListenerSpec[];
  /** The port of every broker on each listener (fixed after the first start, so restarts keep them). */
  ports: Map<string, Map<number, number>>;
  /** Told about every request that could not be decoded or answered (its connection is closed). */
  onRequestError?: (broker: number, error: unknown) => void;
}

export class FakeBroker {
  private servers: Server[] = [];
  private readonly connections = new Set<FakeConnection>();
  private frozenFlag = false;

  constructor(
    readonly id: number,
    private readonly deps: BrokerDeps,
  ) {}

  get running(): boolean {
    return this.servers.length > 0;
  }

  get frozen(): boolean {
    return this.frozenFlag;
  }

  async start(): Promise<void> {
    if (this.running) return;
    for (const l of this.deps.listeners) {
      const ports = this.deps.ports.get(l.name)!;
      const onSocket = (s: Socket) => this.accept(s, l);
      const server = l.tls ? createTlsServer({ key: l.tls.key, cert: l.tls.cert }, onSocket) : createServer(onSocket);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.deps.host, port: ports.get(this.id) ?? 0 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      if (addr && typeof addr === 'object') ports.set(this.id, addr.port);
      this.servers.push(server);
    }
  }

  /** Closes the listeners and every connection (a broker process that died or shut down). */
  async stop(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    for (const c of [...this.connections]) c.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  freeze(): void {
    this.frozenFlag = true;
  }

  thaw(): void {
    this.frozenFlag = false;
    for (const c of this.connections) c.resume();
  }

  private accept(socket: Socket, listener: ListenerSpec): void {
    const ports = this.deps.ports.get(listener.name)!;
    const view: ListenerView = { name: listener.name, host: this.deps.host, ports, sasl: listener.sasl };
    const conn = new FakeConnection(socket, this, this.deps, view, listener.sasl);
    this.connections.add(conn);
    socket.once('close', () => {
      this.connections.delete(conn);
      conn.destroy();
    });
  }
}

class FakeConnection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly queue: Uint8Array[] = [];
  private busy = false;
  private silenced = false;
  private readonly pendingOut: Uint8Array[] = [];
  private readonly closed = new AbortController();
  private readonly session: SessionState;

  constructor(
    private readonly socket: Socket,
    private readonly broker: FakeBroker,
    private readonly deps: BrokerDeps,
    private readonly listener: ListenerView,
    sasl: boolean,
  ) {
    this.session = { mechanism: null, exchange: null, authenticated: !sasl, principal: null, expiresAt: Infinity, closeAfterReply: false };
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => this.destroy());
  }

  destroy(): void {
    if (!this.closed.signal.aborted) this.closed.abort();
    this.queue.length = 0;
    this.socket.destroy();
  }

  /** After a thaw: answers held while frozen go out, then the queued requests are handled. */
  resume(): void {
    for (const b of this.pendingOut.splice(0)) this.socket.write(b);
    void this.pump();
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    while (this.buffered >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = [head];
      const size = head.readInt32BE(0);
      if (size < 8 || size > MAX_FRAME) return this.destroy();
      if (head.length < 4 + size) break;
      this.queue.push(new Uint8Array(head.subarray(4, 4 + size)));
      const rest = head.subarray(4 + size);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    while (!this.busy && !this.silenced && !this.broker.frozen && this.queue.length && !this.closed.signal.aborted) {
      this.busy = true;
      try {
        await this.handle(this.queue.shift()!);
      } catch (e) {
        // A request that cannot be decoded or answered ends the connection, as Kafka does.
        this.deps.onRequestError?.(this.broker.id, e);
        this.destroy();
      } finally {
        this.busy = false;
      }
    }
  }

  private send(bytes: Uint8Array): void {
    if (this.closed.signal.aborted) return;
    if (this.broker.frozen) this.pendingOut.push(bytes);
    else this.socket.write(bytes);
  }

  private async handle(frame: Uint8Array): Promise<void> {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const apiKey = view.getInt16(0);
    const version = view.getInt16(2);
    const correlationId = view.getInt32(4);
    const codec = apiByKey(apiKey);
    if (!codec) return this.destroy();
    const handler = this.deps.handlers.get(apiKey);
    const services = this.deps.services;
    const max = handler ? services.maxVersion(apiKey) : -1;
    const supported = handler !== undefined && version >= handler.minVersion && version <= max;

    if (apiKey === Api.ApiVersions.apiKey && !supported) {
      // The documented fallback: a version the broker does not know gets a v0 answer listing its ranges.
      return this.reply(codec.apiKey, 0, correlationId, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: services.listed() }, 0);
    }
    const r = new ByteReader(frame);
    const header = decodeRequestHeader(r, codec.requestHeaderVersion(Math.max(version, codec.minVersion)));
    if (!this.session.authenticated || this.session.expiresAt <= performance.now()) {
      if (!SASL_APIS.has(apiKey)) return this.destroy();
    }
    if (!supported) {
      if (version < codec.minVersion || version > codec.maxVersion) return this.destroy();
      return this.reply(apiKey, version, correlationId, { errorCode: ErrorCode.UNSUPPORTED_VERSION }, codec.responseHeaderVersion(version));
    }
    const request = codec.decodeRequest(r, version);

    const fault = this.deps.faults.match(this.broker.id, apiKey);
    if (fault?.drop) return this.destroy();
    if (fault?.noAnswer) {
      this.silenced = true;
      return;
    }
    const ctx: RequestContext = {
      services,
      state: services.state,
      brokerId: this.broker.id,
      listener: this.listener,
      version,
      clientId: header.clientId ?? '',
      clientHost: this.socket.remoteAddress ?? '127.0.0.1',
      session: this.session,
      signal: this.closed.signal,
    };
    const answer = await handler.handle(ctx, request);
    if (fault?.delayMs) await sleep(fault.delayMs, this.closed.signal);
    if (answer === NO_RESPONSE) return;
    if (fault?.errorCode !== undefined) overwriteErrorCodes(answer, fault.errorCode);
    const bytes = this.encode(apiKey, version, correlationId, answer, codec.responseHeaderVersion(version));
    if (fault?.corruptAt !== undefined) {
      const at = fault.corruptAt === 'last' ? bytes.length - 1 : fault.corruptAt < 0 ? bytes.length + fault.corruptAt : Math.min(4 + fault.corruptAt, bytes.length - 1);
      bytes[at] ^= 0xff;
    }
    this.send(bytes);
    if (this.session.closeAfterReply) this.socket.end();
  }

  private encode(apiKey: number, version: number, correlationId: number, body: unknown, headerVersion: number): Uint8Array {
    const w = new ByteWriter(256);
    const at = w.reserve(4);
    encodeResponseHeader(w, headerVersion, { correlationId });
    apiByKey(apiKey)!.encodeResponse(w, version, body);
    w.setInt32At(at, w.length - 4);
    return w.finish().slice();
  }

  private reply(apiKey: number, version: number, correlationId: number, body: unknown, headerVersion: number): void {
    this.send(this.encode(apiKey, version, correlationId, body, headerVersion));
  }
}
