/**
 * The fade/blank rule. A blank (near-uniform: black, white, flat) stretch of at least `minRunSec`
 * followed by content starts a new scene at its first non-blank frame, as in PySceneDetect's
 * fades, but only when the scene so far showed content: a cut to black that fades in is one scene.
 * The stretch lasts while its mean colour holds, so faint texture moving across a flat-looking
 * field does not end it, while a fade in does. A cross-fade with a blank end is a fade, never a
 * dissolve ({@link isFadeLike}).
 */
import { isBlankSignature, meanColourDistance, type Signature } from '../signature.js';
import { above } from './confidence.js';
import type { BlankSettings } from './settings.js';
import type { Entry } from './window.js';

export class BlankRunRule {
  /** Where the blank stretch in progress began. */
  private run: Entry | null = null;
  /** The current scene has shown something other than blank frames. */
  private sceneHasContent = false;

  constructor(private readonly s: BlankSettings) {}

  /**
   * Follows entry `e`.
   * @returns the blank stretch that `e` ends, with the margin by which it outlasted `minRunSec`,
   *   when it should start a scene at `e`; else null.
   */
  observe(e: Entry): { run: Entry; margin: number } | null {
    const blank = isBlankSignature(e.sig) && (!this.run || meanColourDistance(this.run.sig, e.sig) < this.s.maxColourDrift);
    if (blank) {
      if (!this.run) this.run = e;
      return null;
    }
    const run = this.run;
    this.run = null;
    const hadContent = this.sceneHasContent;
    this.sceneHasContent = true;
    if (run && hadContent && e.time - run.time >= this.s.minRunSec) return { run, margin: above(e.time - run.time, this.s.minRunSec) };
    return null;
  }

  /** A cut landed on blank frame `e`: a new scene with no content yet, in a blank stretch. */
  cutToBlank(e: Entry): void {
    this.sceneHasContent = false;
    this.run = e;
  }
}

/** One end has lost most of its structure and is dark or bright: a fade, not a dissolve. */
export function isFadeLike(a: Signature, b: Signature, s: BlankSettings): boolean {
  const [lo, hi] = a.stdV < b.stdV ? [a, b] : [b, a];
  return lo.stdV < s.fadeSpreadRatio * hi.stdV && (lo.meanV < s.fadeDark || lo.meanV > s.fadeBright);
}
