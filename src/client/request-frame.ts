// Request and response headers on the wire, through the generated header codecs: which header version
// an API version uses comes from the registry (flexible versions use v2/v1; ApiVersions' response is
// always v0 so that a client can read it whatever version the broker speaks).
import type { ApiCodec } from '../protocol/messages/index.ts';
import { decodeResponseHeader, encodeRequestHeader } from '../protocol/messages/index.ts';
import type { ByteReader } from '../protocol/wire/byte-reader.ts';
import type { ByteWriter } from '../protocol/wire/byte-writer.ts';

export function encodeRequestHeaderInto(w: ByteWriter, api: ApiCodec<unknown, unknown>, version: number, correlationId: number, clientId: string): void {
  encodeRequestHeader(w, api.requestHeaderVersion(version), {
    requestApiKey: api.apiKey,
    requestApiVersion: version,
    correlationId,
    clientId,
  });
}

/** Reads a response header and returns its correlation id. */
export function readResponseCorrelation(r: ByteReader, api: ApiCodec<unknown, unknown>, version: number): number {
  return decodeResponseHeader(r, api.responseHeaderVersion(version)).correlationId;
}
