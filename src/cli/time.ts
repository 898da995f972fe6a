// Times and starting offsets as people type them: an ISO date, epoch milliseconds, or a duration ago
// ("15m", "2h", "1d"); offsets as kcat reads them (beginning, end, N, -N from the end).
import { UsageError } from './errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A point in time: ISO 8601 (UTC when no zone is given), epoch ms, "now", or "<n><ms|s|m|h|d|w>" ago. */
export function parseTime(v: string, what: string, now = Date.now()): Date {
  const s = v.trim();
  if (s === 'now') return new Date(now);
  const ago = /^-?(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(s);
  if (ago) return new Date(now - Number(ago[1]) * UNIT_MS[ago[2]]);
  if (/^\d+$/.test(s)) return new Date(Number(s));
  // A date-time without a zone is read as UTC, not the machine's zone: the same command gives the same
  // offsets wherever it runs.
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(s) ? `${s.length === 10 ? `${s}T00:00:00` : s}Z` : s;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new UsageError(`${what}: "${v}" is not a time (ISO 8601, epoch ms, or a duration ago such as 15m, 2h, 1d)`);
  return new Date(t);
}

/** Where a partition reader starts. */
export type StartSpec =
  | { kind: 'beginning' }
  | { kind: 'end' }
  | { kind: 'offset'; offset: bigint }
  /** `n` messages before the end. */
  | { kind: 'tail'; n: bigint }
  | { kind: 'time'; time: Date };

export function parseStart(offset: string | undefined, from: string | undefined): StartSpec {
  if (offset !== undefined && from !== undefined) throw new UsageError('-o/--offset and --from cannot be used together');
  if (from !== undefined) return { kind: 'time', time: parseTime(from, '--from') };
  if (offset === undefined || offset === 'beginning' || offset === 'earliest') return { kind: 'beginning' };
  if (offset === 'end' || offset === 'latest') return { kind: 'end' };
  if (/^\d+$/.test(offset)) return { kind: 'offset', offset: BigInt(offset) };
  if (/^-\d+$/.test(offset)) return { kind: 'tail', n: -BigInt(offset) };
  throw new UsageError(`-o: "${offset}" is not beginning, end, an offset, or -N (N before the end)`);
}
