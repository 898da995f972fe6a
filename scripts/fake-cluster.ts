// One fake cluster in its own process, for scripts/fake-kafka.mjs: SIGSTOP freezes all of it and
// SIGKILL really kills it, as with broker JVMs. Its data directory keeps what it acknowledged, so a
// killed-and-restarted cluster still has it. A small HTTP server on a unix socket takes the per-broker
// commands (stop/start/freeze/thaw one broker) that signals cannot express.
//   tsx scripts/fake-cluster.ts '<json: FakeClusterOptions + { control: socketPath }>'
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { FakeCluster, type FakeClusterOptions } from '../src/testing/index.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as FakeClusterOptions & { control: string };
// Anything the fake cannot answer goes to this cluster's log file: a client bug or a gap in the fake.
const cluster = await FakeCluster.start({ ...spec, onRequestError: (broker, e) => console.error(`[fake broker ${broker}]`, e) });

rmSync(spec.control, { force: true });
const control = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const id = Number(url.searchParams.get('id'));
  try {
    switch (url.pathname) {
      case '/stop-broker': await cluster.stopBroker(id, { kill: url.searchParams.has('kill') }); break;
      case '/start-broker': await cluster.startBroker(id); break;
      case '/freeze-broker': cluster.freezeBroker(id); break;
      case '/thaw-broker': cluster.thawBroker(id); break;
      case '/thaw': cluster.thaw(); break;
      case '/status': break;
      default: throw new Error(`unknown command ${url.pathname}`);
    }
    res.end(JSON.stringify({ ok: true, clusterId: cluster.clusterId, brokers: cluster.brokers.map((b) => ({ id: b.id, up: b.up, frozen: b.frozen, ports: b.ports })) }));
  } catch (e) {
    res.statusCode = 500;
    res.end(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) }));
  }
});
control.listen(spec.control, () => console.log('ready'));

const shutdown = async () => {
  control.close();
  await cluster.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
