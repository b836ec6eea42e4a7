/** "The same picture again", the test the flash and return rules share. */
import { contentDistance, type Signature } from '../signature.js';
import { above } from './confidence.js';
import type { SimilaritySettings } from './settings.js';

/**
 * Compares `old` with `now`, where a jump of content score `jump` happened in between: `same` when
 * they are close (under `ofThreshold` x T and `ofJump` x the jump), else the margin by which they
 * are apart.
 */
export function samePicture(old: Signature, now: Signature, jump: number, threshold: number, s: SimilaritySettings): { same: boolean; margin: number } {
  const back = contentDistance(old, now);
  const limit = Math.min(threshold * s.ofThreshold, jump * s.ofJump);
  return { same: back < threshold * s.ofThreshold && back < jump * s.ofJump, margin: above(back, limit) };
}
