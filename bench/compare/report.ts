// Turns the runs of the side-by-side benchmark into medians, spreads and ratios to mka, as Markdown.
import type { ChildReport } from './types.ts';
import type { BenchCase } from './cases.ts';

export interface RunRecord {
  caseId: string;
  round: number;
  client: string;
  report?: ChildReport;
  error?: string;
  /** 1-minute load average when the run began. */
  load?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;

export interface Summary {
  caseId: string;
  client: string;
  version: string;
  runs: number;
  failed: number;
  unsupported?: string;
  error?: string;
  /** Per metric: median, min, max over the rounds. */
  metrics: Record<string, { median: number; min: number; max: number }>;
  maxRssMedian: number;
  /** Median 1-minute load average at the start of the runs. */
  loadMedian: number;
}

export function summarise(records: RunRecord[], cases: BenchCase[], clients: string[]): Summary[] {
  const out: Summary[] = [];
  for (const c of cases) {
    for (const client of clients) {
      const rs = records.filter((r) => r.caseId === c.id && r.client === client);
      if (!rs.length) continue;
      const ok = rs.filter((r) => r.report && r.report.result.kind !== 'unsupported');
      const uns = rs.find((r) => r.report?.result.kind === 'unsupported')?.report?.result;
      const values: Record<string, number[]> = {};
      const add = (k: string, v: number) => (values[k] ??= []).push(v);
      for (const r of ok) {
        const res = r.report!.result;
        if (res.kind === 'throughput') {
          add('msgPerSec', (res.value.messages * 1000) / res.value.elapsedMs);
          add('mbPerSec', (res.value.bytes / 1e6) * (1000 / res.value.elapsedMs));
          if (res.value.idle) {
            add('idleCpu', res.value.idle.cpuMsPerSec);
            add('idleRss', res.value.idle.rssBytes);
            add('idleHeap', res.value.idle.heapUsedBytes);
          }
        } else if (res.kind === 'latency') {
          add('p50', res.value.p50);
          add('p99', res.value.p99);
          add('p999', res.value.p999);
        } else if (res.kind === 'metadata') {
          add('callMs', res.value.callMs);
          if (res.value.decodeMs !== undefined) add('decodeMs', res.value.decodeMs);
          if (res.value.responseBytes !== undefined) add('responseBytes', res.value.responseBytes);
        } else if (res.kind === 'codec') {
          add('encode', res.value.encode);
          add('decode', res.value.decode);
        }
      }
      const metrics: Summary['metrics'] = {};
      for (const [k, v] of Object.entries(values)) metrics[k] = { median: median(v), min: Math.min(...v), max: Math.max(...v) };
      out.push({
        caseId: c.id,
        client,
        version: rs.find((r) => r.report)?.report?.version ?? '',
        runs: ok.length,
        failed: rs.filter((r) => r.error).length,
        unsupported: uns?.kind === 'unsupported' ? uns.reason : undefined,
        error: rs.find((r) => r.error)?.error,
        metrics,
        maxRssMedian: ok.length ? median(ok.map((r) => r.report!.maxRssBytes)) : 0,
        loadMedian: median(rs.map((r) => r.load ?? NaN)),
      });
    }
  }
  return out;
}

function spread(m: { median: number; min: number; max: number }): string {
  if (!m.median) return '';
  const lo = ((m.min - m.median) / m.median) * 100;
  const hi = ((m.max - m.median) / m.median) * 100;
  return `${lo.toFixed(0)}% / +${hi.toFixed(0)}%`;
}

const load = (r: Summary) => (Number.isFinite(r.loadMedian) ? r.loadMedian.toFixed(1) : '');

/** One Markdown table per case. Ratios are client ÷ mka for rates and mka-relative for latency (client ÷ mka, lower is better). */
export function markdown(summaries: Summary[], cases: BenchCase[]): string {
  const parts: string[] = [];
  for (const c of cases) {
    const rows = summaries.filter((s) => s.caseId === c.id);
    if (!rows.length) continue;
    const mka = rows.find((r) => r.client === 'mka');
    const lines: string[] = [`#### ${c.title}`, ''];
    const na = (r: Summary) => (r.unsupported ? `n/a: ${r.unsupported}` : `failed: ${(r.error ?? '').split('\n')[0].slice(0, 160)}`);
    if (c.scenario === 'e2e') {
      lines.push('| client | p50 ms | p99 ms | p99.9 ms | p99 min–max | p99 ÷ mka | peak RSS | load |', '|---|---:|---:|---:|---:|---:|---:|---:|');
      for (const r of rows) {
        const m = r.metrics;
        if (!m.p50) lines.push(`| ${r.client} | ${na(r)} | | | | | | |`);
        else
          lines.push(
            `| ${r.client} | ${fmtMs(m.p50.median)} | ${fmtMs(m.p99.median)} | ${fmtMs(m.p999.median)} | ${fmtMs(m.p99.min)}–${fmtMs(m.p99.max)} | ` +
              `${mka?.metrics.p99 ? (m.p99.median / mka.metrics.p99.median).toFixed(2) + '×' : ''} | ${mb(r.maxRssMedian)} | ${load(r)} |`,
          );
      }
    } else if (c.scenario === 'codec') {
      lines.push('| client | encode rec/s | decode rec/s | encode spread | decode spread | mka ÷ client (enc / dec) | load |', '|---|---:|---:|---:|---:|---:|---:|');
      for (const r of rows) {
        const m = r.metrics;
        if (!m.encode) lines.push(`| ${r.client} | ${na(r)} | | | | | |`);
        else
          lines.push(
            `| ${r.client} | ${fmtInt(m.encode.median)} | ${fmtInt(m.decode.median)} | ${spread(m.encode)} | ${spread(m.decode)} | ` +
              `${mka?.metrics.encode ? `${(mka.metrics.encode.median / m.encode.median).toFixed(2)}× / ${(mka.metrics.decode.median / m.decode.median).toFixed(2)}×` : ''} | ${load(r)} |`,
          );
      }
    } else if (c.scenario === 'metadata') {
      lines.push('| client | ms per call | spread | decode only, ms | response bytes | client ÷ mka (call) | peak RSS | load |', '|---|---:|---:|---:|---:|---:|---:|---:|');
      for (const r of rows) {
        const m = r.metrics;
        if (!m.callMs) lines.push(`| ${r.client} | ${na(r)} | | | | | | |`);
        else
          lines.push(
            `| ${r.client} | ${fmtMs(m.callMs.median)} | ${spread(m.callMs)} | ${m.decodeMs ? m.decodeMs.median.toFixed(3) : '— (not reachable)'} | ` +
              `${m.responseBytes ? fmtInt(m.responseBytes.median) : ''} | ${mka?.metrics.callMs ? (m.callMs.median / mka.metrics.callMs.median).toFixed(2) + '×' : ''} | ${mb(r.maxRssMedian)} | ${load(r)} |`,
          );
      }
    } else if (rows.some((r) => r.metrics.idleCpu)) {
      // Idle cases: what the consumer costs once everything is read; per partition = total ÷ partitions.
      const parts = c.partitions ?? 1;
      lines.push(
        '| client | idle CPU ms/s | CPU per partition µs/s | RSS idle | V8 heap idle | CPU ÷ mka | read rate msg/s | peak RSS | load |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      );
      for (const r of rows) {
        const m = r.metrics;
        if (!m.idleCpu) lines.push(`| ${r.client} | ${na(r)} | | | | | | | |`);
        else
          lines.push(
            `| ${r.client} | ${m.idleCpu.median.toFixed(2)} | ${fmtMs((m.idleCpu.median * 1000) / parts)} | ${mb(m.idleRss.median)} | ${mb(m.idleHeap.median)} | ` +
              `${mka?.metrics.idleCpu ? (m.idleCpu.median / mka.metrics.idleCpu.median).toFixed(2) + '×' : ''} | ${fmtInt(m.msgPerSec.median)} | ${mb(r.maxRssMedian)} | ${load(r)} |`,
          );
      }
    } else {
      lines.push('| client | msg/s | MB/s (values) | spread (min / max vs median) | mka ÷ client | peak RSS | load |', '|---|---:|---:|---:|---:|---:|---:|');
      for (const r of rows) {
        const m = r.metrics;
        if (!m.msgPerSec) lines.push(`| ${r.client} | ${na(r)} | | | | | |`);
        else
          lines.push(
            `| ${r.client} | ${fmtInt(m.msgPerSec.median)} | ${m.mbPerSec.median.toFixed(1)} | ${spread(m.msgPerSec)} | ` +
              `${mka?.metrics.msgPerSec ? (mka.metrics.msgPerSec.median / m.msgPerSec.median).toFixed(2) + '×' : ''} | ${mb(r.maxRssMedian)} | ${load(r)} |`,
          );
      }
    }
    parts.push(lines.join('\n'));
  }
  return parts.join('\n\n');
}
