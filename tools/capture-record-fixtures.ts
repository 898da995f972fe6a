// Captures record sets written by Kafka's Java producer, one per codec, as the broker returns them in
// a Fetch: test/fixtures/records/java-<codec>.bin. Unit tests decode them without a broker.
//   npm run kafka:up && node --import tsx tools/capture-record-fixtures.ts
import { writeFileSync } from 'node:fs';
import { Client } from '../src/client/client.ts';
import { cluster } from '../test/helpers/kafka.ts';
import { javaProduce, javaSample } from '../test/helpers/java-tools.ts';
import { fetchRecordSet } from '../test/helpers/produce.ts';

const B = cluster('b');
const client = new Client({ brokers: B.bootstrap });
try {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    const topic = `fixture-${codec}-${Date.now()}`;
    await client.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    await javaProduce(B.bootstrap[0], topic, javaSample(20), codec);
    const bytes = await fetchRecordSet(client, topic, 0, 0n);
    writeFileSync(new URL(`../test/fixtures/records/java-${codec}.bin`, import.meta.url), bytes);
    console.log(`${codec}: ${bytes.length} bytes`);
    await client.deleteTopics([topic]);
  }
} finally {
  await client.close();
}
