// Connections per broker and purpose, opened lazily, reopened after a break with exponential backoff.
// A broker answers one connection's requests strictly in order, so a fetch that long-polls for seconds
// would hold up a produce or a heartbeat queued behind it: each purpose gets its own connection.
import { ClosedError, ConnectionError } from '../protocol/errors.ts';
import { Connection, type ConnectionOptions } from './connection.ts';
import { raceSignal } from './deadline.ts';
import { backoff } from './retry.ts';

export type Purpose = 'control' | 'produce' | 'fetch' | 'group' | 'heartbeat' | 'admin';

export type BaseConnectionOptions = Omit<ConnectionOptions, 'host' | 'port' | 'signal' | 'expect'>;

interface Entry {
  conn: Connection | null;
  opening: Promise<Connection> | null;
  failures: number;
  retryAt: number;
}

export interface PoolHooks {
  /** A connection was dialled (for stats). */
  onDial?: (remote: string, ms: number, ok: boolean) => void;
}

export class ConnectionPool {
  private readonly entries = new Map<string, Entry>();
  private closed = false;
  /** Ends the dials in progress (and their reconnect waits) when the pool closes. */
  private readonly lifetime = new AbortController();
  /** Reconnect waits in progress; redialNow() ends them. */
  private readonly waits = new Set<() => void>();

  constructor(
    private readonly base: BaseConnectionOptions,
    private readonly reconnect: { backoffMinMs: number; backoffMaxMs: number } = { backoffMinMs: 100, backoffMaxMs: 10_000 },
    private readonly hooks: PoolHooks = {},
  ) {}

  /**
   * The open connection for (broker, purpose), dialling it when there is none. A dial is shared by
   * every caller that wants it: `signal` ends this caller's wait, never the dial.
   */
  async get(
    host: string,
    port: number,
    purpose: Purpose | string,
    signal?: AbortSignal,
    opts: { noWait?: boolean; expect?: ConnectionOptions['expect'] } = {},
  ): Promise<Connection> {
    if (this.closed) throw new ClosedError('connection pool closed');
    const key = `${host}:${port}/${purpose}`;
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { conn: null, opening: null, failures: 0, retryAt: 0 }));
    if (e.conn && !e.conn.closed) return e.conn;
    // A caller with other brokers to try should not sit out this one's reconnect backoff.
    if (opts.noWait && !e.opening && e.retryAt > performance.now()) {
      throw new ConnectionError(`${host}:${port} failed recently; reconnect backoff`, true);
    }
    if (!e.opening) e.opening = this.open(e, host, port, opts.expect);
    return raceSignal(e.opening, signal, `connect to ${host}:${port} aborted`);
  }

  private async open(e: Entry, host: string, port: number, expect: ConnectionOptions['expect']): Promise<Connection> {
    try {
      const wait = e.retryAt - performance.now();
      if (wait > 0) await this.backoffWait(wait);
      const t0 = performance.now();
      try {
        const conn = await Connection.open({ ...this.base, host, port, expect, signal: this.lifetime.signal });
        const opened = performance.now();
        this.hooks.onDial?.(conn.remote, opened - t0, true);
        const tel = this.base.telemetry;
        if (tel?.connection.on) tel.connection.emit({ type: 'open', broker: conn.remote, ms: opened - t0 });
        if (this.closed) {
          conn.close();
          throw new ClosedError('connection pool closed');
        }
        e.conn = conn;
        e.failures = 0;
        conn.onClose((error) => {
          if (tel?.connection.on) tel.connection.emit({ type: 'close', broker: conn.remote, ms: performance.now() - opened, error });
          // The next dial after a break waits a little, so a restarting broker is not hammered.
          if (e.conn === conn) {
            e.conn = null;
            e.retryAt = performance.now() + backoff(1, this.reconnect.backoffMinMs, this.reconnect.backoffMinMs * 2);
          }
        });
        return conn;
      } catch (err) {
        this.hooks.onDial?.(`${host}:${port}`, performance.now() - t0, false);
        const tel = this.base.telemetry;
        if (tel?.connection.on) tel.connection.emit({ type: 'dial-failure', broker: `${host}:${port}`, ms: performance.now() - t0, error: err instanceof Error ? err : new ConnectionError(String(err)) });
        e.failures++;
        e.retryAt = performance.now() + backoff(e.failures, this.reconnect.backoffMinMs, this.reconnect.backoffMaxMs);
        throw err;
      }
    } finally {
      e.opening = null;
    }
  }

  /**
   * Forgets every reconnect backoff and ends the waits in progress: the caller knows the brokers answer
   * again (a health probe on another client did), and a write should not sit out a backoff that grew
   * while they were down.
   */
  redialNow(): void {
    for (const e of this.entries.values()) {
      e.failures = 0;
      e.retryAt = 0;
    }
    for (const wake of [...this.waits]) wake();
  }

  private backoffWait(ms: number): Promise<void> {
    const closing = this.lifetime.signal;
    return new Promise<void>((resolve, reject) => {
      if (closing.aborted) return reject(closing.reason);
      const end = () => {
        clearTimeout(t);
        this.waits.delete(wake);
        closing.removeEventListener('abort', onClose);
      };
      const wake = () => {
        end();
        resolve();
      };
      const onClose = () => {
        end();
        reject(closing.reason);
      };
      const t = setTimeout(wake, ms);
      this.waits.add(wake);
      closing.addEventListener('abort', onClose, { once: true });
    });
  }

  /**
   * Closes one connection (broker and purpose) without forgetting its backoff: what is in flight on it
   * fails at once and the next call dials again. For a connection that stopped answering.
   */
  closeConnection(host: string, port: number, purpose: Purpose | string): void {
    this.entries.get(`${host}:${port}/${purpose}`)?.conn?.close();
  }

  /** Closes every connection to one broker (after it is gone from metadata, or misbehaved). */
  closeBroker(host: string, port: number): void {
    const prefix = `${host}:${port}/`;
    for (const [key, e] of this.entries) {
      if (key.startsWith(prefix)) {
        e.conn?.close();
        this.entries.delete(key);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.lifetime.abort(new ClosedError('connection pool closed'));
    for (const e of this.entries.values()) e.conn?.close();
    this.entries.clear();
  }
}
