// mka cluster info | brokers | controller | api-versions
import { Api, KafkaProtocolError, ErrorCode } from '../../index.ts';
import type { ApiCodec } from '../../protocol/index.ts';
import { parseIntArg } from '../args.ts';
import { callOpts } from '../clients.ts';
import { JSON_OUT, type Command } from '../command.ts';
import { table } from '../io.ts';
import { perCluster } from '../per-cluster.ts';
import { CONNECTION_OPTIONS } from '../settings.ts';

const OPTIONS = [...CONNECTION_OPTIONS, JSON_OUT];

const info: Command = {
  spec: { name: 'cluster info', summary: 'cluster id, controller and brokers', usage: 'mka cluster info -b BROKERS [--json]', options: OPTIONS },
  run: (a, ctx) =>
    perCluster(a, ctx, async (client, t) => {
      const d = await client.describeCluster(callOpts(ctx, t));
      const brokers = [...d.brokers].sort((x, y) => x.nodeId - y.nodeId);
      const text = `cluster ${d.clusterId}  controller ${d.controllerId}  brokers ${brokers.length}\n` +
        table([['id', 'host', 'port', 'rack'], ...brokers.map((b) => [`${b.nodeId}${b.nodeId === d.controllerId ? '*' : ''}`, b.host, b.port, b.rack ?? '-'])]);
      return { text, json: { ...d, brokers } };
    }),
};

const brokers: Command = {
  spec: { name: 'cluster brokers', summary: 'the brokers (the controller marked *)', usage: 'mka cluster brokers -b BROKERS [--json]', options: OPTIONS },
  run: (a, ctx) =>
    perCluster(a, ctx, async (client, t) => {
      const d = await client.describeCluster(callOpts(ctx, t));
      const list = [...d.brokers].sort((x, y) => x.nodeId - y.nodeId);
      return {
        text: table([['id', 'host', 'port', 'rack'], ...list.map((b) => [`${b.nodeId}${b.nodeId === d.controllerId ? '*' : ''}`, b.host, b.port, b.rack ?? '-'])]),
        json: list.map((b) => ({ ...b, controller: b.nodeId === d.controllerId })),
      };
    }),
};

const controller: Command = {
  spec: { name: 'cluster controller', summary: 'the broker that answers as controller', usage: 'mka cluster controller -b BROKERS [--json]', options: OPTIONS },
  run: (a, ctx) =>
    perCluster(a, ctx, async (client, t) => {
      const d = await client.describeCluster(callOpts(ctx, t));
      const b = d.brokers.find((x) => x.nodeId === d.controllerId);
      return { text: b ? `${b.nodeId} ${b.host}:${b.port}\n` : `${d.controllerId}\n`, json: b ?? { nodeId: d.controllerId } };
    }),
};

const CODECS = new Map<number, ApiCodec<unknown, unknown>>(Object.values(Api).map((c) => [c.apiKey, c as unknown as ApiCodec<unknown, unknown>]));

const apiVersions: Command = {
  spec: {
    name: 'cluster api-versions',
    summary: 'the API versions a broker supports, next to mka\'s and the version they agree on',
    usage: 'mka cluster api-versions -b BROKERS [--broker ID] [--json]',
    options: [...OPTIONS, { name: 'broker', kind: 'string', arg: 'ID', help: 'ask this broker (default: any)' }],
  },
  run: (a, ctx) => {
    const broker = a.str('broker') === undefined ? undefined : parseIntArg(a.str('broker')!, '--broker', 0, a.command);
    return perCluster(a, ctx, async (client, t) => {
      const res = await client.request(Api.ApiVersions, { clientSoftwareName: 'mka', clientSoftwareVersion: '0', clusterId: null, nodeId: -1 }, { ...callOpts(ctx, t), broker });
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, 'ApiVersions');
      const rows = [...res.apiKeys].sort((x, y) => x.apiKey - y.apiKey).map((k) => {
        const c = CODECS.get(k.apiKey);
        const agreed = c && c.minVersion <= k.maxVersion && k.minVersion <= c.maxVersion ? Math.min(c.maxVersion, k.maxVersion) : null;
        return { apiKey: k.apiKey, name: c?.name ?? `unknown(${k.apiKey})`, broker: [k.minVersion, k.maxVersion], mka: c ? [c.minVersion, c.maxVersion] : null, agreed };
      });
      const text = table([
        ['key', 'api', 'broker', 'mka', 'agreed'],
        ...rows.map((r) => [r.apiKey, r.name, `${r.broker[0]}-${r.broker[1]}`, r.mka ? `${r.mka[0]}-${r.mka[1]}` : '-', r.agreed ?? 'none']),
      ]);
      return { text, json: rows };
    });
  },
};

export const clusterCommands: Command[] = [info, brokers, controller, apiVersions];
