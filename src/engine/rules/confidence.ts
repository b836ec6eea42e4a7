/**
 * Confidence of a boundary: how far the scores cleared the tests of the rule that found it. Each
 * test gives a relative margin (0 at its limit, 1 at twice or half of it); the weakest margin,
 * over `fullMargin`, clamped to [0, 1], is the confidence.
 */
import type { ConfidenceSettings } from './settings.js';

const { max, min, round } = Math;

/** Margin by which `value` exceeds the lower limit `limit` (a test `value >= limit`). */
export function above(value: number, limit: number): number {
  return limit > 0 ? value / limit - 1 : Number.POSITIVE_INFINITY;
}

/** Margin by which `value` stays under the upper limit `limit` (a test `value <= limit`). */
export function below(value: number, limit: number): number {
  return value > 0 ? limit / value - 1 : Number.POSITIVE_INFINITY;
}

/** The confidence (3 decimals) of the weakest of `margins`. */
export function confidenceOf(margins: readonly number[], s: ConfidenceSettings): number {
  let m = Number.POSITIVE_INFINITY;
  for (const x of margins) m = min(m, x);
  if (!Number.isFinite(m)) return 1;
  return round(min(1, max(0, m / s.fullMargin)) * 1000) / 1000;
}
