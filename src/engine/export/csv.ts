/** PySceneDetect `list-scenes` CSV: the same rows and columns, so scripts written for it keep working. */
import type { SceneList } from './scene-list.js';
import { confidenceText, sceneLength } from './scene-list.js';
import { secondsToClock } from './timecode.js';

/** PySceneDetect's columns, in its order; ours (`Transition`, `Confidence`) follow them. */
export const PYSCENEDETECT_COLUMNS = [
  'Scene Number', 'Start Frame', 'Start Timecode', 'Start Time (seconds)', 'End Frame', 'End Timecode',
  'End Time (seconds)', 'Length (frames)', 'Length (timecode)', 'Length (seconds)',
] as const;

export interface CsvOptions {
  /** Leave out the first `Timecode List:` row, as `list-scenes --skip-cuts` does (plain RFC 4180 CSV). */
  skipCuts?: boolean;
}

/**
 * The scene list as PySceneDetect's `list-scenes` writes it: a `Timecode List:` row with the start
 * of every scene after the first, then a header and one row per scene. Frame numbers are 1-based
 * and the end frame inclusive, as there; times are this engine's real timestamps.
 */
export function toCsv(list: SceneList, options: CsvOptions = {}): string {
  const rows: string[][] = [];
  if (!options.skipCuts) rows.push(['Timecode List:', ...list.scenes.slice(1).map((s) => secondsToClock(s.startTime))]);
  rows.push([...PYSCENEDETECT_COLUMNS, 'Transition', 'Confidence']);
  for (const s of list.scenes) {
    const len = sceneLength(s);
    rows.push([
      String(s.index + 1), String(s.startFrame + 1), secondsToClock(s.startTime), s.startTime.toFixed(3),
      String(s.endFrame + 1), secondsToClock(s.endTime), s.endTime.toFixed(3),
      String(len.frames), secondsToClock(len.seconds), len.seconds.toFixed(3),
      s.transitionIn ?? '', confidenceText(s.confidence),
    ]);
  }
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
