/** Option defaults and validation for the engine. One error lists every bad option. */
import { ValidationError } from '../errors.js';
import type { ExtractMode, ExtractOptions, ImageFormat } from './types.js';

export const DEFAULTS = {
  threshold: 27,
  minSceneLenSec: 0.6,
  minConfidence: 0,
  mode: 'scene' as ExtractMode,
  framesPerScene: 1,
  interval: 2,
  minFrames: 3,
  format: 'jpeg' as ImageFormat,
  dedupe: true,
};

export const DEFAULT_QUALITY: Record<ImageFormat, number> = { jpeg: 85, webp: 80, png: 100 };

export interface ResolvedOptions {
  threshold: number;
  minSceneLenSec: number;
  minConfidence: number;
  mode: ExtractMode;
  framesPerScene: number;
  interval: number;
  minFrames: number;
  maxFrames: number | undefined;
  targetFrames: number | undefined;
  format: ImageFormat;
  quality: number;
  maxWidth: number | undefined;
  dedupe: boolean;
  /** The window to decode, seconds from the first frame: start 0 and end Infinity when not set. */
  start: number;
  end: number;
}

const MODES: ExtractMode[] = ['scene', 'interval', 'hybrid', 'all'];
const FORMATS: ImageFormat[] = ['jpeg', 'webp', 'png'];

export function resolveOptions(o: ExtractOptions = {}): ResolvedOptions {
  const problems: string[] = [];
  const num = (name: string, v: number | undefined, min: number, max: number, int = false): void => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
      problems.push(`${name} must be ${int ? 'an integer' : 'a number'} from ${min} to ${max} (got ${String(v)})`);
    }
  };
  num('threshold', o.threshold, 1, 255);
  num('minSceneLenSec', o.minSceneLenSec, 0, 3600);
  num('minConfidence', o.minConfidence, 0, 1);
  num('framesPerScene', o.framesPerScene, 1, 100, true);
  num('interval', o.interval, 0.04, 86400);
  num('minFrames', o.minFrames, 0, 1000, true);
  num('maxFrames', o.maxFrames, 1, 100000, true);
  num('targetFrames', o.targetFrames, 1, 100000, true);
  num('quality', o.quality, 1, 100, true);
  num('maxWidth', o.maxWidth, 16, 16384, true);
  num('start', o.start, 0, 1e7);
  num('end', o.end, 0, 1e7);
  if (o.start !== undefined && o.end !== undefined && Number.isFinite(o.start) && Number.isFinite(o.end) && o.end <= o.start) problems.push(`end (${o.end}) must be after start (${o.start})`);
  if (o.mode !== undefined && !MODES.includes(o.mode)) problems.push(`mode must be one of ${MODES.join(', ')} (got ${String(o.mode)})`);
  if (o.format !== undefined && !FORMATS.includes(o.format)) problems.push(`format must be one of ${FORMATS.join(', ')} (got ${String(o.format)})`);
  if (o.maxFrames !== undefined && o.minFrames !== undefined && o.minFrames > o.maxFrames) problems.push(`minFrames (${o.minFrames}) cannot exceed maxFrames (${o.maxFrames})`);
  if (problems.length) throw new ValidationError('INVALID_OPTIONS', 'invalid extraction options', problems);
  const format = o.format ?? DEFAULTS.format;
  return {
    threshold: o.threshold ?? DEFAULTS.threshold,
    minSceneLenSec: o.minSceneLenSec ?? DEFAULTS.minSceneLenSec,
    minConfidence: o.minConfidence ?? DEFAULTS.minConfidence,
    mode: o.mode ?? DEFAULTS.mode,
    framesPerScene: o.framesPerScene ?? DEFAULTS.framesPerScene,
    interval: o.interval ?? DEFAULTS.interval,
    minFrames: o.minFrames ?? DEFAULTS.minFrames,
    maxFrames: o.maxFrames,
    targetFrames: o.targetFrames,
    format,
    quality: o.quality ?? DEFAULT_QUALITY[format],
    maxWidth: o.maxWidth,
    dedupe: o.dedupe ?? DEFAULTS.dedupe,
    start: o.start ?? 0,
    end: o.end ?? Number.POSITIVE_INFINITY,
  };
}
