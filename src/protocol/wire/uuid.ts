// Kafka's Uuid in its string form: the 16 bytes as URL-safe base64 without padding (22 characters),
// as the Java Uuid.toString prints it and as Kafka's tools show topic ids.
import { ProtocolEncodeError } from '../errors.ts';

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) INDEX[ALPHABET.charCodeAt(i)] = i;

export function uuidToString(b: Uint8Array, at = 0): string {
  let s = '';
  let i = 0;
  for (; i + 3 <= 16; i += 3) {
    const n = (b[at + i] << 16) | (b[at + i + 1] << 8) | b[at + i + 2];
    s += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const n = b[at + 15] << 16; // one byte left: two characters
  return s + ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
}

/** Writes the 16 bytes of a Uuid string into out at `at`. */
export function uuidFromString(s: string, out: Uint8Array, at: number): void {
  if (s.length !== 22) throw new ProtocolEncodeError(`uuid "${s}" is not 22 base64url characters`);
  let o = at;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 22; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? INDEX[c] : -1;
    if (v < 0) throw new ProtocolEncodeError(`uuid "${s}" has a character outside base64url`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o < at + 16) out[o++] = (acc >> bits) & 0xff;
    }
  }
}

