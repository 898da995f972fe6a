/** Per-cluster calls take the cluster's index in the configs given to the constructor. */
export function checkClusterIndex(i: number, n: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`cluster index ${i} is out of range 0..${n - 1}`);
}
