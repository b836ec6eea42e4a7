/**
 * The one reader of a decode pass's ffmpeg process, used by the single pass (analyze.ts) and by
 * every chunk of the chunked decode (parallel-decode.ts). It pairs the fixed-size frames of the
 * pipes (pipe 1: analysis thumbnails, pipe 3: full-resolution candidates) with their `showinfo`
 * lines on stderr and hands them to one consumer, one at a time and in order: a candidate right
 * after the analysis frame of the same time, so the result never depends on the pipes' pace.
 *
 * Backpressure: when the consumer returns a promise it gets nothing more until it settles, and
 * once `maxQueued` frames wait, the pipes are no longer read, so ffmpeg blocks on its writes and
 * stops decoding. A slow consumer (encoding, an upload, the caller of extractFrames) thus paces
 * the decoder, and decoded frames cannot pile up in memory.
 */
import type { Readable } from 'node:stream';
import { spawnFfmpeg, type FfmpegRun } from './ffmpeg.js';
import { BufferPool, ChunkQueue, JpegQueue, readShowinfoLine, SpoolQueue, type ShowinfoMeta, type ShowinfoState, type SpooledJpeg } from './frame-buffers.js';
import { SIG_BYTES, type Signature } from './signature.js';

/** One decoded frame off a pipe. */
export interface DecodedFrame {
  kind: 'ana' | 'cand';
  /** Seconds, on the clock of ffmpeg's output (pts x the filter's time base). */
  t: number;
  keyframe: boolean;
  /** The decoded picture's size (0 when unknown); a candidate's defaults to its buffer size. */
  width: number;
  height: number;
  /** `ana`: a fresh SIG_BYTES buffer; `cand`: a buffer of the candidates' pool (release it when done). */
  data: Buffer;
  /** A candidate's JPEG, when ffmpeg encodes the candidates too: its bytes (pipe 4), or the file ffmpeg wrote (spooled). */
  jpeg?: Buffer | SpooledJpeg;
  /** `ana`: its signature, when it was made while the frame waited in a chunk's queue. */
  signature?: Signature;
}

export interface DecodeReaderOptions {
  /** ffmpeg arguments (after the global ones spawnFfmpeg adds). */
  args: string[];
  /** The input file, for error messages. */
  input: string;
  /**
   * Candidate frames on pipe 3: their picture size, bytes a frame and the pool their buffers come
   * from; `jpeg`: each one also comes encoded on pipe 4, or with `spoolFile` written by ffmpeg to
   * `spoolFile(n)` (n from 0) and announced by a framecrc line on pipe 4. null: none.
   */
  candidates: { width: number; height: number; bytes: number; pool: BufferPool; jpeg?: boolean; spoolFile?: (n: number) => string } | null;
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * Gets every frame in order. Returning a promise holds back the next frame until it settles (and
   * so, through the pipes, pauses ffmpeg). It must not wait for later frames of this same reader.
   */
  onFrame: (f: DecodedFrame) => void | Promise<void>;
  /** Frames read but not yet handed over at which the pipes stop being read (default 4). */
  maxQueued?: number;
}

export interface DecodeReaderStats {
  /** Most frames that were read off the pipes and not yet handed over, at any time. */
  maxQueued: number;
  /** Times the pipes were paused because the consumer was behind. */
  pauses: number;
  /** Frames handed over. */
  delivered: number;
}

export interface DecodeReader {
  /** The ffmpeg process (its 'exit' comes before the last frames have been read). */
  child: FfmpegRun['child'];
  stats: DecodeReaderStats;
  /** Resolves once ffmpeg has exited and every frame was handed over (and its promise settled). */
  done: Promise<{ stderrTail: string; decodeErrors: number }>;
}

const DEFAULT_MAX_QUEUED = 4;

export function startDecodeReader(o: DecodeReaderOptions): DecodeReader {
  const maxQueued = o.maxQueued ?? DEFAULT_MAX_QUEUED;
  const anaMeta: ShowinfoMeta[] = [];
  const candMeta: ShowinfoMeta[] = [];
  const info: ShowinfoState = { tb: { ana: 0, cand: 0 }, decodeErrors: 0 };
  const tb = info.tb;
  const cand = o.candidates;
  const anaChunks = new ChunkQueue(SIG_BYTES);
  const candChunks = cand ? new ChunkQueue(cand.bytes, cand.pool) : null;
  const jpegs = cand?.jpeg ? (cand.spoolFile ? new SpoolQueue(cand.spoolFile) : new JpegQueue()) : null;
  /** Candidates read before their analysis twin. */
  const pendingCands: DecodedFrame[] = [];
  /** Frames ready to hand over, in order. */
  const ready: DecodedFrame[] = [];
  const stats: DecodeReaderStats = { maxQueued: 0, pauses: 0, delivered: 0 };
  let lastAnaT = Number.NEGATIVE_INFINITY;
  let exited = false;
  let paused = false;
  let wakeDeliverer: (() => void) | null = null;
  let inputEnded = false;
  let jpegFailure: unknown;

  const run = spawnFfmpeg(o.args, {
    input: o.input,
    extraPipes: cand ? (jpegs ? 2 : 1) : 0,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    onStderrLine: (line) => {
      const r = readShowinfoLine(line, info);
      if (!r) return;
      (r.which === 'ana' ? anaMeta : candMeta).push(r.meta);
      collect(false);
    },
  });
  const stdout = run.child.stdout as Readable;
  const fd3 = cand ? (run.child.stdio[3] as Readable) : null;
  const fd4 = jpegs ? (run.child.stdio[4] as Readable) : null;

  const setPaused = (p: boolean): void => {
    // After exit only what the pipes still hold is left: read it, or their 'close' never comes.
    const want = p && !exited;
    if (want === paused) return;
    paused = want;
    if (want) {
      stats.pauses++;
      stdout.pause();
      fd3?.pause();
      fd4?.pause();
    } else {
      stdout.resume();
      fd3?.resume();
      fd4?.resume();
    }
  };

  /** Pair complete pipe frames with their showinfo lines; move what is in order to `ready`. */
  function collect(final: boolean): void {
    if (candChunks) {
      while (candMeta.length && candChunks.ready() && (!jpegs || jpegs.ready())) {
        const m = candMeta.shift() as ShowinfoMeta;
        pendingCands.push({
          kind: 'cand', t: m.pts * (tb.cand || 1), keyframe: m.keyframe, width: m.width || (cand?.width ?? 0), height: m.height || (cand?.height ?? 0), data: candChunks.take(),
          ...(jpegs ? { jpeg: jpegs.take() } : {}),
        });
      }
    }
    for (;;) {
      // A tiny tolerance: the two chains may report the same instant in different time bases.
      while (pendingCands.length && (final || (pendingCands[0] as DecodedFrame).t <= lastAnaT + 1e-7)) ready.push(pendingCands.shift() as DecodedFrame);
      if (!anaMeta.length || !anaChunks.ready()) break;
      // A candidate whose showinfo line is in but whose bytes are not yet off its pipe (a big frame
      // lags the small thumbnails) still comes before later analysis frames: stderr is in order, so
      // every candidate before this analysis frame has been announced. Letting the analysis run
      // ahead made an interval slot final before its only candidate had arrived, and lost it.
      const nextCand = candMeta[0];
      if (!final && nextCand && nextCand.pts * (tb.cand || 1) < (anaMeta[0] as ShowinfoMeta).pts * (tb.ana || 1) - 1e-7) break;
      const m = anaMeta.shift() as ShowinfoMeta;
      lastAnaT = m.pts * (tb.ana || 1);
      ready.push({ kind: 'ana', t: lastAnaT, keyframe: m.keyframe, width: m.width, height: m.height, data: anaChunks.take() });
    }
    if (ready.length > stats.maxQueued) stats.maxQueued = ready.length;
    if (ready.length >= maxQueued) setPaused(true);
    wake();
  }

  function wake(): void {
    const w = wakeDeliverer;
    wakeDeliverer = null;
    w?.();
  }

  stdout.on('data', (c: Buffer) => { anaChunks.push(c); collect(false); });
  fd3?.on('data', (c: Buffer) => { candChunks?.push(c); collect(false); });
  // A JPEG stream out of step is ffmpeg's fault or a bug of ours: stop rather than pair frames wrongly.
  fd4?.on('data', (c: Buffer) => {
    try {
      jpegs?.push(c);
    } catch (err) {
      jpegFailure ??= err;
      run.child.kill('SIGKILL');
      return;
    }
    collect(false);
  });
  run.child.once('exit', () => { exited = true; setPaused(false); });
  const closed = Promise.all([
    new Promise<void>((r) => stdout.once('close', () => r())),
    fd3 ? new Promise<void>((r) => fd3.once('close', () => r())) : Promise.resolve(),
    fd4 ? new Promise<void>((r) => fd4.once('close', () => r())) : Promise.resolve(),
  ]);

  /** Hands frames over one at a time, waiting for the consumer's promise before the next. */
  const deliverer = (async (): Promise<void> => {
    for (;;) {
      const f = ready.shift();
      if (!f) {
        if (inputEnded) return;
        await new Promise<void>((r) => { wakeDeliverer = r; });
        continue;
      }
      if (ready.length < Math.max(1, maxQueued >> 1)) setPaused(false);
      stats.delivered++;
      const r = o.onFrame(f);
      if (r) await r;
    }
  })();
  // A consumer that throws stops ffmpeg: its error is the one reported.
  const delivered = deliverer.catch((err: unknown) => {
    run.child.kill('SIGKILL');
    throw err;
  });
  delivered.catch(() => undefined); // surfaced through `done`

  const done = (async () => {
    let stderrTail: string;
    try {
      stderrTail = await run.done;
    } catch (err) {
      if (jpegFailure) throw jpegFailure;
      // The consumer's own failure explains the kill better than "ffmpeg was killed".
      await Promise.race([delivered, Promise.resolve()]);
      throw err;
    }
    await closed;
    collect(true);
    // Every candidate ffmpeg announced has its JPEG: a frame left without one, or half an image on
    // the pipe, would be a frame lost without a word.
    const lost = jpegs && (jpegs.leftover > 0 || (candMeta.length > 0 && candChunks?.ready()))
      ? new Error(`ffmpeg's JPEG ${cand?.spoolFile ? 'files' : 'stream'} ended early: ${candMeta.length} announced frame(s) without an image, ${jpegs.leftover} byte(s) of an unfinished one`)
      : null;
    inputEnded = true;
    wake();
    if (lost) {
      await delivered.catch(() => undefined);
      throw lost;
    }
    await delivered;
    return { stderrTail, decodeErrors: info.decodeErrors };
  })();
  return { child: run.child, stats, done };
}
