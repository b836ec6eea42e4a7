/**
 * The decode pass split into time chunks that start at clean keyframes, decoded by several
 * ffmpeg processes at once, of one decoder thread each (but see runChunks), and handed over in
 * time order. H.264's frame threads keep only about 1.5 of 2 cores busy (and fewer when B-frames
 * are skipped); independent chunks keep both busy, so the pass takes about half the time of one
 * process.
 *
 * Frames come out exactly as from one decode of the whole file: a chunk starts at a keyframe that
 * nothing before it refers past (probe.splitPoints), and each chunk keeps only the frames whose
 * timestamps fall inside it. The layout depends on the video alone, never on the machine, so the
 * result is the same on 1 core or 8.
 */
import os from 'node:os';
import type { AnalysisFrame, AnalysisPlan, AnalysisSummary, CandidateFrame } from './analyze.js';
import { startDecodeReader, type DecodedFrame } from './decode-reader.js';
import { safeInputArgs } from './ffmpeg.js';
import { frameBytes, type PixelLayout } from './filters.js';
import { BufferPool } from './frame-buffers.js';
import { FrameIndexer, type ProbeResult } from './probe.js';
import { makeSignature } from './signature.js';

/** Seconds, absolute stream time: a chunk holds the frames with start <= pts < end. */
export interface ChunkSpan {
  start: number;
  end: number;
  /**
   * The span starts between keyframes (a `start` window): an accurate seek, ffmpeg decodes from
   * the keyframe before and drops what precedes the seek point.
   */
  accurate?: boolean;
}

/** Shortest chunk worth a process of its own. */
export const MIN_CHUNK_SEC = 6;
/** Containers whose index makes a seek land exactly on the keyframe asked for. */
const SEEKABLE = /(^|,)(mov|mp4)(,|$)/;
const SPLITTABLE_CODECS = new Set(['h264', 'hevc']);

/**
 * Chunks of about `targetSec` (at least MIN_CHUNK_SEC) cut at split points, or null when the video
 * is too short, has no usable split point, or is a kind whose seeking is not exact.
 * @example planChunks(probe, 30) // [{ start: -Infinity, end: 28.73 }, { start: 28.73, end: Infinity }]
 */
export function planChunks(probe: ProbeResult, targetSec: number): ChunkSpan[] | null {
  const d = probe.info.durationSec;
  if (!probe.timestampsUsable || probe.partial || !SEEKABLE.test(probe.container) || !SPLITTABLE_CODECS.has(probe.info.codec ?? '')) return null;
  if (d < 2 * MIN_CHUNK_SEC || probe.splitPoints.length === 0) return null;
  const first = probe.packetTimes[0] as number;
  const last = first + d;
  // An even count, so two processes finish together instead of one running the last chunk alone;
  // fixed (not the machine's core count) so the layout, and with it the result, is the same everywhere.
  let n = Math.max(2, Math.ceil(d / Math.max(MIN_CHUNK_SEC, targetSec)));
  n += n % 2;
  const cuts: number[] = [];
  for (let i = 1; i < n; i++) {
    const ideal = first + (i * d) / n;
    const prev = cuts.at(-1) ?? first;
    let best: number | undefined;
    for (const k of probe.splitPoints) {
      if (k - prev < MIN_CHUNK_SEC || last - k < MIN_CHUNK_SEC) continue;
      if (best === undefined || Math.abs(k - ideal) < Math.abs(best - ideal)) best = k;
    }
    if (best !== undefined && best !== cuts.at(-1)) cuts.push(best);
  }
  if (!cuts.length) return null;
  cuts.sort((a, b) => a - b);
  const spans: ChunkSpan[] = [];
  let start = Number.NEGATIVE_INFINITY;
  for (const c of cuts) {
    spans.push({ start, end: c });
    start = c;
  }
  spans.push({ start, end: Number.POSITIVE_INFINITY });
  return spans;
}

/**
 * What each span costs to decode, estimated from its packets' bytes plus a share a frame for the
 * per-pixel work (about 12 KB a frame at 720p: fitted on the bench video's chunks, 0.1 s per MB
 * and 1.2 ms a frame on one thread). Exact enough to tell a dense part of the video from a sparse one.
 */
export function spanCosts(probe: ProbeResult, spans: readonly ChunkSpan[]): number[] {
  const perFrame = (probe.codedWidth * probe.codedHeight) / 74;
  const cost = spans.map(() => 0);
  let k = 0;
  for (let p = 0; p < probe.packetTimes.length; p++) {
    const t = probe.packetTimes[p] as number;
    while (k < spans.length - 1 && t >= (spans[k] as ChunkSpan).end) k++;
    const span = spans[k] as ChunkSpan;
    if (t >= span.start && t < span.end) cost[k] = (cost[k] as number) + (probe.packetSizes[p] ?? 0) + perFrame;
  }
  return cost;
}

/** A second decoder thread pays only for a chunk with this much more to decode than the lightest. */
export const DENSER_RATIO = 1.8;

/** The span with DENSER_RATIO times the estimated cost of the lightest or more, else -1. */
export function denserSpan(probe: ProbeResult, spans: readonly ChunkSpan[]): number {
  const cost = spanCosts(probe, spans);
  let best = 0;
  for (let j = 1; j < cost.length; j++) if ((cost[j] as number) > (cost[best] as number)) best = j;
  return (cost[best] as number) >= DENSER_RATIO * Math.min(...cost) ? best : -1;
}

/** Containers whose seeks land at or before the time asked for, so an accurate seek loses no frame. */
const WINDOW_SEEKABLE = /(^|,)(mov|mp4|matroska|webm)(,|$)/;

/**
 * The spans that decode only `window` (seconds from frame 0; end may be Infinity), in the probe's
 * clock: the chunk plan (`chunks`, null for one process) clipped to the window. Null when seeking
 * is not exact for this file (unusable timestamps, containers whose seeks may land late, a
 * truncated file): the caller then decodes from the start and drops the frames outside.
 */
export function windowSpans(probe: ProbeResult, window: { start: number; end: number }, chunks: ChunkSpan[] | null): ChunkSpan[] | null {
  if (!probe.timestampsUsable || probe.partial || !WINDOW_SEEKABLE.test(probe.container)) return null;
  const origin = probe.packetTimes[probe.firstShown] as number;
  const frameDur = probe.info.fps > 0 ? 1 / probe.info.fps : 0.04;
  // No seek at all for a window that starts at the first frame.
  const start = window.start > frameDur / 4 ? origin + window.start : Number.NEGATIVE_INFINITY;
  const end = Number.isFinite(window.end) ? origin + window.end : Number.POSITIVE_INFINITY;
  const out: ChunkSpan[] = [];
  for (const c of chunks ?? [{ start: Number.NEGATIVE_INFINITY, end: Number.POSITIVE_INFINITY }]) {
    if (c.end <= start || c.start >= end) continue;
    out.push(c.start < start ? { start, end: Math.min(c.end, end), accurate: true } : { start: c.start, end: Math.min(c.end, end) });
  }
  return out.length ? out : [{ start, end, accurate: true }];
}

/** How many chunks to decode at once: one per core, at most `cap` (each buffers what it decodes ahead). */
export function chunkConcurrency(cap: number): number {
  const env = Number(process.env.FRAMES_DECODE_PROCESSES);
  if (Number.isInteger(env) && env >= 1) return Math.min(env, 16);
  return Math.max(1, Math.min(cap, os.availableParallelism()));
}

/** What one ffmpeg run needs besides its time window (built by runAnalysis). */
export interface ChunkArgs {
  decoderArgs: string[];
  filter: string;
  /** Outputs of the process for chunk n (a spooled run names its files by process). */
  outputs: (n: number) => string[];
  candW: number;
  candH: number;
  pixels: PixelLayout;
  /** Candidates also come as ffmpeg's JPEGs (pipe 4). */
  jpeg: boolean;
  /** Spooled JPEGs: the k-th file of chunk n's process. */
  spoolFile?: (n: number) => (k: number) => string;
}

/** Frames a live chunk may have waiting for the consumer before its ffmpeg is paused. */
const LIVE_QUEUE_MAX = 4;

/**
 * Decode `spans` with up to `concurrency` processes; frames reach the plan's callbacks in time order.
 * `maxAheadBytes` bounds the candidate frames held for chunks decoded ahead of their turn.
 */
export async function runChunks(plan: AnalysisPlan, probe: ProbeResult, spans: ChunkSpan[], args: ChunkArgs, concurrency: number, maxAheadBytes = Number.POSITIVE_INFINITY): Promise<AnalysisSummary> {
  const indexer = new FrameIndexer(probe.packetTimes, probe.firstShown);
  const frameDur = probe.info.fps > 0 ? 1 / probe.info.fps : 0.04;
  const firstPacket = probe.packetTimes[0] as number;
  const candBytes = frameBytes(args.candW, args.candH, args.pixels);
  const pool = new BufferPool(candBytes || 1);
  const queues: DecodedFrame[][] = spans.map(() => []);
  const finished: boolean[] = spans.map(() => false);
  let live = 0;
  let t0: number | undefined;
  let decoded = 0;
  let decodeErrors = 0;
  const tails: string[] = spans.map(() => '');
  const inner = new AbortController();
  const onOuter = () => inner.abort(plan.signal?.reason);
  plan.signal?.addEventListener('abort', onOuter, { once: true });

  const deliver = (e: DecodedFrame): void | Promise<void> => {
    const index = indexer.indexOf(e.t);
    t0 ??= indexer.originTime;
    if (e.kind === 'ana') {
      decoded++;
      const f: AnalysisFrame = { index, time: e.t - t0, keyframe: e.keyframe, rgb: new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), width: e.width, height: e.height, ...(e.signature ? { signature: e.signature } : {}) };
      return plan.onAnalysis(f);
    }
    let refs = 1;
    const data = e.data;
    const frame: CandidateFrame = {
      index, time: e.t - t0, width: e.width, height: e.height, pixels: args.pixels, data, keyframe: e.keyframe, ...(e.jpeg ? { jpeg: e.jpeg, dataWidth: args.candW, dataHeight: args.candH } : {}),
      hold: () => { refs++; },
      drop: () => { if (--refs === 0) pool.release(data); },
    };
    const r = plan.onCandidate?.(frame);
    frame.drop();
    return r;
  };

  // The deliverer hands the live chunk's frames over one at a time (waiting for the consumer's
  // promises), then moves on through chunks that are complete. Readers waiting for room in the
  // live chunk's queue are woken as it drains.
  let wakeDeliverer: (() => void) | null = null;
  let roomWaiters: Array<() => void> = [];
  const poke = (): void => { const w = wakeDeliverer; wakeDeliverer = null; w?.(); };
  const freeRoom = (): void => { const w = roomWaiters; roomWaiters = []; for (const f of w) f(); };
  let failure: unknown;
  const deliverAll = async (): Promise<void> => {
    while (live < spans.length && failure === undefined) {
      const q = queues[live] as DecodedFrame[];
      const e = q.shift();
      if (e) {
        freeRoom();
        const r = deliver(e);
        if (r) await r;
        continue;
      }
      if (finished[live]) {
        live++;
        freeRoom();
        wakeAll();
        continue;
      }
      await new Promise<void>((r) => { wakeDeliverer = r; });
    }
  };

  // One decoder thread a process, but two for a chunk with far more to decode than the others
  // when every chunk runs at once: the others end before it, and then it has both cores to itself
  // (20 s of 720p, interval, chunks of 1.2 and 0.7 CPU s: 1.66 s against 1.84; the same clip with
  // its dense part last 1.77 against 1.86; 1080p 2.83 against 3.17 s, 12 MB more). Between
  // balanced chunks its extra thread only takes CPU from the other and adds its own overhead
  // (detect on the speed bench's 60 s: 2.67 s against 2.48), hence DENSER_RATIO: three threads on
  // two cores pay off from about 1.4 times the work in theory. Two for every chunk was slower
  // (60 s: 4.3 s against 3.4, frame threads waiting on each other); with more chunks than
  // processes, one each.
  const doubled = concurrency > 1 && spans.length <= concurrency ? denserSpan(probe, spans) : -1;

  const runOne = async (i: number, onExit: () => void): Promise<void> => {
    const span = spans[i] as ChunkSpan;
    // The probe's and the single pass's clock: the file's times shifted to start at 0 (as ffmpeg
    // does without -copyts). Absolute times (-copyts alone) misnumbered files with a start offset.
    const window: string[] = ['-copyts', '-start_at_zero'];
    // A seek just past the keyframe lands on it; nothing is decoded and thrown away before it.
    // A window's start between keyframes: an accurate seek half a frame early (ffmpeg drops the
    // frames before it; inSpan below decides about the one at the edge).
    const seekTo = span.accurate ? span.start - frameDur / 2 : span.start;
    if (Number.isFinite(span.start)) window.push(...(span.accurate ? [] : ['-noaccurate_seek']), '-ss', (span.accurate ? seekTo : span.start + frameDur / 2).toFixed(6));
    if (Number.isFinite(span.end)) {
      // -t counts from the seek point, or from the file's start (0, or earlier with negative pts).
      const from = Number.isFinite(span.start) ? seekTo : Math.min(0, firstPacket);
      window.push('-t', (span.end - from + 4 * frameDur).toFixed(6));
    }
    const threads = concurrency > 1 ? ['-threads', i === doubled ? '2' : '1'] : [];
    const ffArgs = [...safeInputArgs(plan.file, [...args.decoderArgs, ...threads, ...window]), '-an', '-sn', '-dn', '-filter_complex', args.filter, ...args.outputs(i)];
    const inSpan = (t: number): boolean => t >= span.start - frameDur / 4 && t < span.end - frameDur / 4;
    const q = queues[i] as DecodedFrame[];
    // Chunks ahead of the live one queue what they decode (bounded by the ahead budget below); the
    // live one waits for room, so its ffmpeg is paused while the consumer is behind.
    const push = (e: DecodedFrame): void | Promise<void> => {
      if (!inSpan(e.t)) {
        if (e.kind === 'cand') pool.release(e.data);
        return;
      }
      // A chunk ahead of its turn hands its whole queue over at once when the one before it ends,
      // and the detector then works through it while nothing decodes: its signatures are made
      // now, while node mostly waits for the live chunk (interval, 60 s of 720p: 680 frames, 83-87
      // ms of work after the last ffmpeg had exited; 42-73 ms with this).
      if (e.kind === 'ana' && i !== live) e.signature = makeSignature(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength));
      q.push(e);
      if (i === live) poke();
      if (i !== live || q.length < LIVE_QUEUE_MAX) return;
      return new Promise<void>((r) => roomWaiters.push(r));
    };
    const reader = startDecodeReader({
      args: ffArgs,
      input: plan.file,
      candidates: plan.candidates ? { width: args.candW, height: args.candH, bytes: candBytes, pool, jpeg: args.jpeg, ...(args.spoolFile ? { spoolFile: args.spoolFile(i) } : {}) } : null,
      signal: inner.signal,
      ...(plan.timeoutMs ? { timeoutMs: plan.timeoutMs } : {}),
      ...(plan.maxQueued ? { maxQueued: plan.maxQueued } : {}),
      onFrame: push,
    });
    plan.onReader?.(reader.stats);
    // 'exit' comes before the pipes close: the slot is free while the last frames are still read.
    let exitSeen = false;
    const exit = (): void => { if (!exitSeen) { exitSeen = true; onExit(); } };
    reader.child.once('exit', exit);
    try {
      const r = await reader.done;
      tails[i] = r.stderrTail;
      decodeErrors += r.decodeErrors;
    } finally {
      exit();
    }
    finished[i] = true;
    poke();
  };

  // A process slot frees when ffmpeg exits (its last frames may still be on their way in), and
  // chunk k starts only while k - live <= concurrency, so at most `concurrency` chunks wait in memory.
  let nextChunk = 0;
  let running = 0;
  const consumed: Array<Promise<void>> = [];
  // Candidates (full-resolution frames) of the chunks ahead of the one being handed over stay in
  // memory until their turn: the next chunk may always run ahead, later ones only while they fit
  // the budget (estimated from the candidate step: a chunk's frames are not known before it runs).
  const step = plan.candidates?.stepSec ?? 0;
  const spanSec = (c: ChunkSpan): number => (Number.isFinite(c.end) ? c.end : firstPacket + probe.info.durationSec) - (Number.isFinite(c.start) ? c.start : firstPacket);
  const chunkBytes = (c: ChunkSpan): number => (plan.candidates && step > 0 ? Math.ceil(spanSec(c) / step + 1) * candBytes : 0);
  const aheadBytes = (k: number): number => { let b = 0; for (let j = live + 1; j <= k; j++) b += chunkBytes(spans[j] as ChunkSpan); return b; };
  let waiters: Array<() => void> = [];
  const wakeAll = (): void => { const w = waiters; waiters = []; for (const f of w) f(); };
  const schedule = async (): Promise<void> => {
    while (nextChunk < spans.length && failure === undefined) {
      if (running >= concurrency || nextChunk - live > concurrency || (nextChunk > live + 1 && aheadBytes(nextChunk) > maxAheadBytes)) {
        await new Promise<void>((r) => waiters.push(r));
        continue;
      }
      const i = nextChunk++;
      running++;
      const onExit = (): void => { running--; wakeAll(); };
      consumed.push(runOne(i, onExit).then(wakeAll, (err: unknown) => {
        failure ??= err;
        inner.abort(err);
        wakeAll();
        poke();
      }));
    }
  };
  const delivering = deliverAll().catch((err: unknown) => {
    failure ??= err;
    inner.abort(err);
    wakeAll();
  });
  try {
    await schedule();
    await Promise.all(consumed);
    poke();
    await delivering;
  } finally {
    plan.signal?.removeEventListener('abort', onOuter);
  }
  if (failure !== undefined) {
    for (const q of queues) for (const e of q.splice(0)) if (e.kind === 'cand') pool.release(e.data);
    throw failure;
  }
  return { decodedFrames: decoded, frameCount: decoded === 0 ? 0 : indexer.frameCount, decodeErrors, stderrTail: tails.join('\n').slice(-64 * 1024) };
}
