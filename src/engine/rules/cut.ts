/**
 * The cut rule: a content score (PySceneDetect's mean |dH|, |dS|, |dV|) of at least T that stands
 * out from its neighbours' (fast motion and moving fine texture score high everywhere), or, when
 * it does not, a wholesale colour change (histogram jump) that does.
 */
import { above } from './confidence.js';
import type { CutSettings } from './settings.js';
import type { Entry } from './window.js';

/**
 * Judges entry `j` of `entries` (neighbours after `lastBoundaryFrame` only, for the content score).
 * @returns the margins by which the score cleared its tests, or null when it is no cut.
 */
export function judgeContentCut(entries: readonly Entry[], j: number, lastBoundaryFrame: number, threshold: number, s: CutSettings): number[] | null {
  const e = entries[j] as Entry;
  if (e.c < threshold) return null;
  let sum = 0;
  let n = 0;
  let sumH = 0;
  let nH = 0;
  for (let k = j - s.neighbours; k <= j + s.neighbours; k++) {
    const x = entries[k];
    if (k === j || k < 1 || !x) continue;
    sumH += x.hd;
    nH++;
    if (x.index > lastBoundaryFrame) { sum += x.c; n++; }
  }
  const mean = n ? sum / n : 0;
  if (e.c >= s.standOut * mean) return [above(e.c, threshold), above(e.c, s.standOut * mean)];
  const meanH = nH ? sumH / nH : 0;
  if (e.hd >= s.colourJump && e.hd >= s.colourStandOut * meanH) {
    return [above(e.c, threshold), above(e.hd, s.colourJump), above(e.hd, s.colourStandOut * meanH)];
  }
  return null;
}
