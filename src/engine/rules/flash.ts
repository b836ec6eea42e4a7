/**
 * The flash rule: a jump after which the picture comes back (a frame within `maxSec` of the one
 * before the jump is the same picture again) is no cut, and neither is the jump back out of it.
 */
import { samePicture } from './same-picture.js';
import type { FlashSettings, SimilaritySettings } from './settings.js';
import type { Entry } from './window.js';

export class FlashRule {
  /** Last frame of the most recent flash: jumps up to it are the flash going away. */
  private flashEnd = -1;

  constructor(private readonly threshold: number, private readonly s: FlashSettings, private readonly same: SimilaritySettings) {}

  /** Frame `index` is inside or at the end of a flash already found. */
  covers(index: number): boolean {
    return index <= this.flashEnd;
  }

  /**
   * Judges the jump into entry `j` (the analysed frames after it must be in `entries`).
   * @returns null for a flash (remembered, so the jump back is no cut), else the margin by which
   *   the frames after stayed apart from the frame before.
   */
  judge(entries: readonly Entry[], j: number): number | null {
    const before = entries[j - 1] as Entry;
    const e = entries[j] as Entry;
    let margin = Number.POSITIVE_INFINITY;
    for (let k = 1; k <= this.s.lookahead; k++) {
      const after = entries[j + k];
      if (!after || after.time - before.time > this.s.maxSec) break;
      const r = samePicture(before.sig, after.sig, e.c, this.threshold, this.same);
      if (r.same) {
        this.flashEnd = after.index;
        return null;
      }
      margin = Math.min(margin, r.margin);
    }
    return margin;
  }
}
