// The one module that touches sockets. Node, Deno and Bun all provide node:net and node:tls; nothing
// else in the library may import them, so porting to another runtime means changing this file only.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { AbortedError, AuthenticationError, ConnectionError, TimeoutError } from '../protocol/errors.ts';

export interface TlsConfig {
  /** PEM CA certificate(s) to trust instead of the runtime's defaults. */
  ca?: string | Uint8Array | (string | Uint8Array)[];
  /** PEM client certificate and key, for brokers that require mutual TLS. */
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** SNI and certificate host name check; defaults to the broker's host when it is a name. */
  servername?: string;
  /** Verification is on by default; turning it off is for tests only. */
  rejectUnauthorized?: boolean;
}

export interface DialOptions {
  host: string;
  port: number;
  tls?: TlsConfig | boolean;
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

/** A byte pipe: what the connection layer needs from a socket and nothing more. */
export interface Transport {
  write(data: Uint8Array): boolean;
  /** Resolves once the socket's buffer has drained below its high-water mark. */
  drained(): Promise<void>;
  onData(cb: (chunk: Uint8Array) => void): void;
  onClose(cb: (err?: Error) => void): void;
  close(): void;
  readonly remote: string;
}

export function dial(opts: DialOptions): Promise<Transport> {
  const { host, port, connectTimeoutMs, signal } = opts;
  const remote = `${host}:${port}`;
  return new Promise<Transport>((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError(`connect to ${remote} aborted`, signal.reason));
    let socket: net.Socket;
    const useTls = opts.tls !== undefined && opts.tls !== false;
    if (useTls) {
      const t: TlsConfig = opts.tls === true ? {} : (opts.tls as TlsConfig);
      socket = tls.connect({
        host,
        port,
        ca: t.ca as tls.ConnectionOptions['ca'],
        cert: t.cert as tls.ConnectionOptions['cert'],
        key: t.key as tls.ConnectionOptions['key'],
        servername: t.servername ?? (net.isIP(host) ? undefined : host),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
      });
    } else {
      socket = net.connect({ host, port });
    }
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      // A socket given up (timeout, abort) may still report its connect failing: on Deno that 'error'
      // comes after destroy(), and with no listener left it would crash the process.
      socket.on('error', () => {});
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new TimeoutError(`connect to ${remote} timed out after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    const onAbort = () => fail(new AbortedError(`connect to ${remote} aborted`, signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    const onError = (err: NodeJS.ErrnoException) => {
      // A certificate the client does not trust will not become trusted by retrying.
      if (useTls && (err.code?.startsWith('ERR_TLS') || /certificate|self.signed|UNABLE_TO/i.test(err.message + (err.code ?? '')))) {
        fail(new AuthenticationError(`TLS handshake with ${remote} failed: ${err.message}`, { cause: err }));
      } else {
        fail(new ConnectionError(`connect to ${remote} failed: ${err.message}`, true, { cause: err }));
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
    };
    socket.once('error', onError);
    // For TLS wait for the handshake itself: some runtimes report the TCP connect before it.
    socket.once(useTls ? 'secureConnect' : 'connect', () => {
      if (settled) return;
      settled = true;
      cleanup();
      socket.setNoDelay(true);
      resolve(wrap(socket, remote));
    });
  });
}

function wrap(socket: net.Socket, remote: string): Transport {
  let closeCb: ((err?: Error) => void) | undefined;
  let lastError: Error | undefined;
  let closed = false;
  socket.on('error', (err) => {
    lastError = new ConnectionError(`connection to ${remote} broke: ${err.message}`, true, { cause: err });
  });
  socket.on('close', () => {
    closed = true;
    closeCb?.(lastError);
  });
  return {
    remote,
    write: (data) => (closed ? false : socket.write(data)),
    drained: () =>
      socket.writableNeedDrain && !closed
        ? new Promise<void>((r) => {
            const done = () => {
              socket.off('drain', done);
              socket.off('close', done);
              r();
            };
            socket.on('drain', done);
            socket.on('close', done);
          })
        : Promise.resolve(),
    onData: (cb) => socket.on('data', (chunk: Uint8Array) => cb(chunk)),
    onClose: (cb) => {
      closeCb = cb;
      if (closed) cb(lastError);
    },
    close: () => {
      socket.destroy();
    },
  };
}
