// Kafka brokers apply metadata and config changes asynchronously (KRaft metadata log): a read right
// after a write may see the old state for a moment. Tests that read back an admin change poll for it.
export async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
