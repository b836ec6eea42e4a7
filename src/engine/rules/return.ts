/**
 * The return rule: a jump onto a picture the scene already showed, at least `minGapSec` earlier,
 * is the end of something transient (a damaged frame smeared until the next keyframe snaps back,
 * an occlusion), not a cut. Younger pictures are the flash rule's.
 */
import { samePicture } from './same-picture.js';
import type { ReturnSettings, SimilaritySettings } from './settings.js';
import type { Entry } from './window.js';

/**
 * Judges the jump into entry `j` against the scene's frames in the window (from `sceneStart` on).
 * @returns null when it returns to one of them, else the margin by which it stayed apart from all.
 */
export function judgeReturn(entries: readonly Entry[], j: number, sceneStart: number, threshold: number, s: ReturnSettings, same: SimilaritySettings): number | null {
  const e = entries[j] as Entry;
  let margin = Number.POSITIVE_INFINITY;
  for (let k = j - 1; k >= 0; k--) {
    const old = entries[k] as Entry;
    if (old.index < sceneStart) break;
    if (e.time - old.time < s.minGapSec) continue;
    const r = samePicture(old.sig, e.sig, e.c, threshold, same);
    if (r.same) return null;
    margin = Math.min(margin, r.margin);
  }
  return margin;
}
