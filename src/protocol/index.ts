// Public API of `mka/protocol`: the codec on its own — primitives, every message of every API version
// (generated), record batches, compression, and the typed errors. Bytes in, bytes out: no sockets.
export * from './wire/index.ts';
export * from './messages/index.ts';
export * from './errors.ts';
export { EMPTY_BYTES } from './codec.ts';
export * from './records/index.ts';
export * from './compression/index.ts';
