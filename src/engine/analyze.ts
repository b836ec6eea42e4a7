/**
 * The single decode pass. One ffmpeg process decodes the video once and feeds two outputs:
 *  - pipe 1: every decoded frame as a 64x36 RGB thumbnail (the analysis stream);
 *  - pipe 3 (optional): a decimated stream of full-resolution frames (YUV, or RGB for every-frame
 *    extraction), the candidates that
 *    representative frames are picked from, so no second decode (and no keyframe seeking) is needed.
 * Per-frame timestamps come from two `showinfo` filters on stderr and are matched to the frames by order.
 */
import path from 'node:path';
import { startDecodeReader, type DecodedFrame, type DecodeReaderStats } from './decode-reader.js';
import { safeInputArgs } from './ffmpeg.js';
import { BufferPool, type SpooledJpeg } from './frame-buffers.js';
import { chunkConcurrency, MIN_CHUNK_SEC, planChunks, runChunks, windowSpans } from './parallel-decode.js';
import { FrameIndexer, type ProbeResult } from './probe.js';
import { analysisChain, candidateChain, frameBytes, type FrameTargets, type PixelLayout } from './filters.js';
import type { Signature } from './signature.js';

export interface AnalysisFrame {
  index: number;
  time: number;
  /** An intra-coded keyframe: encoders put these at the cuts they notice. */
  keyframe: boolean;
  rgb: Uint8Array;
  /** makeSignature(rgb), when it was made ahead (a chunk decoded ahead of its turn). */
  signature?: Signature;
  /** The decoded picture's size (0 when unknown): it may change mid-stream. */
  width: number;
  height: number;
}

export interface CandidateFrame {
  index: number;
  time: number;
  width: number;
  height: number;
  /** How `data` holds the picture. */
  pixels: PixelLayout;
  /** `yuv420p`: planar YUV 4:2:0 as decoded; `rgb24`: packed RGB converted by ffmpeg; `gray`: the luma plane alone. */
  data: Buffer;
  /** The frame as a JPEG encoded by ffmpeg (candidates with `jpeg`): its bytes, or the file ffmpeg wrote (`jpeg.spool`). */
  jpeg?: Buffer | SpooledJpeg;
  /** Size of the picture in `data` where it is not width x height (the luma plane of `gray`, downscaled). */
  dataWidth?: number;
  dataHeight?: number;
  keyframe: boolean;
  /** Keep the pixel buffer alive (each holder: reservoir, slot, pending pick). */
  hold(): void;
  /** Give it back; the last drop returns the buffer to the pool for the next frame. */
  drop(): void;
}

export interface CandidateSpec {
  /** Buffer size (even for 4:2:0). */
  width: number;
  height: number;
  /** The picture inside the buffer when smaller (an odd size padded by one): default the buffer size. */
  pictureWidth?: number;
  pictureHeight?: number;
  /** Minimum seconds between candidates; 0 = every decoded frame. With `targets`: their spacing. */
  stepSec: number;
  /**
   * Only the frames nearest `firstSec + k * everySec` (seconds from frame 0), where nothing else is
   * looked at (interval extraction): a candidate every stepSec made most of them unused copies.
   */
  targets?: FrameTargets;
  /** Default yuv420p. */
  pixels?: PixelLayout;
  /**
   * ffmpeg also encodes every candidate to JPEG at `qscale` (1 best .. 31), delivered as
   * `CandidateFrame.jpeg`; the pixels are then only the luma plane (`gray`) at the luma size, for sharpness.
   */
  jpeg?: CandidateJpeg;
}

export interface CandidateJpeg {
  qscale: number;
  lumaWidth: number;
  lumaHeight: number;
  /**
   * ffmpeg writes the JPEGs into `dir` itself, as `.<tag>-<process>-<n>.jpg`, instead of piping
   * them to node (see spoolFiles); `dir` must pass spoolablePath.
   */
  spool?: { dir: string; tag: string };
}

/**
 * Paths that go into ffmpeg's tee and image2 arguments unescaped: no `%` (image2's pattern), no
 * `|`, `[`, `]` or `:` (the tee's syntax), no quotes or backslashes. Others are piped instead.
 */
export function spoolablePath(p: string): boolean {
  return /^[\w./ +,=@~-]+$/.test(p);
}

/** The n-th file sharp writes itself in a spooled `all` run (WebP, PNG, or JPEG with FRAMES_ALL_ENCODER=sharp). */
export function encodedSpoolFile(spool: { dir: string; tag: string }, n: number, ext: string): string {
  return path.join(path.resolve(spool.dir), `.${spool.tag}-e-${String(n).padStart(8, '0')}.${ext}`);
}

/** The JPEG files of decode process `n` of a spooled run: image2's pattern, and the k-th file (from 0). */
export function spoolFiles(spool: { dir: string; tag: string }, n: number): { pattern: string; fileOf: (k: number) => string } {
  const base = path.join(path.resolve(spool.dir), `.${spool.tag}-${n}-`);
  return { pattern: `${base}%08d.jpg`, fileOf: (k) => `${base}${String(k).padStart(8, '0')}.jpg` };
}

export interface AnalysisPlan {
  file: string;
  /**
   * The probe's facts. May still be pending when there are no candidates: the decode then starts
   * at once and frames wait (a few kilobytes) until the packet timestamps are known.
   */
  probe: ProbeResult | Promise<ProbeResult>;
  /**
   * Frames the decoder may skip (indices stay true, via packet timestamps): `noref` skips only
   * frames nothing refers to, so every decoded frame is exact; `bidir` skips all B-frames, faster,
   * but with B-pyramids the P-frames that reference B-frames decode wrongly, so it is for analysis only.
   */
  skip: 'none' | 'noref' | 'bidir';
  /** Skip the deblocking filter: only when no candidate frames are output (they must be clean). */
  skipLoopFilter: boolean;
  candidates: CandidateSpec | null;
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * Frames in order (a candidate right after its analysis twin). A returned promise holds back
   * the following frames, and ffmpeg with them, until it settles (decode-reader.ts): it must not
   * wait for later frames.
   */
  onAnalysis: (f: AnalysisFrame) => void | Promise<void>;
  onCandidate?: (f: CandidateFrame) => void | Promise<void>;
  /** Frames read but not yet handed over at which ffmpeg's pipes stop being read (default 4). */
  maxQueued?: number;
  /** Decoder threads (ffmpeg `-threads`); unset: ffmpeg's choice (one more than the cores). */
  decoderThreads?: number;
  /** Called with each ffmpeg process's reader statistics (tests check the backpressure with them). */
  onReader?: (stats: DecodeReaderStats) => void;
  /**
   * Decode in time chunks, several at once, where the video allows (parallel-decode.ts); unset:
   * one process for the whole file. With candidates, a chunk is only as long as its candidate
   * frames fit `aheadBytes` (it may be decoded ahead of its turn and wait in memory), and there is
   * no chunking at all when that is under `minSec`.
   */
  chunking?: { maxSec: number; minSec?: number; aheadBytes?: number };
  /**
   * Decode only the frames from `start` to `end` (seconds from frame 0, end exclusive, may be
   * Infinity); indices and times stay those of the whole video. Needs a finished probe.
   */
  window?: { start: number; end: number };
}

/** Chunk length for this plan, 0 for no chunking. */
function chunkSeconds(plan: AnalysisPlan): number {
  const ch = plan.chunking;
  if (!ch) return 0;
  const c = plan.candidates;
  if (!c) return ch.maxSec;
  if (c.stepSec <= 0 || ch.aheadBytes === undefined) return 0;
  const sec = Math.min(ch.maxSec, (ch.aheadBytes / frameBytes(c.width, c.height, c.pixels ?? 'yuv420p') - 1) * c.stepSec);
  return sec >= Math.max(MIN_CHUNK_SEC, ch.minSec ?? 0) ? sec : 0;
}

export interface AnalysisSummary {
  decodedFrames: number;
  frameCount: number;
  decodeErrors: number;
  stderrTail: string;
}

/** Run the decode pass; resolves when ffmpeg has exited and every frame was delivered. */
export async function runAnalysis(plan: AnalysisPlan): Promise<AnalysisSummary> {
  const probeNow = plan.probe instanceof Promise ? undefined : plan.probe;
  if (plan.candidates && !probeNow) throw new Error('runAnalysis: candidates need a finished probe');
  const { decoderArgs, filter, outputsOf } = decodeArgs(plan, probeNow);
  const outputs = outputsOf(0);
  const cj = plan.candidates?.jpeg;
  const spool = cj?.spool;
  const args = {
    decoderArgs, filter, outputs: outputsOf, candW: cj?.lumaWidth ?? plan.candidates?.width ?? 0, candH: cj?.lumaHeight ?? plan.candidates?.height ?? 0, pixels: candidatePixels(plan.candidates), jpeg: cj !== undefined,
    ...(spool ? { spoolFile: (n: number) => spoolFiles(spool, n).fileOf } : {}),
  } as const;
  // Videos without B-frames (skip 'none') are chunked too: the packet times index their frames
  // exactly as well (the 20-minute 1080p24 bench film: `detect` 51-52 s in one process with frame
  // threads against 40.8 s in chunks, interval 58.6 against 49.6 s; the same scenes, byte-identical
  // frames). `--mode all` never is (chunkSeconds).
  const chunkSec = probeNow ? chunkSeconds(plan) : 0;
  const planned = chunkSec > 0 ? planChunks(probeNow as ProbeResult, chunkSec) : null;
  if (plan.window) {
    if (!probeNow) throw new Error('runAnalysis: a window needs a finished probe');
    const w = windowSpans(probeNow, plan.window, planned);
    if (w) {
      return runChunks(plan, probeNow, w, args, Math.min(w.length, chunkConcurrency(plan.candidates ? 2 : 4)), plan.chunking?.aheadBytes);
    }
    // No exact seek for this file: decode from the start, hand over only the window's frames.
    return runSinglePass(insideWindow(plan, plan.window, probeNow), probeNow, [...safeInputArgs(plan.file, decoderArgs), '-an', '-sn', '-dn', '-filter_complex', filter, ...outputs]);
  }
  const spans = planned;
  if (spans) {
    return runChunks(plan, probeNow as ProbeResult, spans, args, chunkConcurrency(plan.candidates ? 2 : 4), plan.chunking?.aheadBytes);
  }
  return runSinglePass(plan, probeNow, [...safeInputArgs(plan.file, decoderArgs), '-an', '-sn', '-dn', '-filter_complex', filter, ...outputs]);
}

/** The plan with callbacks that see only the frames inside `w` (seconds from frame 0, a quarter frame's tolerance). */
function insideWindow(plan: AnalysisPlan, w: { start: number; end: number }, probe: ProbeResult): AnalysisPlan {
  const tol = (probe.info.fps > 0 ? 1 / probe.info.fps : 0.04) / 4;
  const inside = (t: number): boolean => t >= w.start - tol && t < w.end - tol;
  const onCandidate = plan.onCandidate;
  return {
    ...plan,
    onAnalysis: (f) => { if (inside(f.time)) plan.onAnalysis(f); },
    ...(onCandidate ? { onCandidate: (f: CandidateFrame) => { if (inside(f.time)) onCandidate(f); } } : {}),
  };
}

/** How the candidates' pixels reach node: the luma plane alone when ffmpeg encodes them itself. */
function candidatePixels(c: CandidateSpec | null): PixelLayout {
  return c?.jpeg ? 'gray' : c?.pixels ?? 'yuv420p';
}

/** ffmpeg's decoder arguments, filter graph and outputs (those of decode process `n`: a spooled run writes files of its own per process). */
function decodeArgs(plan: AnalysisPlan, probeNow: ProbeResult | undefined): { decoderArgs: string[]; filter: string; outputsOf: (n: number) => string[] } {
  const decoderArgs: string[] = plan.decoderThreads ? ['-threads', String(plan.decoderThreads)] : [];
  // Output frames must be exact: skipping only non-reference frames keeps every decoded frame
  // bit-identical to a normal decode. Skipping all B-frames is faster but, with B-pyramids, breaks
  // the P-frames that reference B-frames (measured: 569 of 734 decoded frames differed), so it is
  // used only when nothing but the analysis thumbnails is needed.
  if (plan.skip !== 'none') decoderArgs.push('-skip_frame', plan.candidates ? 'noref' : plan.skip);
  if (plan.skipLoopFilter && !plan.candidates) decoderArgs.push('-skip_loop_filter', 'all');
  // One filter thread where ffmpeg encodes the JPEGs: the decoder's frame threads (or the other
  // chunk's process) already fill the cores, and slicing the range table (tvToJpegRange) over
  // filter threads cost more than it saved. 720p, --mode all: 60 s in 10.8-11.4 s against
  // 11.5-12.1 s, 20 s in 4.36-4.47 s against 4.58-5.22 s; interval, 60 s: 3.50-3.58 s against
  // 3.59-3.71 s. Deinterlacing (bwdif, a heavy filter) keeps ffmpeg's default.
  if (plan.candidates?.jpeg && !probeNow?.interlaced) decoderArgs.unshift('-filter_complex_threads', '1');

  const ana = analysisChain();
  let filter: string;
  const outputs: string[] = [];
  if (plan.candidates) {
    const c = plan.candidates;
    const cand = candidateChain({
      width: c.pictureWidth ?? c.width, height: c.pictureHeight ?? c.height, bufferWidth: c.width, bufferHeight: c.height,
      stepSec: c.stepSec, deinterlace: probeNow?.interlaced ?? false, fullRange: probeNow?.fullRange ?? false, pixels: candidatePixels(c),
      ...(c.jpeg ? { luma: { width: c.jpeg.lumaWidth, height: c.jpeg.lumaHeight } } : {}),
      ...(c.targets && probeNow ? { targets: filterClockTargets(c.targets, probeNow) } : {}),
    });
    filter = `[0:v:0]split=2[a][b];[a]${ana}[ao];[b]${cand}`;
    outputs.push('-map', '[ao]', '-fps_mode', 'passthrough', '-f', 'rawvideo', 'pipe:1');
    outputs.push('-map', '[bo]', '-fps_mode', 'passthrough', '-f', 'rawvideo', 'pipe:3');
    const j = c.jpeg;
    if (j) {
      // -qmin 1: the encoder's floor is 2 otherwise, and the best quality asked for could not be had.
      // A few frames (interval targets): one encoder thread. Each frame thread holds a context of
      // its own for frames that never come (interval, 1080p: 295 MB peak tree RSS against 332,
      // 720p 245-247 against 265-267, and 0.1 s sooner); every frame (`all`) keeps them busy.
      const fewFrames = c.stepSec > 0 || c.targets !== undefined;
      const enc = ['-map', '[jo]', '-fps_mode', 'passthrough', '-c:v', 'mjpeg', '-qmin', '1', '-q:v', String(j.qscale), ...(fewFrames ? ['-threads', '1'] : [])];
      const spool = j.spool;
      if (spool) {
        // The image2 muxer writes each JPEG to its file, then the framecrc muxer a line for it to
        // the pipe (flushed at once): node learns of a file only once it is complete.
        return {
          decoderArgs, filter,
          outputsOf: (n) => [...outputs, ...enc, '-f', 'tee', `[f=image2:start_number=0]${spoolFiles(spool, n).pattern}|[f=framecrc:flush_packets=1]pipe:4`],
        };
      }
      outputs.push(...enc, '-f', 'image2pipe', 'pipe:4');
    }
  } else {
    filter = `[0:v:0]${ana}[ao]`;
    outputs.push('-map', '[ao]', '-fps_mode', 'passthrough', '-f', 'rawvideo', 'pipe:1');
  }
  return { decoderArgs, filter, outputsOf: () => outputs };
}

/**
 * Targets on the filter's clock (the probe's: frame 0 is at packetTimes[firstShown]), half a
 * frame early, so the first frame selected from each is the one nearest to it.
 */
function filterClockTargets(t: FrameTargets, probe: ProbeResult): FrameTargets {
  const origin = probe.packetTimes[probe.firstShown] ?? 0;
  const frameDur = probe.info.fps > 0 ? 1 / probe.info.fps : 0.04;
  return { firstSec: origin + t.firstSec - frameDur / 2, everySec: t.everySec };
}

async function runSinglePass(plan: AnalysisPlan, probeNow: ProbeResult | undefined, args: string[]): Promise<AnalysisSummary> {
  let indexer: FrameIndexer | undefined = probeNow ? new FrameIndexer(probeNow.packetTimes, probeNow.firstShown) : undefined;
  const exactIndex = plan.skip === 'none';
  let anaCount = 0;
  let t0: number | undefined;
  const candW = plan.candidates?.jpeg?.lumaWidth ?? plan.candidates?.width ?? 0;
  const candH = plan.candidates?.jpeg?.lumaHeight ?? plan.candidates?.height ?? 0;
  const pixels = candidatePixels(plan.candidates);
  const candBytes = frameBytes(candW, candH, pixels);
  const spool = plan.candidates?.jpeg?.spool;
  const spoolFile = spool ? spoolFiles(spool, 0).fileOf : undefined;
  // Full-resolution buffers are recycled: allocating and freeing megabytes per frame fragments
  // the C heap (measured: +120 MB RSS on a 1080p minute), a fixed pool keeps memory flat.
  const pool = new BufferPool(candBytes || 1);
  // With exact indices (no skipping), a candidate takes the index of its analysis twin (same time).
  const timeToIndex = new Map<number, number>();
  const key = (t: number): number => Math.round(t * 1e6);

  // A probe that fails has the more specific error (missing file, no video stream...): stop ffmpeg and report it.
  let probeError: unknown;
  let kill: () => void = () => undefined;
  const probeReady = Promise.resolve(plan.probe).then(
    (p) => { indexer ??= new FrameIndexer(p.packetTimes, p.firstShown); },
    (err: unknown) => { probeError = err; kill(); },
  );

  const consume = (f: DecodedFrame): void | Promise<void> => {
    if (probeError) {
      if (f.kind === 'cand') pool.release(f.data);
      return;
    }
    // Frames wait (a few kilobytes, the pipes paused) until the packet timestamps are known.
    if (!exactIndex && !indexer) return probeReady.then(() => consume(f));
    if (f.kind === 'ana') {
      // The first analysis frame fixes the index origin (packets before it were not decoded).
      const index = exactIndex || !indexer ? anaCount : indexer.indexOf(f.t);
      if (t0 === undefined) t0 = exactIndex || !indexer ? f.t : indexer.originTime;
      if (exactIndex && plan.candidates) timeToIndex.set(key(f.t), index);
      anaCount++;
      return plan.onAnalysis({ index, time: f.t - t0, keyframe: f.keyframe, rgb: new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength), width: f.width, height: f.height });
    }
    let index: number | undefined;
    if (t0 !== undefined) {
      if (exactIndex) {
        index = timeToIndex.get(key(f.t));
        timeToIndex.delete(key(f.t));
      } else {
        index = indexer?.indexOf(f.t);
      }
    }
    if (index === undefined || t0 === undefined) {
      pool.release(f.data); // no analysis twin (only at the very end of a damaged stream)
      return;
    }
    let refs = 1;
    const data = f.data;
    const frame: CandidateFrame = {
      index, time: f.t - t0, width: f.width, height: f.height, pixels, data, keyframe: f.keyframe, ...(f.jpeg ? { jpeg: f.jpeg, dataWidth: candW, dataHeight: candH } : {}),
      hold: () => { refs++; },
      drop: () => { if (--refs === 0) pool.release(data); },
    };
    const r = plan.onCandidate?.(frame);
    frame.drop();
    return r;
  };

  const reader = startDecodeReader({
    args,
    input: plan.file,
    candidates: plan.candidates ? { width: candW, height: candH, bytes: candBytes, pool, jpeg: plan.candidates.jpeg !== undefined, ...(spoolFile ? { spoolFile } : {}) } : null,
    ...(plan.signal ? { signal: plan.signal } : {}),
    ...(plan.timeoutMs ? { timeoutMs: plan.timeoutMs } : {}),
    ...(plan.maxQueued ? { maxQueued: plan.maxQueued } : {}),
    onFrame: consume,
  });
  kill = () => reader.child.kill('SIGKILL');
  if (probeError) kill();
  plan.onReader?.(reader.stats);
  let result: { stderrTail: string; decodeErrors: number };
  try {
    result = await reader.done;
  } catch (err) {
    await probeReady;
    throw probeError ?? err;
  }
  await probeReady;
  if (probeError) throw probeError;
  return {
    decodedFrames: anaCount,
    frameCount: exactIndex || !indexer ? anaCount : indexer.frameCount,
    decodeErrors: result.decodeErrors,
    stderrTail: result.stderrTail,
  };
}
