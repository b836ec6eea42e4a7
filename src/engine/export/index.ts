/**
 * Scene lists in the formats editors and players read: PySceneDetect CSV, CMX3600 EDL, WebVTT
 * chapters, OpenTimelineIO and JSON. Pure functions of a detection result or a manifest.
 *
 * @example
 * ```ts
 * const result = await detectScenes('clip.mp4');
 * await fs.writeFile('clip.edl', formatScenes(result, 'edl'));
 * ```
 */
import { toCsv } from './csv.js';
import { toEdl } from './edl.js';
import { toOtio } from './otio.js';
import type { SceneList } from './scene-list.js';
import { toWebVtt } from './vtt.js';

export { toCsv, PYSCENEDETECT_COLUMNS, type CsvOptions } from './csv.js';
export { toEdl } from './edl.js';
export { toOtio } from './otio.js';
export { toWebVtt } from './vtt.js';
export type { SceneList } from './scene-list.js';
export { framesToTimecode, nominalRate, secondsToClock, secondsToFrames, type NominalRate } from './timecode.js';

export type ExportFormat = 'csv' | 'edl' | 'vtt' | 'otio' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'edl', 'vtt', 'otio', 'json'];
/** File extension of each format (`.otio` is OpenTimelineIO's JSON file). */
export const EXPORT_EXTENSIONS: Record<ExportFormat, string> = { csv: 'csv', edl: 'edl', vtt: 'vtt', otio: 'otio', json: 'json' };

/**
 * One scene list as the text of a format. `json` is `detect --json`'s object: the video, the
 * scenes (with `confidence`, null where the detector gave none) and the cut frames.
 */
export function formatScenes(list: SceneList, format: ExportFormat): string {
  switch (format) {
    case 'csv': return toCsv(list);
    case 'edl': return toEdl(list);
    case 'vtt': return toWebVtt(list);
    case 'otio': return JSON.stringify(toOtio(list), null, 2) + '\n';
    case 'json': return JSON.stringify(toJson(list), null, 2) + '\n';
  }
}

function toJson(list: SceneList): object {
  const { codec: _c, vfr: _v, ...video } = list.video;
  return {
    video,
    scenes: list.scenes.map((s) => ({ ...s, confidence: s.confidence ?? null })),
    cuts: list.scenes.slice(1).map((s) => s.startFrame),
  };
}
