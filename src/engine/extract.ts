/**
 * Video in, encoded frames out, in one decode pass. Frames are yielded as soon as they are safe
 * to number (their scene is closed), so uploads can start while the video is still being read.
 */
import os from 'node:os';
import path from 'node:path';
import { AbortedError } from '../errors.js';
import { encodedSpoolFile, runAnalysis, spoolablePath, type CandidateFrame } from './analyze.js';
import type { SpooledJpeg } from './frame-buffers.js';
import { analysisSkip, finishDetection } from './detect-scenes.js';
import { SceneDetector, type Boundary } from './detector.js';
import { bufferSize } from './filters.js';
import { CONTENT_TYPE, dHash, EXT, FrameEncoder, hamming, jpegQscale, preloadEncoder } from './image.js';
import { SizeChanges } from './input-changes.js';
import { TOOL_VERSION } from './manifest.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { probeVideo, type ProbeResult } from './probe.js';
import { sceneFromBoundaries, type SceneSpan } from './scenes.js';
import { chromaDistance, chromaLayout, frameStats, pickFromScene, Reservoir, sharpnessOf, TimeSlots, type FramePick, type FrameStats } from './select.js';
import { makeSignature } from './signature.js';
import type { EncodedFrame, ExtractionResult, ExtractOptions, FrameRecord } from './types.js';
import { WindowFrames, windowOf, type FrameWindow } from './window.js';

/** dHash distance at or below which two frames count as near-duplicates (of 64 bits). */
const DUPLICATE_BITS = 5;
/** Seconds between full-resolution candidates (scene and hybrid modes). */
const CANDIDATE_STEP_SEC = 0.4;
/** Memory for the open scene's full-resolution candidates. */
const RESERVOIR_BYTES = 24 * 1024 * 1024;
/**
 * Memory for the candidates of a chunk decoded ahead of the one being handed over (parallel-decode.ts),
 * and the shortest chunk worth it. A chunk is as long as its candidates fit this budget, so it
 * decides which sizes are chunked at all. 48 MB: 480p and smaller get 30 s chunks; 720p would get
 * 14 s, under the minimum, so it is decoded in one pass like 1080p. With 128 MB, 720p took two
 * 30 s chunks: 60 s of 720p in 4.3-4.5 s at 340 MB peak tree RSS against 4.7-4.85 s at 205 MB in
 * one pass, and 20 s in 2.35-2.45 s at 277 MB against 2.15-2.2 s at 199 MB (2026-12-03): 8% of
 * speed on long clips was not worth 135 MB (a Lambda's memory is its price), and 720p needed more
 * memory than 1080p. Earlier, on the 60 s clip: two 30 s chunks 2.47 s, four 15 s 2.78 s, eight 7.5 s
 * 2.8-3.7 s (each process costs start-up, and the scheduler waits for node more often).
 */
const AHEAD_BYTES = 48 * 1024 * 1024;
const EXTRACT_MIN_CHUNK_SEC = 20;
const MAX_CHUNK_SEC = 30;
/**
 * Backpressure bounds (decode-reader.ts pauses ffmpeg while they are exceeded): picks whose pixels
 * the encoder has not read yet (each holds a full-resolution buffer), and encoded frames waiting for
 * the caller of extractFrames to take them.
 */
const MAX_UNENCODED = 4;
const MAX_READY = 8;

/** What a pick keeps of its frame once encoding has the pixels: never the pixel buffer itself. */
type FrameRef = Pick<CandidateFrame, 'index' | 'time' | 'width' | 'height'>;

interface PendingPick {
  pick: { candidate: FrameRef; sharpness: number; reason: FramePick['reason'] };
  scene: number;
  hash: bigint;
  stats: FrameStats;
  /** Where the colours are (chromaLayout), for dedupe. */
  chroma: Uint8Array;
  sceneLen: number;
  encoded: Promise<Buffer> | null;
  /** The file ffmpeg wrote the frame to (`spool`); `encoded` is then empty. */
  spooled?: SpooledJpeg;
}

/**
 * Extract representative frames. An async generator: each yielded value is an encoded frame,
 * the return value is the full result (scenes, frame records, settings, timings).
 * @example
 * const run = extractFrames('clip.mp4', { format: 'webp' });
 * let r = await run.next();
 * while (!r.done) { await save(r.value); r = await run.next(); }
 * console.log(r.value.scenes.length);
 */
export async function* extractFrames(file: string, options: ExtractOptions = {}): AsyncGenerator<EncodedFrame, ExtractionResult, void> {
  const started = performance.now();
  const o = resolveOptions(options);
  const inner = new AbortController();
  const onOuterAbort = () => inner.abort(options.signal?.reason);
  if (options.signal?.aborted) throw new AbortedError(options.signal.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let job: ExtractionJob | undefined;
  try {
    // sharp is loaded (160 ms, and its native memory) only when it will encode.
    const probe = await probeVideo(file, { signal: inner.signal, ...(ffmpegEncodes(o) ? {} : { onStarted: preloadEncoder }), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    const probeMs = performance.now() - started;
    await options.onProbe?.(probe.info);
    const j = new ExtractionJob(file, probe, o, options);
    job = j;
    const analysis = j.run(inner.signal).catch((err: unknown) => { j.fail(err); });
    const emitted: FrameRecord[] = [];
    for (;;) {
      const next = await job.nextReady();
      if (next === null) break;
      const data = await (next.encoded as Promise<Buffer>);
      const c = next.pick.candidate;
      const frame: EncodedFrame = {
        index: emitted.length,
        frame: c.index,
        time: round3(c.time),
        // Picks taken before their scene was known (interval) are emitted once settled: the boundaries up to them are final.
        scene: next.scene >= 0 ? next.scene : job.sceneOf(c.index),
        width: c.width,
        height: c.height,
        format: o.format,
        ext: EXT[o.format],
        contentType: CONTENT_TYPE[o.format],
        data,
        ...(next.spooled ? { spooled: next.spooled } : {}),
        sharpness: Math.round(next.pick.sharpness * 10) / 10,
      };
      emitted.push({
        file: `${frame.index}.${frame.ext}`, index: frame.index, frame: frame.frame, time: frame.time, scene: frame.scene,
        width: frame.width, height: frame.height, bytes: next.spooled?.bytes ?? data.length, sharpness: frame.sharpness,
      });
      yield frame;
    }
    await analysis;
    job.throwIfFailed();
    const detection = job.detection as NonNullable<typeof job.detection>;
    const total = performance.now() - started;
    return {
      ...detection,
      frames: emitted,
      fallbackUsed: job.fallbackUsed,
      duplicateScenes: duplicateScenes(job.dedupedFrom, emitted),
      settings: {
        threshold: o.threshold, minSceneLenSec: o.minSceneLenSec, minConfidence: o.minConfidence, mode: o.mode, framesPerScene: o.framesPerScene,
        interval: o.interval, minFrames: o.minFrames, format: o.format, dedupe: o.dedupe, quality: o.quality,
        ...(o.maxFrames !== undefined ? { maxFrames: o.maxFrames } : {}),
        ...(o.targetFrames !== undefined ? { targetFrames: o.targetFrames } : {}),
        ...(o.maxWidth !== undefined ? { maxWidth: o.maxWidth } : {}),
        ...(options.start !== undefined ? { start: o.start } : {}),
        ...(options.end !== undefined ? { end: o.end } : {}),
      },
      toolVersion: TOOL_VERSION,
      timings: { probeMs: Math.round(probeMs), analyzeMs: Math.round(job.analyzeMs), extractMs: Math.round(total - probeMs - job.analyzeMs), totalMs: Math.round(total) },
    };
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
    // Stops ffmpeg if the consumer gave up early (break / throw in the for-await loop).
    inner.abort(new AbortedError('extraction stopped'));
    // ...and sharp: a spooled encode still running would write its file after the caller's cleanup.
    await job?.stopEncoding();
  }
}

/** Collect every frame of an extraction into memory (small videos, tests, the CLI's dry run). */
export async function collectFrames(file: string, options: ExtractOptions = {}): Promise<{ frames: EncodedFrame[]; result: ExtractionResult }> {
  const frames: EncodedFrame[] = [];
  const run = extractFrames(file, options);
  let r = await run.next();
  while (!r.done) { frames.push(r.value); r = await run.next(); }
  return { frames, result: r.value };
}

class ExtractionJob {
  detection: ReturnType<typeof finishDetection> | undefined;
  fallbackUsed = false;
  analyzeMs = 0;
  private error: unknown;
  private finished = false;
  private readonly detector: SceneDetector;
  private readonly reservoir: Reservoir;
  private readonly encoder: FrameEncoder;
  private readonly decoderThreads: number | undefined;
  private readonly maxUnencoded: number = MAX_UNENCODED;
  private readonly fallback: TimeSlots | null;
  private readonly intervals: TimeSlots | null;
  private readonly pending: PendingPick[] = [];
  private readonly emittedHashes: Fingerprint[] = [];
  /** Scenes with a pick dropped as a near-duplicate, and the earlier scene it repeated most closely. */
  readonly dedupedFrom = new Map<number, { of: number; distance: number }>();
  /** Frames of every scene pick queued so far (hybrid drops interval picks near them). */
  private scenePickFrames: number[] = [];
  private sceneStart: Boundary | null = null;
  private scenesClosed = 0;
  private emitHorizon = 0;
  private wake: (() => void) | null = null;
  private roomWaiters: Array<() => void> = [];
  private unencoded = 0;
  private allCount = 0;
  private readonly sizes = new SizeChanges();
  /** Output picture size (set when the run starts). */
  private picture = { width: 0, height: 0 };
  /** `start` / `end` (undefined: the whole video), its first and last decoded frame, and its length. */
  private readonly window: FrameWindow | undefined;
  private readonly seen: WindowFrames;
  private readonly from: number;
  private readonly until: number;

  /**
   * `--mode all` as JPEG: ffmpeg encodes every frame in the decoding process, and node gets the
   * JPEGs and each frame's luma plane (for sharpness). Encoding in sharp meant piping 2.7 MB of RGB
   * a 720p frame and encoding on libuv's threads: 1.46x the wall time of ffmpeg's own JPEG dump,
   * and 400 MB at 1080p (sharp's output buffers wait for the detector to settle each frame).
   * FRAMES_ALL_ENCODER=sharp keeps the old way (the bench compares them). The same in `--mode
   * interval`, whose candidates are the frames to write: node's CPU there 1.1 -> 0.6 s (20 s of
   * 720p, 2 s intervals; sharp is not even loaded).
   */
  private readonly ffmpegEncodes: boolean;
  /** Where ffmpeg writes those JPEGs itself (ExtractOptions.spool), when it does. */
  private readonly spool: { dir: string; tag: string } | undefined;
  /**
   * `all` mode encoded by sharp (WebP, PNG): where it writes each frame itself (ExtractOptions.spool).
   * Every frame waits about 2.7 s of video for the detector to settle its scene; as node Buffers
   * those waiting PNGs held 200 MB and more until a garbage collection (720p, 20 s: 441-458 MB
   * peak tree RSS; WebP 304-308 MB).
   */
  private readonly encodeSpool: { dir: string; tag: string } | undefined;
  private encodeSpooled = 0;

  constructor(private readonly file: string, private readonly probe: ProbeResult, private readonly o: ResolvedOptions, private readonly options: ExtractOptions) {
    this.ffmpegEncodes = ffmpegEncodes(o);
    const sp = options.spool;
    const spoolable = sp !== undefined && spoolablePath(path.resolve(sp.dir)) && spoolablePath(sp.tag);
    this.spool = this.ffmpegEncodes && spoolable ? sp : undefined;
    this.encodeSpool = !this.ffmpegEncodes && o.mode === 'all' && spoolable ? sp : undefined;
    this.detector = new SceneDetector(
      { threshold: o.threshold, minSceneLenSec: o.minSceneLenSec, minConfidence: o.minConfidence, traceScores: options.traceScores === true },
      (b) => this.onBoundary(b),
    );
    // Every frame: encode on every core (the decoder's threads are mostly waiting on us then).
    if (o.mode === 'all' && this.ffmpegEncodes) {
      // ffmpeg encodes every frame itself (see run): nothing for sharp to do.
      this.encoder = new FrameEncoder(o.format, o.quality);
      // Above 720p, when the JPEGs pass through node, one decoder thread: each frame thread holds
      // its own frames (1080p, 20 s: peak tree RSS 287 MB with one, 304 with two, 317 with ffmpeg's
      // default of three). Spooled, node holds no JPEGs and ffmpeg's default fits (1080p: 207 MB
      // with one thread in 9.0-9.3 s, 227-229 MB with three in 8.5-8.7 s). FRAMES_DECODE_THREADS overrides.
      const t = Number(process.env.FRAMES_DECODE_THREADS);
      if (Number.isInteger(t) && t >= 1) this.decoderThreads = t;
      else if (!this.spool && probe.info.width * probe.info.height > 1280 * 720) this.decoderThreads = 1;
    } else if (o.mode === 'all') {
      const encoders = encodeParallelism();
      this.encoder = new FrameEncoder(o.format, o.quality, encoders, true);
      // Every frame costs more to encode than to decode: the encoders get the cores and the
      // decoder what is left, at least one thread. On 2 cores that is one decoder thread, which
      // also holds fewer frames (1080p: peak tree RSS about 300 MB instead of 360 MB).
      this.decoderThreads = Math.max(1, os.availableParallelism() - encoders);
      // Frames held for encoding: one waiting per encoder besides those being encoded.
      this.maxUnencoded = encoders + 1;
    } else {
      this.encoder = new FrameEncoder(o.format, o.quality);
    }
    // Candidates of the open scene: a fixed memory budget, at least 6 (1920x1080: 8, 720p: 16).
    const frameBytes = probe.info.width * probe.info.height * 1.5;
    this.reservoir = new Reservoir(Math.max(6, Math.min(16, Math.floor(RESERVOIR_BYTES / Math.max(1, frameBytes)))));
    this.window = windowOf(file, probe, o);
    this.from = this.window?.start ?? 0;
    this.until = this.window?.end ?? probe.info.durationSec;
    this.seen = new WindowFrames(probe, this.window);
    const from = this.from;
    const d = this.until - from;
    const sceneish = o.mode === 'scene' || o.mode === 'hybrid';
    this.fallback = sceneish && o.minFrames > 0 ? new TimeSlots(Array.from({ length: o.minFrames }, (_, k) => from + (d * (k + 0.5)) / o.minFrames)) : null;
    const step = o.interval;
    this.intervals = o.mode === 'interval' || o.mode === 'hybrid'
      ? new TimeSlots(Array.from({ length: Math.max(1, Math.floor(d / step)) }, (_, k) => from + k * step + step / 2).filter((t) => t < from + d))
      : null;
  }

  async run(signal: AbortSignal): Promise<void> {
    const t = performance.now();
    const { info } = this.probe;
    const o = this.o;
    let width = info.width;
    let height = info.height;
    if (o.maxWidth && width > o.maxWidth) {
      height = Math.round((height * o.maxWidth) / width);
      width = o.maxWidth;
    }
    // The true size, odd or not: the decode pads odd sizes by one row/column (4:2:0) and the
    // encoder crops it off again (an odd size was once silently cut down to the even one).
    width = Math.max(2, width);
    height = Math.max(2, height);
    this.picture = { width, height };
    const all = o.mode === 'all';
    // JPEG in `all` and `interval` mode is encoded by ffmpeg itself (node gets the luma plane, for
    // sharpness); other formats in `all` mode get RGB from ffmpeg for sharp (see PixelLayout).
    const pixels = this.ffmpegEncodes ? 'gray' : all ? 'rgb24' : 'yuv420p';
    const buffer = bufferSize(width, height, pixels);
    // Enough candidates for what was asked: several frames per scene, or one per interval.
    const perScene = o.mode === 'scene' || o.mode === 'hybrid' ? CANDIDATE_STEP_SEC / o.framesPerScene : CANDIDATE_STEP_SEC;
    // Hybrid interval picks take the nearest candidate to each target: three per interval keep it
    // within a sixth of the interval. (A quarter made 1 s intervals' chunks 23 s long, three of them for a
    // minute on two cores instead of two of 30 s: 4.2 s against 3.8 s, ffmpeg fps=1 3.2 s.)
    const step = all ? 0 : o.mode === 'scene' ? Math.max(0.1, perScene) : o.mode === 'interval' ? o.interval : Math.max(0.05, Math.min(perScene, o.interval / 3));
    // Interval mode looks at nothing but the frame nearest each target: ffmpeg passes just those
    // (20 s of 720p, 2 s intervals: 11 candidates instead of 50, each a fresh 1.4 MB copy).
    const targets = o.mode === 'interval' ? { firstSec: this.from + o.interval / 2, everySec: o.interval } : undefined;
    const duration = this.until - this.from;
    let lastProgress = this.from;
    const summary = await runAnalysis({
      file: this.file,
      probe: this.probe,
      skip: analysisSkip(this.probe, all),
      skipLoopFilter: false,
      candidates: { width: buffer.bufferWidth, height: buffer.bufferHeight, pictureWidth: width, pictureHeight: height, stepSec: step, pixels, ...(targets ? { targets } : {}), ...(this.ffmpegEncodes ? { jpeg: { qscale: jpegQscale(o.quality), ...lumaSize(width, height), ...(this.spool ? { spool: this.spool } : {}) } } : {}) },
      chunking: { maxSec: MAX_CHUNK_SEC, minSec: EXTRACT_MIN_CHUNK_SEC, aheadBytes: AHEAD_BYTES },
      ...(all ? { decoderThreads: this.decoderThreads } : {}),
      ...(this.window ? { window: this.window } : {}),
      signal,
      ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
      onAnalysis: (f) => {
        this.seen.see(f.index, f.time);
        this.sizes.push(f.index, f.width, f.height);
        this.detector.push(f.index, f.time, f.signature ?? makeSignature(f.rgb), f.keyframe);
        if (this.options.onProgress && duration > 0 && f.time - lastProgress >= duration / 100) {
          lastProgress = f.time;
          const first = this.seen.first?.frame ?? 0;
          this.options.onProgress(Math.min(1, (f.time - this.from) / duration), { done: f.index - first + 1, total: this.window ? this.seen.plannedCount || f.index - first + 1 : info.frameCount });
        }
        this.settleIntervals();
        if (this.o.mode === 'all') this.advanceAllHorizon(f.index);
      },
      onCandidate: (c) => this.onCandidate(c),
    });
    this.detector.flush();
    this.analyzeMs = performance.now() - t;
    this.detection = finishDetection(this.file, this.probe, summary.decodedFrames, summary.frameCount, summary.stderrTail, this.detector, this.sizes.warnings(), this.window && { window: this.window, seen: this.seen });
    const cap = this.reservoir.capacity;
    // Said, not silent: the film's hybrid run with 10 asked gave no scene 10 frames at 1080p.
    if ((this.o.mode === 'scene' || this.o.mode === 'hybrid') && cap < this.o.framesPerScene) {
      this.detection.warnings.push(`--frames-per-scene ${this.o.framesPerScene}: at ${this.probe.info.width}x${this.probe.info.height} the memory kept for a scene's candidate frames (${RESERVOIR_BYTES / 1024 / 1024} MB) holds ${cap}, so a scene gets at most ${cap} frames of its own, not ${this.o.framesPerScene}`);
    }
    this.closeScene(null, this.window ? this.seen.last : summary.frameCount - 1);
    this.finish();
  }

  /** The scene of a frame the detector has settled. */
  sceneOf(frame: number): number {
    return this.detector.boundaries.filter((b) => b.frame <= frame).length;
  }

  stopEncoding(): Promise<void> {
    return this.encoder.stop();
  }

  fail(err: unknown): void {
    this.error = err;
    this.finished = true;
    this.pending.length = 0;
    this.notify();
    this.freeRoom();
  }

  /**
   * Undefined while there is room for more frames, else a promise that resolves when there is:
   * returned to the decode pass, it pauses ffmpeg. Only waits that end without more input count:
   * encodes in flight, and frames the caller can take now.
   */
  private room(): Promise<void> | undefined {
    if (this.hasRoom()) return undefined;
    return new Promise<void>((r) => this.roomWaiters.push(r));
  }

  private hasRoom(): boolean {
    if (this.finished) return true;
    const waitingForCaller = this.canStream() && this.emittable() >= MAX_READY;
    return this.unencoded < this.maxUnencoded && !waitingForCaller;
  }

  /** Pending picks that nextReady would hand over now (sorted by frame, so a prefix). */
  private emittable(): number {
    let n = 0;
    for (const p of this.pending) {
      if (p.pick.candidate.index >= this.emitHorizon || !this.decided(p)) break;
      if (++n >= MAX_READY) break;
    }
    return n;
  }

  /**
   * Wakes the decode pass once there is room again. The condition is checked here, not only when
   * the wait began: waking on every event let one more frame in each time the caller took one
   * while encodes were still running, and held frames piled up (1.5 GB on a 1080p clip).
   */
  private freeRoom(): void {
    if (!this.roomWaiters.length || !this.hasRoom()) return;
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const f of w) f();
  }

  throwIfFailed(): void {
    if (this.error) throw this.error;
  }

  /** The next pick that is safe to number and emit, or null at the end. */
  async nextReady(): Promise<PendingPick | null> {
    for (;;) {
      this.throwIfFailed();
      const head = this.pending[0];
      if (head && (this.finished || (this.canStream() && head.pick.candidate.index < this.emitHorizon && this.decided(head)))) {
        this.pending.shift();
        this.freeRoom();
        if (this.nearScenePick(head)) continue;
        // Near-duplicates are dropped across scenes only (A B A cut back to the same shot); time-based
        // picks (interval, fallback) and several frames of one scene were asked for explicitly.
        if (this.o.dedupe && head.pick.reason === 'scene') {
          const twin = closestTwin(this.emittedHashes, head);
          if (twin) {
            const known = this.dedupedFrom.get(head.scene);
            if (!known || twin.distance < known.distance) this.dedupedFrom.set(head.scene, { of: twin.scene, distance: twin.distance });
            continue;
          }
        }
        // Only what dedupe needs: the pick itself holds the encoded image.
        if (head.pick.reason === 'scene') this.emittedHashes.push({ scene: head.scene, hash: head.hash, stats: head.stats, chroma: head.chroma });
        return head;
      }
      if (this.finished && !this.pending.length) return null;
      await new Promise<void>((r) => { this.wake = r; });
    }
  }

  /** Hold everything back while the final selection depends on the whole video. */
  private canStream(): boolean {
    if (this.o.maxFrames !== undefined || this.o.targetFrames !== undefined) return false;
    if (this.fallback && this.scenesClosed + 1 < this.o.minFrames) return false;
    return true;
  }

  private onCandidate(c: CandidateFrame): Promise<void> | undefined {
    if (this.o.mode === 'all') {
      if (this.o.maxFrames === undefined || this.allCount < this.o.maxFrames) {
        this.allCount++;
        this.enqueue({ candidate: c, sharpness: sharpnessOf(c), reason: 'all' }, -1, 0);
      }
      // Every frame is kept, but its scene number is final only once the detector has settled it
      // (a cut is confirmed a few frames later): emitting at once numbered the first frames after
      // a cut with the scene before it whenever encoding kept up with the decode.
      this.advanceAllHorizon(c.index);
      return this.room();
    }
    if (this.o.mode === 'scene' || this.o.mode === 'hybrid') this.reservoir.add(c);
    if (this.fallback && this.scenesClosed + 1 < this.o.minFrames) this.fallback.offer(c);
    this.intervals?.offer(c);
    return this.room();
  }

  private onBoundary(b: Boundary): void {
    this.closeScene(b, b.frame - 1);
  }

  private closeScene(end: Boundary | null, lastFrame: number): void {
    const index = this.scenesClosed;
    const scene = sceneFromBoundaries(index, this.sceneStart, end, lastFrame, this.until, this.seen.first);
    const cands = this.reservoir.takeBefore(end ? end.frame : Number.POSITIVE_INFINITY);
    if (this.o.mode === 'scene' || this.o.mode === 'hybrid') {
      const n = this.framesFor(scene);
      for (const p of pickFromScene(scene, cands, n)) this.enqueue(p, index, scene.endTime - scene.startTime);
    }
    for (const c of cands) c.drop();
    this.sceneStart = end;
    this.scenesClosed++;
    if (this.fallback && this.scenesClosed >= this.o.minFrames) this.fallback.clear();
    if (end) this.emitHorizon = end.frame;
    this.notify();
  }

  private framesFor(scene: SceneSpan): number {
    const len = scene.endTime - scene.startTime;
    let n = this.o.framesPerScene;
    if (this.o.mode === 'hybrid') n = Math.max(n, Math.floor(len / this.o.interval));
    if (this.o.targetFrames !== undefined && this.until > this.from) {
      n = Math.max(1, Math.round((len * this.o.targetFrames) / (this.until - this.from)));
    }
    return n;
  }

  /** Interval picks are final once their target is well behind the analysis. */
  private settleIntervals(): void {
    if (!this.intervals) return;
    const settled = this.detector.settledFrame;
    if (settled < 0) return;
    const settledTime = this.timeOfFrame(settled);
    for (const { candidate } of this.intervals.takeFinal(settledTime, 0.5)) {
      this.enqueue({ candidate, sharpness: sharpnessOf(candidate), reason: 'interval' }, -1, 0);
      candidate.drop();
    }
    if (this.o.mode === 'interval') this.emitHorizon = Math.max(this.emitHorizon, Math.min(settled, this.intervalsHorizon()));
  }

  /** `all` mode: frames up to `frame` that the detector has settled may be emitted. */
  private advanceAllHorizon(frame: number): void {
    const h = Math.min(frame, this.detector.settledFrame) + 1;
    if (h > this.emitHorizon) {
      this.emitHorizon = h;
      this.notify();
    }
  }

  private intervalsHorizon(): number {
    return this.pending.length ? (this.pending.at(-1) as PendingPick).pick.candidate.index + 1 : this.detector.settledFrame;
  }

  private timeOfFrame(frame: number): number {
    const fps = this.probe.info.fps || 30;
    return frame / fps;
  }

  /** Hashes the pick and queues its encoding (which holds the pixels until it has read them). */
  private enqueue(pick: FramePick, scene: number, sceneLen: number): void {
    const c = pick.candidate;
    const p: PendingPick = {
      // A reference to the candidate itself would keep its (pooled, recycled) buffer reachable for
      // as long as the pick is remembered for dedupe: copy the few numbers instead.
      pick: { candidate: { index: c.index, time: c.time, width: this.picture.width, height: this.picture.height }, sharpness: pick.sharpness, reason: pick.reason },
      scene, sceneLen,
      // Only scene picks are compared for near-duplicates: every frame of `all` mode skips the cost.
      hash: pick.reason === 'scene' ? dHash(c.data, c.width, c.height, c.pixels) : 0n,
      stats: pick.reason === 'scene' ? frameStats(c) : NO_STATS,
      chroma: pick.reason === 'scene' ? chromaLayout(c) : NO_CHROMA,
      encoded: null,
    };
    if (pick.reason === 'scene') this.scenePickFrames.push(c.index);
    if (c.jpeg) {
      // Encoded by ffmpeg already: the luma plane is no longer needed once sharpness is known.
      if (Buffer.isBuffer(c.jpeg)) {
        p.encoded = Promise.resolve(c.jpeg);
      } else {
        p.spooled = c.jpeg;
        p.encoded = Promise.resolve(SPOOLED_DATA);
      }
    } else {
      c.hold();
      this.unencoded++;
      const read = (): void => {
        c.drop();
        this.unencoded--;
        this.freeRoom();
      };
      if (this.encodeSpool) {
        const file = encodedSpoolFile(this.encodeSpool, this.encodeSpooled++, EXT[this.o.format]);
        p.encoded = this.encoder.encodeToFile(c, file, read, this.picture).then((bytes) => {
          p.spooled = { path: file, bytes };
          return SPOOLED_DATA;
        });
      } else {
        p.encoded = this.encoder.encode(c, read, this.picture);
      }
    }
    p.encoded.catch(() => undefined); // surfaced when awaited
    // Keep pending sorted by frame (interval and scene picks interleave in hybrid mode).
    let i = this.pending.length;
    while (i > 0 && (this.pending[i - 1] as PendingPick).pick.candidate.index > c.index) i--;
    if (i > 0 && (this.pending[i - 1] as PendingPick).pick.candidate.index === c.index) return;
    this.pending.splice(i, 0, p);
    this.notify();
  }

  private finish(): void {
    const o = this.o;
    const sceneCount = this.detection?.scenes.length ?? 0;
    if (this.fallback && sceneCount < o.minFrames) {
      // Too few scenes: evenly spaced frames instead (the predecessor's rule).
      this.fallbackUsed = true;
      this.pending.length = 0;
      this.scenePickFrames = [];
      for (const { candidate } of this.fallback.takeAll()) {
        this.enqueue({ candidate, sharpness: sharpnessOf(candidate), reason: 'fallback' }, -1, 0);
        candidate.drop();
      }
    } else {
      this.fallback?.clear();
    }
    if (this.intervals) {
      for (const { candidate } of this.intervals.takeAll()) {
        this.enqueue({ candidate, sharpness: sharpnessOf(candidate), reason: 'interval' }, -1, 0);
        candidate.drop();
      }
    }
    if (o.mode === 'hybrid') this.dropIntervalNearScenePicks();
    // Assign scenes to picks that were taken before their scene was known.
    const scenes = this.detection?.scenes ?? [];
    for (const p of this.pending) {
      if (p.scene < 0) {
        const s = scenes.find((x) => p.pick.candidate.index >= x.startFrame && p.pick.candidate.index <= x.endFrame);
        p.scene = s?.index ?? 0;
        p.sceneLen = s ? s.endTime - s.startTime : 0;
      }
    }
    const cap = o.maxFrames ?? (o.targetFrames !== undefined ? Math.max(o.targetFrames, o.minFrames) : undefined);
    if (cap !== undefined && this.pending.length > cap) {
      // Keep the picks of the longest scenes, one per scene first.
      const ranked = [...this.pending].sort((a, b) => b.sceneLen - a.sceneLen || a.pick.candidate.index - b.pick.candidate.index);
      const keep = new Set<PendingPick>();
      const seen = new Set<number>();
      for (const p of ranked) if (keep.size < cap && !seen.has(p.scene)) { keep.add(p); seen.add(p.scene); }
      for (const p of ranked) if (keep.size < cap) keep.add(p);
      const kept = this.pending.filter((p) => keep.has(p));
      this.pending.length = 0;
      this.pending.push(...kept);
    }
    this.finished = true;
    this.notify();
    this.freeRoom();
  }

  private dropIntervalNearScenePicks(): void {
    const kept = this.pending.filter((p) => !this.nearScenePick(p));
    this.pending.length = 0;
    this.pending.push(...kept);
  }

  /** Hybrid: frames within half an interval of a scene pick, in which interval picks are dropped. */
  private intervalGapFrames(): number {
    return (this.o.interval / 2) * (this.probe.info.fps || 30);
  }

  /** Hybrid: an interval pick with a scene pick of any scene within half an interval of it. */
  private nearScenePick(p: PendingPick): boolean {
    if (this.o.mode !== 'hybrid' || p.pick.reason !== 'interval') return false;
    const gap = this.intervalGapFrames();
    const f = p.pick.candidate.index;
    return this.scenePickFrames.some((s) => Math.abs(s - f) < gap);
  }

  /**
   * Hybrid: whether an interval pick is kept is known only once every scene pick that could be
   * near it is: those of the scenes closed up to half an interval past it. Deciding earlier made
   * the output depend on the caller's pace (28 or 26 frames from one 20 s clip): picks were
   * dropped only while they still waited to be handed out.
   */
  private decided(p: PendingPick): boolean {
    if (this.o.mode !== 'hybrid' || p.pick.reason !== 'interval') return true;
    return p.pick.candidate.index + this.intervalGapFrames() <= this.emitHorizon;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

export type Fingerprint = Pick<PendingPick, 'scene' | 'hash' | 'stats' | 'chroma'>;

const NO_STATS: FrameStats = { meanY: 0, sdY: 0, meanU: 0, meanV: 0 };
const NO_CHROMA = new Uint8Array(0);
/** `data` of a spooled frame: the image is in its file. */
const SPOOLED_DATA = Buffer.alloc(0);
/**
 * Mean difference of the chroma layouts (0-255) at or below which colours count as in the same
 * places. The same shot cut back to differs by 0-3; a gradient card with its colour channels
 * rotated has the same dHash and mean colour but differs by far more. Without it, 11 of the bench
 * film's 216 shots lost every frame to dedupe (low-complexity test cards in other colours).
 */
const DUPLICATE_CHROMA = 6;

/**
 * The emitted scene pick of another scene that `p` repeats most closely (dHash bits plus chroma
 * layout distance), or undefined (exported for tests). The closest, not the first: a film's shot can nearly repeat
 * several earlier ones, and the manifest should name the one it is most like.
 */
export function closestTwin(emitted: readonly Fingerprint[], p: Fingerprint): { scene: number; distance: number } | undefined {
  let best: { scene: number; distance: number } | undefined;
  for (const h of emitted) {
    if (h.scene === p.scene || !isNearDuplicate(h, p)) continue;
    const distance = hamming(h.hash, p.hash) + chromaDistance(h.chroma, p.chroma);
    if (!best || distance < best.distance) best = { scene: h.scene, distance };
  }
  return best;
}

/** Same structure (dHash) and same colours: a flat blue and a flat red frame share a hash but are not duplicates. */
function isNearDuplicate(a: Fingerprint, b: Fingerprint): boolean {
  return hamming(a.hash, b.hash) <= DUPLICATE_BITS &&
    Math.abs(a.stats.meanY - b.stats.meanY) < 12 &&
    Math.abs(a.stats.meanU - b.stats.meanU) < 8 &&
    Math.abs(a.stats.meanV - b.stats.meanV) < 8 &&
    chromaDistance(a.chroma, b.chroma) <= DUPLICATE_CHROMA;
}

/**
 * The luma plane node gets for sharpness when ffmpeg encodes (`--mode all` JPEG): area-downscaled
 * to at most LUMA_MAX_WIDTH wide. Full planes cost more than the rest of node's work: 550 MB
 * through the pipe for 20 s of 720p, 5.3 s against 4.8 s at 640 wide; at 1080p node's peak RSS
 * 184 MB against 166 (the pipe's chunks are garbage that waits for V8's next collection).
 * Sharpness is then measured at that scale: comparable among these frames, not with other modes'.
 */
const LUMA_MAX_WIDTH = 640;
function lumaSize(width: number, height: number): { lumaWidth: number; lumaHeight: number } {
  if (width <= LUMA_MAX_WIDTH) return { lumaWidth: width, lumaHeight: height };
  return { lumaWidth: LUMA_MAX_WIDTH, lumaHeight: Math.max(2, Math.round((height * LUMA_MAX_WIDTH) / width)) };
}

/** Scenes left without a frame because dedupe dropped every pick of theirs (see ExtractionResult). */
function duplicateScenes(dedupedFrom: ReadonlyMap<number, { of: number }>, emitted: readonly FrameRecord[]): Array<{ scene: number; of: number }> {
  const withFrames = new Set(emitted.map((f) => f.scene));
  return [...dedupedFrom].filter(([scene]) => !withFrames.has(scene)).map(([scene, { of }]) => ({ scene, of })).sort((a, b) => a.scene - b.scene);
}

/**
 * JPEG in `--mode all` and `--mode interval`: encoded by ffmpeg in the decoding process
 * (ExtractionJob.ffmpegEncodes). Every candidate of these modes is a frame to write, or nearly
 * (interval: one per target, and each decode process's first frame).
 */
function ffmpegEncodes(o: ResolvedOptions): boolean {
  return (o.mode === 'all' || o.mode === 'interval') && o.format === 'jpeg' && process.env.FRAMES_ALL_ENCODER !== 'sharp';
}

/** Encodes at once in `all` mode: one per core (FRAMES_ENCODE_THREADS overrides), at most 4. */
function encodeParallelism(): number {
  const env = Number(process.env.FRAMES_ENCODE_THREADS);
  if (Number.isInteger(env) && env >= 1) return Math.min(env, 16);
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
