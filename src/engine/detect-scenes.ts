/** Scene detection only: the fastest path (no full-resolution frames, decoder shortcuts on). */
import { InvalidVideoError } from '../errors.js';
import { runAnalysis } from './analyze.js';
import { SceneDetector } from './detector.js';
import { resolveOptions } from './options.js';
import { probeVideo, type ProbeResult } from './probe.js';
import { publicScene, sceneFromBoundaries } from './scenes.js';
import { makeSignature } from './signature.js';
import type { DetectionResult, DetectOptions } from './types.js';

/** Codecs whose decoders honour `-skip_frame bidir`. */
const SKIP_B_CODECS = new Set(['h264', 'hevc', 'mpeg2video', 'mpeg4', 'mpeg1video', 'vc1']);
/** Detect buffers only thumbnails (7 KB a frame) of the chunks decoded ahead: long chunks are fine. */
const DETECT_CHUNK_SEC = 30;

/**
 * Which frames detection may leave undecoded. Not all B-frames (`bidir`): encoders make some of
 * them references (x264's B-pyramid, most of x265's), and the frames that refer to them are then
 * decoded from a substitute picture: after a flash, x264 medium showed the flash's brightness
 * for over a second of frames that are not bright at all, and x265 garbage that looked like cuts.
 * Skipping only the frames nothing refers to keeps every decoded frame exact (about 10% more
 * decoder CPU than `bidir` on the 720p bench video).
 */
const DETECT_SKIP = 'noref';

export function canSkipBFrames(probe: ProbeResult): boolean {
  return probe.hasBFrames && probe.timestampsUsable && SKIP_B_CODECS.has(probe.info.codec ?? '');
}

/**
 * Detect scenes in a video.
 * @example
 * const { scenes, cuts } = await detectScenes('clip.mp4', { threshold: 27 });
 */
export async function detectScenes(file: string, options: DetectOptions = {}): Promise<DetectionResult> {
  const o = resolveOptions({ threshold: options.threshold, minSceneLenSec: options.minSceneLenSec, minConfidence: options.minConfidence });
  const probeOpts = { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) };
  // The probe (a demux-only pass, tens of milliseconds) comes first: its keyframe list lets the
  // decode run as parallel chunks.
  const probe = await probeVideo(file, probeOpts);
  const detector = new SceneDetector({ threshold: o.threshold, minSceneLenSec: o.minSceneLenSec, minConfidence: o.minConfidence, traceScores: options.traceScores === true });
  let lastProgress = 0;
  const duration = probe.info.durationSec;
  const summary = await runAnalysis({
    file,
    probe,
    // Skipping is harmless where a codec has no such frames or ignores the request; indices come
    // from packet timestamps, so it is off only when those are missing (raw streams).
    skip: probe.hasBFrames && !probe.timestampsUsable ? 'none' : DETECT_SKIP,
    skipLoopFilter: true,
    candidates: null,
    chunking: { maxSec: DETECT_CHUNK_SEC },
    ...probeOpts,
    onAnalysis: (f) => {
      detector.push(f.index, f.time, makeSignature(f.rgb), f.keyframe);
      if (options.onProgress && duration > 0 && f.time - lastProgress >= duration / 100) {
        lastProgress = f.time;
        options.onProgress(Math.min(1, f.time / duration));
      }
    },
  });
  detector.flush();
  return finishDetection(file, probe, summary.decodedFrames, summary.frameCount, summary.stderrTail, detector);
}

export function finishDetection(file: string, probe: ProbeResult, decoded: number, frameCount: number, stderrTail: string, detector: SceneDetector): DetectionResult {
  if (decoded === 0) throw new InvalidVideoError('NO_FRAMES', `${file}: no video frame could be decoded`);
  if (/partial file/i.test(stderrTail) || probe.partial) {
    throw new InvalidVideoError('TRUNCATED_VIDEO', `${file} is truncated: ffmpeg reached the end of the file in the middle of the data`);
  }
  const info = { ...probe.info, frameCount, fps: probe.info.durationSec > 0 ? Math.round((frameCount / probe.info.durationSec) * 1000) / 1000 : probe.info.fps };
  const bs = detector.boundaries;
  const scenes = bs.length === 0 && frameCount === 0 ? [] : [sceneFromBoundaries(0, null, bs[0] ?? null, frameCount - 1, info.durationSec)];
  for (let i = 0; i < bs.length; i++) scenes.push(sceneFromBoundaries(i + 1, bs[i] as never, bs[i + 1] ?? null, frameCount - 1, info.durationSec));
  const result: DetectionResult = { video: info, scenes: scenes.map(publicScene), cuts: bs.map((b) => b.frame) };
  if (detector.scoreTrace) result.scoreTrace = { threshold: detector.settings.threshold, points: detector.scoreTrace };
  return result;
}
