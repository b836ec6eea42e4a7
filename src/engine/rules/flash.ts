/**
 * The flash rule: a jump after which the picture comes back within `maxSec` is no cut, and neither
 * is the jump back out of it. Comes back: a frame after is the same picture as the one before the
 * jump; or, for an over-exposure, the jump brightened the picture (by `minLift` or more) and a frame
 * after is back at the brightness before and much closer to the frame before than the jump was
 * (moving or fractal content has moved on by then, so it is not quite the same picture).
 */
import { contentDistance } from '../signature.js';
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
   * Judges the jump into entry `j` (the analysed frames after it must be in `entries`): the start
   * of a flash, or the end of one that began within `maxSec`.
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
      if (r.same || this.overExposed(before, e, after, e.c)) {
        this.flashEnd = after.index;
        return null;
      }
      margin = Math.min(margin, r.margin);
    }
    // The jump may also be the end of a flash whose start was no cut candidate (its neighbours,
    // the flash frames, scored as much): it lands back on a picture from just before the flash.
    for (let k = 2; k <= this.s.lookahead + 1; k++) {
      const old = entries[j - k];
      if (!old || e.time - old.time > this.s.maxSec) break;
      const r = samePicture(old.sig, e.sig, e.c, this.threshold, this.same);
      if (r.same || this.overExposed(old, before, e, e.c)) return null;
      margin = Math.min(margin, r.margin);
    }
    return margin;
  }

  /** `flash` brightened `before` by a gain and `after` is back: `jump` is the score being judged. */
  private overExposed(before: Entry, flash: Entry, after: Entry, jump: number): boolean {
    const lift = flash.sig.meanV - before.sig.meanV;
    if (lift < this.s.minLift) return false;
    if (Math.abs(after.sig.meanV - before.sig.meanV) > this.s.liftReturn * lift) return false;
    return contentDistance(before.sig, after.sig) < this.s.liftOfJump * jump;
  }
}
