/** Summary statistics shared by the benchmarks. */

/** The median of `xs` (upper median for even lengths; 0 when empty). Does not reorder `xs`. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** `v` rounded to `digits` decimals, as a number (for JSON figures). */
export function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}
