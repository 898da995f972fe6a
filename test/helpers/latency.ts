// Percentiles of latency samples, for tests and notes that report p50/p99.
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export function describeLatency(samples: number[]): string {
  return `n=${samples.length} p50=${percentile(samples, 50).toFixed(1)} ms p99=${percentile(samples, 99).toFixed(1)} ms`;
}
