/** The detector's window of recent analysed frames, shared by the rules. */
import type { Signature } from '../signature.js';

export interface Entry {
  /** Decoded frame index. */
  index: number;
  /** Seconds from the first decoded frame. */
  time: number;
  sig: Signature;
  /** Content score against the previous entry (the cut rule's score). */
  c: number;
  /** Histogram distance against the previous entry. */
  hd: number;
  /** Intra-coded frame (the encoder saw a cut there, or a GOP starts). */
  keyframe: boolean;
}

/** Position of the newest entry before `before` at or earlier than time `t`; -1 when there is none. */
export function indexAtTime(entries: readonly Entry[], t: number, before: number): number {
  for (let k = before - 1; k >= 0; k--) if ((entries[k] as Entry).time <= t + 1e-6) return k;
  return -1;
}

/** Time of the first entry at or after `frame`; -Infinity when the window holds none. */
export function timeOfFrame(entries: readonly Entry[], frame: number): number {
  for (const e of entries) if (e.index >= frame) return e.time;
  return Number.NEGATIVE_INFINITY;
}
