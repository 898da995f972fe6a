// Settings shared by the failover tests that drive a MultiWriter over the real clusters.
import type { WriterConfig } from '../../src/client/writer/config.ts';

/** Writer settings that notice a dead cluster within a couple of seconds (the defaults take far longer). */
export const fastFailingWriter = (brokers: string[], topic: string): WriterConfig => ({
  brokers,
  topic,
  batchTimeoutMs: 2,
  maxAttempts: 3,
  writeBackoffMinMs: 50,
  writeBackoffMaxMs: 300,
  writeTimeoutMs: 5000,
  connectTimeoutMs: 1000,
  requestTimeoutMs: 3000,
  reconnectBackoffMaxMs: 500,
  retry: { attempts: 2, backoffMinMs: 50, backoffMaxMs: 200 },
});
