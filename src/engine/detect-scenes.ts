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

export function canSkipBFrames(probe: ProbeResult): boolean {
  return probe.hasBFrames && probe.timestampsUsable && SKIP_B_CODECS.has(probe.info.codec ?? '');
}

/**
 * Detect scenes in a video.
 * @example
 * const { scenes, cuts } = await detectScenes('clip.mp4', { threshold: 27 });
 */
export async function detectScenes(file: string, options: DetectOptions = {}): Promise<DetectionResult> {
  const o = resolveOptions({ threshold: options.threshold, minSceneLenSec: options.minSceneLenSec });
  const probeOpts = { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) };
  // The demux-only probe runs alongside the decode (it only has to finish before the frames can be
  // numbered), so it adds nothing to the wall time.
  const probePromise = probeVideo(file, probeOpts);
  probePromise.catch(() => undefined); // reported through runAnalysis
  let detector = new SceneDetector({ threshold: o.threshold, minSceneLenSec: o.minSceneLenSec });
  let lastProgress = 0;
  const analyse = (probe: ProbeResult | Promise<ProbeResult>, skip: 'bidir' | 'none') => runAnalysis({
    file,
    probe,
    skip,
    skipLoopFilter: true,
    candidates: null,
    ...probeOpts,
    onAnalysis: (f) => {
      detector.push(f.index, f.time, makeSignature(f.rgb), f.keyframe);
      const duration = probeSoFar?.info.durationSec ?? 0;
      if (options.onProgress && duration > 0 && f.time - lastProgress >= duration / 100) {
        lastProgress = f.time;
        options.onProgress(Math.min(1, f.time / duration));
      }
    },
  });
  let probeSoFar: ProbeResult | undefined;
  void probePromise.then((p) => { probeSoFar = p; }, () => undefined);
  // Skipping B-frames is harmless where a codec has none or ignores the request; indices come
  // from packet timestamps, so it is undone only when those are missing (raw streams).
  let summary = await analyse(probePromise, 'bidir');
  const probe = await probePromise;
  if (probe.hasBFrames && !probe.timestampsUsable) {
    detector = new SceneDetector({ threshold: o.threshold, minSceneLenSec: o.minSceneLenSec });
    summary = await analyse(probe, 'none');
  }
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
  return { video: info, scenes: scenes.map(publicScene), cuts: bs.map((b) => b.frame) };
}
