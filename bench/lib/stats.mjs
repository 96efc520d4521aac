/** Statistics and interleaved timing. */

/** @param {number[]} values @param {number} q in [0, 1] */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export const median = (values) => quantile(values, 0.5);
export const p95 = (values) => quantile(values, 0.95);

/** @param {number[]} values */
export function summarize(values) {
  return {
    n: values.length,
    median: median(values),
    p95: p95(values),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/**
 * Paired comparison: the per-iteration ratio (and difference) of a contender to the floor, then
 * their median and p95. Samples must come from the same iterations (interleaved runs).
 * @param {number[]} contender
 * @param {number[]} floor
 */
export function paired(contender, floor) {
  const ratios = contender.map((v, i) => v / floor[i]);
  const diffs = contender.map((v, i) => v - floor[i]);
  return { ratio: { median: median(ratios), p95: p95(ratios) }, diff: { median: median(diffs), p95: p95(diffs) } };
}

/**
 * Runs the contenders interleaved (A B C, B C A, C A B, …: the starting contender rotates every
 * iteration so that none always runs right after the same neighbour), after `warmup` untimed
 * rounds. Each contender returns nothing (timed by wall clock around it) or `{ ms }` to report
 * its own measurement.
 * @param {Record<string, () => Promise<void | { ms: number }>>} contenders
 * @param {{ warmup: number, iterations: number, onIteration?: (i: number) => void }} options
 * @returns {Promise<Record<string, number[]>>} milliseconds per contender, in iteration order
 */
export async function interleave(contenders, { warmup, iterations, onIteration }) {
  const names = Object.keys(contenders);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = -warmup; i < iterations; i++) {
    const start = ((i % names.length) + names.length) % names.length;
    for (let k = 0; k < names.length; k++) {
      const name = names[(start + k) % names.length];
      const t0 = performance.now();
      const result = await contenders[name]();
      const ms = result && typeof result.ms === 'number' ? result.ms : performance.now() - t0;
      if (i >= 0) samples[name].push(ms);
    }
    if (i >= 0) onIteration?.(i);
  }
  return samples;
}
