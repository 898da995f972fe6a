// Telemetry of the multi layer: each cluster's client reports under the multi client's hooks unless
// its own config names others, and under a name that says which cluster it is ("orders[1]").
import type { ClusterConfig } from '../client/cluster.ts';
import type { TelemetryHooks } from '../client/telemetry/events.ts';

export interface MultiTelemetryOptions {
  /** Hooks for the multi client's events (health changes, failovers) and, unless a cluster's config has its own, its clients' events. */
  telemetry?: TelemetryHooks;
  /** Name in telemetry events; cluster i's client is "name[i]" unless its config names it. Default "mka". */
  name?: string;
}

export function clusterTelemetry<C extends ClusterConfig>(c: C, i: number, opts: MultiTelemetryOptions, suffix = ''): C {
  return { ...c, telemetry: c.telemetry ?? opts.telemetry, name: `${c.name ?? `${opts.name ?? 'mka'}[${i}]`}${suffix}` };
}
