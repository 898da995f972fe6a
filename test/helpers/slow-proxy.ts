// A slow link in front of a one-broker cluster: a loopback TCP proxy that delays every broker->client
// frame by `delayMs`, so each round trip takes at least that long. Metadata responses are decoded with
// the project's own codec and every broker address in them is rewritten to the proxy's, so a client
// bootstrapped on the proxy never finds a way around it. Requests pass through at once; the proxy
// learns each correlation id's API and version from them to know which answers are Metadata.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Api, decodeResponseHeader, encodeResponseHeader, type MetadataResponse } from '../../src/protocol/messages/index.ts';
import { ByteReader } from '../../src/protocol/wire/byte-reader.ts';
import { ByteWriter } from '../../src/protocol/wire/byte-writer.ts';

export interface SlowProxy {
  readonly address: string;
  /** Frames delayed so far, broker to client. */
  readonly frames: () => number;
  close(): Promise<void>;
}

/** Splits a byte stream into Kafka frames (4-byte size prefix), in order. */
function framer(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const size = buf.readInt32BE(0);
      onFrame(buf.subarray(0, 4 + size));
      buf = buf.subarray(4 + size);
    }
  };
}

/** A frame seen by the proxy: its direction, API, version and size in bytes (size prefix included). */
export interface ProxyFrame {
  direction: 'request' | 'response';
  apiKey: number;
  version: number;
  bytes: number;
}

/** `onFrame` observes every frame that passes (for tests that count request bytes). */
export async function startSlowProxy(target: string, delayMs: number, onFrame?: (f: ProxyFrame) => void): Promise<SlowProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let frames = 0;
  let self = 0;
  const server: Server = createServer((client) => {
    const broker = connect(port, host);
    sockets.add(client).add(broker);
    const end = () => {
      client.destroy();
      broker.destroy();
    };
    for (const s of [client, broker]) {
      s.on('error', end);
      s.on('close', () => {
        sockets.delete(s);
        end();
      });
    }
    const asked = new Map<number, { apiKey: number; version: number }>();
    client.on('data', framer((f) => {
      // Request header v1+: api key, version, correlation id come first in every version.
      asked.set(f.readInt32BE(8), { apiKey: f.readInt16BE(4), version: f.readInt16BE(6) });
      onFrame?.({ direction: 'request', apiKey: f.readInt16BE(4), version: f.readInt16BE(6), bytes: f.length });
      broker.write(f);
    }));
    broker.on('data', framer((f) => {
      const correlationId = f.readInt32BE(4);
      const req = asked.get(correlationId);
      asked.delete(correlationId);
      if (req) onFrame?.({ direction: 'response', apiKey: req.apiKey, version: req.version, bytes: f.length });
      const out = req?.apiKey === Api.Metadata.apiKey ? rewriteMetadata(f, req.version, '127.0.0.1', self) : f;
      frames++;
      const t = setTimeout(() => {
        timers.delete(t);
        if (!client.destroyed) client.write(out);
      }, delayMs);
      timers.add(t);
    }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${self}`,
    frames: () => frames,
    close: () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Metadata response frame with every broker's address replaced by host:port. */
function rewriteMetadata(frame: Buffer, version: number, host: string, port: number): Buffer {
  const api = Api.Metadata;
  const r = new ByteReader(new Uint8Array(frame.buffer, frame.byteOffset + 4, frame.length - 4));
  const header = decodeResponseHeader(r, api.responseHeaderVersion(version));
  const res: MetadataResponse = api.decodeResponse(r, version);
  for (const b of res.brokers) {
    b.host = host;
    b.port = port;
  }
  const w = new ByteWriter(frame.length + 64);
  const sizeAt = w.reserve(4);
  encodeResponseHeader(w, api.responseHeaderVersion(version), header);
  api.encodeResponse(w, version, res);
  w.setInt32At(sizeAt, w.length - 4);
  return Buffer.from(w.finish());
}
