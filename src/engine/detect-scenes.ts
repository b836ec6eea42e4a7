/** Scene detection only: the fastest path (no full-resolution frames, decoder shortcuts on). */
import { InvalidVideoError } from '../errors.js';
import { runAnalysis, type AnalysisFrame } from './analyze.js';
import { reportsTruncation } from './ffmpeg-errors.js';
import { SceneDetector, type DetectorOptions } from './detector.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { probeVideo, type ProbeResult } from './probe.js';
import { publicScene, sceneFromBoundaries } from './scenes.js';
import { decodeWarnings, SizeChanges } from './input-changes.js';
import { makeSignature } from './signature.js';
import type { DetectionResult, DetectOptions } from './types.js';
import { WindowFrames, windowOf, type FrameWindow } from './window.js';

/**
 * Codecs whose unreferenced frames the analysis may skip (`-skip_frame noref`). Not MPEG-1/2/4 part 2:
 * their encoders put B-frames right after a cut (no scene-cut keyframes), and a skipped first frame of
 * a shot moved the cut it starts (MPEG-2 TS: cuts found at 102, 201, 251 instead of 100, 200, 250).
 */
const SKIP_B_CODECS = new Set(['h264', 'hevc']);
/** Detect buffers only thumbnails (7 KB a frame) of the chunks decoded ahead: long chunks are fine. */
const DETECT_CHUNK_SEC = 30;

export function canSkipBFrames(probe: ProbeResult): boolean {
  return probe.hasBFrames && probe.timestampsUsable && SKIP_B_CODECS.has(probe.info.codec ?? '');
}

/**
 * The frames the analysis decodes, shared by `detect` and `extract` so both see the same pictures
 * and find the same scenes: skipping unreferenced frames (`noref`) leaves every other frame exact;
 * skipping all B-frames or the loop filter (faster) changed the pictures, and with them the scenes
 * (an HEVC 10-bit cut found by one command only), and all B-frames (`bidir`) include references
 * (x264's B-pyramid, most of x265's): the frames that refer to them are then decoded from a
 * substitute picture (after a flash, x264 medium showed its brightness for over a second of frames
 * that are not bright; x265 garbage that looked like cuts). `all` decodes every frame, as it outputs them.
 */
export function analysisSkip(probe: ProbeResult, all: boolean): 'none' | 'noref' {
  return !all && canSkipBFrames(probe) ? 'noref' : 'none';
}

/** The detector options `detectScenes` uses for resolved options `o` (the replay bench builds the same detector). */
export function detectorOptionsOf(o: Pick<ResolvedOptions, 'threshold' | 'minSceneLenSec' | 'minConfidence'>): DetectorOptions {
  return { threshold: o.threshold, minSceneLenSec: o.minSceneLenSec, minConfidence: o.minConfidence };
}

/**
 * Detect scenes in a video.
 * @example
 * const { scenes, cuts } = await detectScenes('clip.mp4', { threshold: 27 });
 */
export function detectScenes(file: string, options: DetectOptions = {}): Promise<DetectionResult> {
  return detectScenesObserved(file, options);
}

/**
 * {@link detectScenes}, also handing each analysed frame to `observe` before the detector sees it
 * (not exported by the engine's index: the replay bench records the analysis pass with it). The
 * thumbnail's buffer may be reused after the call: copy what is kept.
 */
export async function detectScenesObserved(file: string, options: DetectOptions = {}, observe?: (f: AnalysisFrame) => void): Promise<DetectionResult> {
  const o = resolveOptions({ threshold: options.threshold, minSceneLenSec: options.minSceneLenSec, minConfidence: options.minConfidence, start: options.start, end: options.end });
  const probeOpts = { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) };
  // The probe (a demux-only pass, tens of milliseconds) comes first: its keyframe list lets the
  // decode run as parallel chunks.
  const probe = await probeVideo(file, probeOpts);
  const detector = new SceneDetector({ ...detectorOptionsOf(o), traceScores: options.traceScores === true });
  const sizes = new SizeChanges();
  const window = windowOf(file, probe, o);
  const seen = new WindowFrames(probe, window);
  const from = window?.start ?? 0;
  const duration = (window?.end ?? probe.info.durationSec) - from;
  let lastProgress = from;
  const summary = await runAnalysis({
    file,
    probe,
    skip: analysisSkip(probe, false),
    skipLoopFilter: false,
    candidates: null,
    chunking: { maxSec: DETECT_CHUNK_SEC },
    ...(window ? { window } : {}),
    ...probeOpts,
    onAnalysis: (f) => {
      observe?.(f);
      seen.see(f.index, f.time);
      sizes.push(f.index, f.width, f.height);
      detector.push(f.index, f.time, f.signature ?? makeSignature(f.rgb), f.keyframe);
      if (options.onProgress && duration > 0 && f.time - lastProgress >= duration / 100) {
        lastProgress = f.time;
        const first = seen.first?.frame ?? 0;
        options.onProgress(Math.min(1, (f.time - from) / duration), { done: f.index - first + 1, total: window ? seen.plannedCount || f.index - first + 1 : probe.info.frameCount });
      }
    },
  });
  detector.flush();
  return finishDetection(file, probe, summary.decodedFrames, summary.frameCount, summary.stderrTail, detector, sizes.warnings(), window && { window, seen });
}

/**
 * The detection result once the decode has ended: typed errors for nothing decoded or a truncated
 * file, else scenes plus the warnings of what was decoded through (`streamWarnings`: size changes).
 */
export function finishDetection(file: string, probe: ProbeResult, decoded: number, frameCount: number, stderrTail: string, detector: SceneDetector, streamWarnings: string[] = [], clip?: { window: FrameWindow; seen: WindowFrames }): DetectionResult {
  if (decoded === 0) throw new InvalidVideoError('NO_FRAMES', `${file}: no video frame could be decoded`);
  if (clip && !clip.seen.first) throw new InvalidVideoError('NO_FRAMES', `${file}: no video frame between ${clip.window.start} s and ${clip.window.end} s could be decoded`);
  if (probe.partial || reportsTruncation(stderrTail)) {
    throw new InvalidVideoError('TRUNCATED_VIDEO', `${file} is truncated: ffmpeg reached the end of the file in the middle of the data`);
  }
  const info = { ...probe.info, frameCount, fps: probe.info.durationSec > 0 ? Math.round((frameCount / probe.info.durationSec) * 1000) / 1000 : probe.info.fps };
  const bs = detector.boundaries;
  // A window's scenes start at its first frame and end at its last (and at its end time).
  const last = clip ? clip.seen.last : frameCount - 1;
  const endTime = clip ? clip.window.end : info.durationSec;
  const first = clip?.seen.first;
  const scenes = bs.length === 0 && frameCount === 0 ? [] : [sceneFromBoundaries(0, null, bs[0] ?? null, last, endTime, first)];
  for (let i = 0; i < bs.length; i++) scenes.push(sceneFromBoundaries(i + 1, bs[i] as never, bs[i + 1] ?? null, last, endTime));
  const warnings = [...probe.warnings, ...streamWarnings, ...decodeWarnings(stderrTail)];
  const result: DetectionResult = { video: info, scenes: scenes.map(publicScene), cuts: bs.map((b) => b.frame), warnings };
  if (detector.scoreTrace) result.scoreTrace = { threshold: detector.settings.threshold, points: detector.scoreTrace };
  return result;
}
