// The typed errors of mka. One module, so that every layer throws the same classes and a caller can
// branch on `instanceof` or on `retriable` without knowing which layer failed.
import { ERROR_CODES, ErrorCode } from './messages/error-codes.ts';

/** Base class of every error mka throws on purpose. `retriable` says whether trying again may help. */
export class KafkaError extends Error {
  readonly retriable: boolean;
  constructor(message: string, retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.retriable = retriable;
  }
}

/** An error code returned by a broker, described by Kafka's error table. */
export class KafkaProtocolError extends KafkaError {
  readonly code: number;
  /** Kafka's name of the code, e.g. `NOT_LEADER_OR_FOLLOWER`. */
  readonly type: string;
  /** The error means the client's view of the cluster is stale: refresh metadata before retrying. */
  readonly invalidatesMetadata: boolean;
  constructor(code: number, detail?: string | null) {
    const info = ERROR_CODES.get(code);
    const type = info?.name ?? `UNKNOWN_ERROR_CODE_${code}`;
    const text = detail || info?.message || 'unknown error code';
    super(`${type} (${code}): ${text}`, info?.retriable ?? false);
    this.code = code;
    this.type = type;
    this.invalidatesMetadata = info?.invalidatesMetadata ?? false;
  }
}

/** Throws the typed error for a non-zero error code; returns silently for 0. */
export function throwIfError(code: number, detail?: string | null): void {
  if (code !== ErrorCode.NONE) throw new KafkaProtocolError(code, detail);
}

/** Bytes that do not decode as the named API, version and field (truncated, oversized, malformed). */
export class ProtocolDecodeError extends KafkaError {
  constructor(
    message: string,
    readonly api?: string,
    readonly version?: number,
    readonly field?: string,
    readonly offset?: number,
  ) {
    super(message, false);
  }
}

/** A value that cannot be encoded in the requested version (missing field, out of range, too new). */
export class ProtocolEncodeError extends KafkaError {
  constructor(message: string) {
    super(message, false);
  }
}

/** A record batch or message set failed its integrity checks (CRC, magic, lengths, decompression). */
export class CorruptRecordError extends KafkaError {
  constructor(
    message: string,
    readonly topic?: string,
    readonly partition?: number,
    readonly offset?: bigint,
  ) {
    super(message, false);
  }
}

/** The object was closed; kafka-go's io.EOF / io.ErrClosedPipe. */
export class ClosedError extends KafkaError {
  constructor(message = 'closed') {
    super(message, false);
  }
}

/** A call did not complete within its timeout. Delivery or effect is unknown. */
export class TimeoutError extends KafkaError {
  constructor(message = 'timed out') {
    super(message, true);
  }
}

/** The caller's AbortSignal fired. Delivery or effect is unknown. */
export class AbortedError extends KafkaError {
  constructor(message = 'aborted', cause?: unknown) {
    super(message, false, { cause });
  }
}

/** A socket could not be opened, broke, or sent something the client must not accept. */
export class ConnectionError extends KafkaError {
  constructor(message: string, retriable = true, options?: { cause?: unknown }) {
    super(message, retriable, options);
  }
}

/** SASL or TLS refused us. Never retried: a wrong password does not become right. */
export class AuthenticationError extends KafkaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
  }
}

/** No version of an API is known to both the client and the broker. */
export class UnsupportedVersionError extends KafkaError {
  constructor(message: string) {
    super(message, false);
  }
}

/**
 * A newer producer with the same transactional id started (or the coordinator refused our epoch as
 * one fenced): this Writer can never write in a transaction again. Fatal, never retried: close it.
 */
export class ProducerFencedError extends KafkaProtocolError {
  constructor(code: number, detail?: string | null) {
    super(code, detail);
  }
}

/**
 * The open transaction cannot commit (a write in it failed, timed out or was refused): abort it, then
 * the Writer may begin the next one. `cause` is the first failure seen.
 */
export class TransactionAbortableError extends KafkaError {
  constructor(message: string, cause?: unknown) {
    super(message, false, { cause });
  }
}

/** A transactional call made in the wrong state (a write outside a transaction, a commit with none open). */
export class TransactionStateError extends KafkaError {
  constructor(message: string) {
    super(message, false);
  }
}
