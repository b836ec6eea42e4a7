/**
 * The single decode pass. One ffmpeg process decodes the video once and feeds two outputs:
 *  - pipe 1: every decoded frame as a 64x36 RGB thumbnail (the analysis stream);
 *  - pipe 3 (optional): a decimated stream of full-resolution YUV frames, the candidates that
 *    representative frames are picked from, so no second decode (and no keyframe seeking) is needed.
 * Per-frame timestamps come from two `showinfo` filters on stderr and are matched to the frames by order.
 */
import type { Readable } from 'node:stream';
import { safeInputArgs, spawnFfmpeg } from './ffmpeg.js';
import { BufferPool, ChunkQueue, readShowinfoLine, type ShowinfoMeta, type ShowinfoState } from './frame-buffers.js';
import { chunkConcurrency, MIN_CHUNK_SEC, planChunks, runChunks, windowSpans } from './parallel-decode.js';
import { FrameIndexer, type ProbeResult } from './probe.js';
import { analysisChain, candidateChain } from './filters.js';
import { SIG_BYTES } from './signature.js';

export interface AnalysisFrame {
  index: number;
  time: number;
  /** An intra-coded keyframe: encoders put these at the cuts they notice. */
  keyframe: boolean;
  rgb: Uint8Array;
  /** The decoded picture's size (0 when unknown): it may change mid-stream. */
  width: number;
  height: number;
}

export interface CandidateFrame {
  index: number;
  time: number;
  width: number;
  height: number;
  /** Planar YUV 4:2:0, full range as decoded. */
  yuv: Buffer;
  keyframe: boolean;
  /** Keep the pixel buffer alive (each holder: reservoir, slot, pending pick). */
  hold(): void;
  /** Give it back; the last drop returns the buffer to the pool for the next frame. */
  drop(): void;
}

export interface CandidateSpec {
  /** Buffer size (even; 4:2:0). */
  width: number;
  height: number;
  /** The picture inside the buffer when smaller (an odd size padded by one): default the buffer size. */
  pictureWidth?: number;
  pictureHeight?: number;
  /** Minimum seconds between candidates; 0 = every decoded frame. */
  stepSec: number;
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
  onAnalysis: (f: AnalysisFrame) => void;
  onCandidate?: (f: CandidateFrame) => void;
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
  const sec = Math.min(ch.maxSec, (ch.aheadBytes / (c.width * c.height * 1.5) - 1) * c.stepSec);
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
  const { decoderArgs, filter, outputs } = decodeArgs(plan, probeNow);
  const chunkSec = probeNow && plan.skip !== 'none' ? chunkSeconds(plan) : 0;
  const planned = chunkSec > 0 ? planChunks(probeNow as ProbeResult, chunkSec) : null;
  if (plan.window) {
    if (!probeNow) throw new Error('runAnalysis: a window needs a finished probe');
    const w = windowSpans(probeNow, plan.window, planned);
    if (w) {
      const args = { decoderArgs, filter, outputs, candW: plan.candidates?.width ?? 0, candH: plan.candidates?.height ?? 0 };
      return runChunks(plan, probeNow, w, args, Math.min(w.length, chunkConcurrency(plan.candidates ? 2 : 4)), plan.chunking?.aheadBytes);
    }
    // No exact seek for this file: decode from the start, hand over only the window's frames.
    return runSinglePass(insideWindow(plan, plan.window, probeNow), probeNow, [...safeInputArgs(plan.file, decoderArgs), '-an', '-sn', '-dn', '-filter_complex', filter, ...outputs]);
  }
  const spans = planned;
  if (spans) {
    const args = { decoderArgs, filter, outputs, candW: plan.candidates?.width ?? 0, candH: plan.candidates?.height ?? 0 };
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

function decodeArgs(plan: AnalysisPlan, probeNow: ProbeResult | undefined): { decoderArgs: string[]; filter: string; outputs: string[] } {
  const decoderArgs: string[] = [];
  // Output frames must be exact: skipping only non-reference frames keeps every decoded frame
  // bit-identical to a normal decode. Skipping all B-frames is faster but, with B-pyramids, breaks
  // the P-frames that reference B-frames (measured: 569 of 734 decoded frames differed), so it is
  // used only when nothing but the analysis thumbnails is needed.
  if (plan.skip !== 'none') decoderArgs.push('-skip_frame', plan.candidates ? 'noref' : plan.skip);
  if (plan.skipLoopFilter && !plan.candidates) decoderArgs.push('-skip_loop_filter', 'all');

  const ana = analysisChain();
  let filter: string;
  const outputs: string[] = [];
  if (plan.candidates) {
    const c = plan.candidates;
    const cand = candidateChain({
      width: c.pictureWidth ?? c.width, height: c.pictureHeight ?? c.height, bufferWidth: c.width, bufferHeight: c.height,
      stepSec: c.stepSec, deinterlace: probeNow?.interlaced ?? false,
    });
    filter = `[0:v:0]split=2[a][b];[a]${ana}[ao];[b]${cand}[bo]`;
    outputs.push('-map', '[ao]', '-fps_mode', 'passthrough', '-f', 'rawvideo', 'pipe:1');
    outputs.push('-map', '[bo]', '-fps_mode', 'passthrough', '-f', 'rawvideo', 'pipe:3');
  } else {
    filter = `[0:v:0]${ana}[ao]`;
    outputs.push('-map', '[ao]', '-fps_mode', 'passthrough', '-f', 'rawvideo', 'pipe:1');
  }
  return { decoderArgs, filter, outputs };
}

async function runSinglePass(plan: AnalysisPlan, probeNow: ProbeResult | undefined, args: string[]): Promise<AnalysisSummary> {
  let indexer: FrameIndexer | undefined = probeNow ? new FrameIndexer(probeNow.packetTimes, probeNow.firstShown) : undefined;
  const exactIndex = plan.skip === 'none';
  let anaCount = 0;
  let t0: number | undefined;
  const anaMeta: ShowinfoMeta[] = [];
  const candMeta: ShowinfoMeta[] = [];
  const info: ShowinfoState = { tb: { ana: 0, cand: 0 }, decodeErrors: 0 };
  const tb = info.tb;

  const run = spawnFfmpeg(args, {
    input: plan.file,
    extraPipes: plan.candidates ? 1 : 0,
    ...(plan.signal ? { signal: plan.signal } : {}),
    ...(plan.timeoutMs ? { timeoutMs: plan.timeoutMs } : {}),
    onStderrLine: (line) => {
      const r = readShowinfoLine(line, info);
      if (!r) return;
      (r.which === 'ana' ? anaMeta : candMeta).push(r.meta);
      drain();
    },
  });

  const anaChunks = new ChunkQueue(SIG_BYTES);
  const candW = plan.candidates?.width ?? 0;
  const candH = plan.candidates?.height ?? 0;
  // Full-resolution buffers are recycled: allocating and freeing megabytes per frame fragments
  // the C heap (measured: +120 MB RSS on a 1080p minute), a fixed pool keeps memory flat.
  const pool = new BufferPool(candW * candH * 1.5 || 1);
  const candChunks = new ChunkQueue(candW * candH * 1.5 || 1, pool);
  // With exact indices (no skipping), candidates are mapped through the analysis frames' pts.
  const ptsToIndex = new Map<number, number>();
  const pendingCands: Array<{ meta: ShowinfoMeta; data: Buffer }> = [];
  let lastAnaIndex = -1;

  /** Index and time of a candidate, once the analysis stream has fixed the time origin. */
  const candidatePosition = (meta: ShowinfoMeta): { index: number; time: number } | undefined => {
    if (t0 === undefined) return undefined;
    const t = meta.pts * (tb.cand || 1);
    if (exactIndex) {
      const index = ptsToIndex.get(meta.pts);
      return index === undefined ? undefined : { index, time: t - t0 };
    }
    if (!indexer) return undefined;
    return { index: indexer.indexOf(t), time: t - t0 };
  };

  /**
   * Hand candidates over in frame order, each right after the analysis frame of the same index:
   * the two pipes deliver at their own pace, and a candidate seen after the detector has moved on
   * would land in the wrong scene (the result would depend on timing).
   */
  function deliverCandidates(final: boolean): void {
    while (pendingCands.length) {
      const c = pendingCands[0] as { meta: ShowinfoMeta; data: Buffer };
      const pos = candidatePosition(c.meta);
      if (!pos) {
        if (!final) return; // its analysis twin has not arrived yet
        pendingCands.shift();
        pool.release(c.data);
        continue;
      }
      if (!final && pos.index > lastAnaIndex) return;
      pendingCands.shift();
      if (exactIndex) ptsToIndex.delete(c.meta.pts);
      let refs = 1;
      const frame: CandidateFrame = {
        index: pos.index, time: pos.time, width: c.meta.width || candW, height: c.meta.height || candH, yuv: c.data,
        keyframe: c.meta.keyframe,
        hold: () => { refs++; },
        drop: () => { if (--refs === 0) pool.release(c.data); },
      };
      plan.onCandidate?.(frame);
      frame.drop();
    }
  }

  function drain(final = false): void {
    if (!exactIndex && !indexer) return; // frames wait for the packet timestamps
    while (candMeta.length && candChunks.ready()) pendingCands.push({ meta: candMeta.shift() as ShowinfoMeta, data: candChunks.take() });
    for (;;) {
      deliverCandidates(false);
      if (!anaMeta.length || !anaChunks.ready()) break;
      const meta = anaMeta.shift() as ShowinfoMeta;
      const data = anaChunks.take();
      const t = meta.pts * (tb.ana || 1);
      // The first analysis frame fixes the index origin (packets before it were not decoded).
      const index = exactIndex || !indexer ? anaCount : indexer.indexOf(t);
      if (t0 === undefined) t0 = exactIndex || !indexer ? t : indexer.originTime;
      if (exactIndex && plan.candidates) ptsToIndex.set(meta.pts, index);
      anaCount++;
      lastAnaIndex = index;
      plan.onAnalysis({ index, time: t - t0, keyframe: meta.keyframe, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: meta.width, height: meta.height });
    }
    if (final) deliverCandidates(true);
  }

  const stdout = run.child.stdout as Readable;
  stdout.on('data', (chunk: Buffer) => { anaChunks.push(chunk); drain(); });
  const fd3 = run.child.stdio[3] as Readable | undefined;
  fd3?.on('data', (chunk: Buffer) => { candChunks.push(chunk); drain(); });
  const streamsDone = Promise.all([
    new Promise<void>((r) => stdout.once('close', () => r())),
    fd3 ? new Promise<void>((r) => fd3.once('close', () => r())) : Promise.resolve(),
  ]);
  // A probe that fails has the more specific error (missing file, no video stream...): stop ffmpeg and report it.
  let probeError: unknown;
  const probeReady = Promise.resolve(plan.probe).then(
    (p) => {
      indexer ??= new FrameIndexer(p.packetTimes, p.firstShown);
      drain();
    },
    (err: unknown) => {
      probeError = err;
      run.child.kill('SIGKILL');
    },
  );
  let stderrTail: string;
  try {
    stderrTail = await run.done;
  } catch (err) {
    await probeReady;
    throw probeError ?? err;
  }
  await probeReady;
  if (probeError) throw probeError;
  await streamsDone;
  drain(true);
  return {
    decodedFrames: anaCount,
    frameCount: exactIndex || !indexer ? anaCount : indexer.frameCount,
    decodeErrors: info.decodeErrors,
    stderrTail,
  };
}
