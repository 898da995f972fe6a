// Splits a byte stream into Kafka's size-prefixed frames. The size prefix is checked against a limit
// before anything is allocated, so a hostile or corrupt peer cannot make us reserve what it claims.
import { ConnectionError } from '../protocol/errors.ts';

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private need = -1; // size of the frame being assembled, -1 while its prefix is not complete

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onFrame: (frame: Uint8Array) => void,
  ) {}

  /** Feeds bytes; calls onFrame for each complete frame. Throws ConnectionError on an oversized prefix. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) return;
        const head = this.take(4);
        const size = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
        if (size > this.maxFrameBytes) {
          throw new ConnectionError(
            `response frame of ${size} bytes exceeds the limit of ${this.maxFrameBytes} bytes (maxResponseBytes)`,
            false,
          );
        }
        this.need = size;
      }
      if (this.buffered < this.need) return;
      const frame = this.take(this.need);
      this.need = -1;
      this.onFrame(frame);
    }
  }

  /** Removes n buffered bytes: a view when they lie in one chunk, one copy of exactly n bytes otherwise. */
  private take(n: number): Uint8Array {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const part = Math.min(c.length, n - filled);
      out.set(part === c.length ? c : c.subarray(0, part), filled);
      filled += part;
      if (part === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(part);
    }
    return out;
  }
}
