/** Boundaries -> the scene list of the public contract. */
import type { Boundary } from './detector.js';
import type { Scene } from './types.js';

/** Internal scene with the frames that are safe to pick from (outside transitions). */
export interface SceneSpan extends Scene {
  stableStart: number;
  stableEnd: number;
}

/**
 * @param durationSec where the last scene ends: the video's duration, or a window's end
 * @param first the first frame when it is not frame 0 at 0 s (a window's start)
 */
export function sceneFromBoundaries(index: number, start: Boundary | null, end: Boundary | null, lastFrame: number, durationSec: number, first?: { frame: number; time: number }): SceneSpan {
  const startFrame = start?.frame ?? first?.frame ?? 0;
  const endFrame = end ? end.frame - 1 : lastFrame;
  const stableStart = start?.span ? Math.min(start.span[1] + 1, endFrame) : start ? Math.min(startFrame + 1, endFrame) : startFrame;
  const stableEnd = end?.span ? Math.max(end.span[0] - 1, stableStart) : endFrame;
  return {
    index,
    startFrame,
    endFrame,
    startTime: round3(start?.time ?? first?.time ?? 0),
    endTime: round3(end?.time ?? durationSec),
    transitionIn: start ? start.kind : null,
    confidence: start ? start.confidence : null,
    stableStart,
    stableEnd,
  };
}

/** Public view: drop the internal fields. */
export function publicScene(s: SceneSpan): Scene {
  return { index: s.index, startFrame: s.startFrame, endFrame: s.endFrame, startTime: s.startTime, endTime: s.endTime, transitionIn: s.transitionIn, confidence: s.confidence ?? null };
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
