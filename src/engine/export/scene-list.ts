/** What every export format reads: the video's facts and its scenes (a detection result or a manifest). */
import type { Scene, VideoInfo } from '../types.js';

export interface SceneList {
  video: VideoInfo;
  scenes: Scene[];
}

/** A scene's length in decoded frames and in seconds. */
export function sceneLength(s: Scene): { frames: number; seconds: number } {
  return { frames: s.endFrame - s.startFrame + 1, seconds: Math.round((s.endTime - s.startTime) * 1000) / 1000 };
}

/** The confidence as text with 3 decimals, or empty while the detector does not give one. */
export function confidenceText(confidence: number | null | undefined): string {
  return typeof confidence === 'number' && Number.isFinite(confidence) ? confidence.toFixed(3) : '';
}
