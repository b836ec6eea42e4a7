/**
 * Backpressure through the one decode reader (src/engine/decode-reader.ts): a consumer slower than
 * the decoder pauses ffmpeg's pipes, in the single pass and in chunked decoding, so frames read but
 * not handed over stay bounded; and the results are the same as with a fast consumer. Also: the
 * frames of an exact decode (what `--mode all` outputs) are bit-identical to ffmpeg's own decode.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { runAnalysis, type AnalysisPlan } from '../../src/engine/analyze.js';
import type { DecodeReaderStats } from '../../src/engine/decode-reader.js';
import { probeVideo, type ProbeResult } from '../../src/engine/probe.js';
import { collectFrames, extractFrames } from '../../src/engine/extract.js';
import { BufferPool, JpegQueue } from '../../src/engine/frame-buffers.js';
import { FrameEncoder, jpegQscale } from '../../src/engine/image.js';
import { concatClip, exec, makeTmp, removeTmp, shot } from './helpers.js';
import { resolveFfmpeg } from '../../src/engine/ffmpeg.js';

const W = 320;
const H = 240;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('backpressure (decode reader)', () => {
  let dir: string;
  let clip: string;
  let probe: ProbeResult;
  beforeAll(async () => {
    dir = await makeTmp('backpressure');
    clip = path.join(dir, 'clip.mp4');
    // 14 s with a closed GOP every 2 s: long enough for the chunked decode.
    await concatClip(clip, [shot(`testsrc2=s=${W}x${H}:r=30`, 7), shot(`mandelbrot=s=${W}x${H}:r=30:maxiter=60`, 7)], '', ['-preset', 'veryfast', '-g', '60', '-sc_threshold', '0']);
    probe = await probeVideo(clip);
  }, 120_000);
  afterAll(() => removeTmp(dir));

  async function run(slowEvery: number, chunked: boolean, candidates: boolean): Promise<{ out: string[]; stats: DecodeReaderStats[] }> {
    const out: string[] = [];
    const stats: DecodeReaderStats[] = [];
    let n = 0;
    const slow = (): Promise<void> | undefined => (slowEvery > 0 && ++n % slowEvery === 0 ? sleep(4) : undefined);
    const plan: AnalysisPlan = {
      file: clip, probe, skip: chunked ? 'noref' : 'none', skipLoopFilter: false,
      candidates: candidates ? { width: W, height: H, stepSec: 0 } : null,
      ...(chunked ? { chunking: { maxSec: 6 } } : {}),
      onAnalysis: (f) => { out.push(`a${f.index}:${createHash('md5').update(f.rgb).digest('hex')}`); return slow(); },
      onCandidate: (c) => { out.push(`c${c.index}:${createHash('md5').update(c.data).digest('hex')}`); return slow(); },
      onReader: (s) => stats.push(s),
    };
    await runAnalysis(plan);
    return { out, stats };
  }

  it('single pass: a slow consumer pauses ffmpeg, frames waiting stay bounded, results identical', async () => {
    const fast = await run(0, false, true);
    const slow = await run(1, false, true);
    expect(slow.stats).toHaveLength(1);
    const s = slow.stats[0] as DecodeReaderStats;
    expect(s.pauses).toBeGreaterThan(10);
    // A 320x240 frame is 115 kB: without pausing, the whole 420-frame clip would wait in memory.
    // The bound is 4 while ffmpeg runs; once it exits, what its pipes' kernel buffers hold is read at once.
    expect(s.maxQueued).toBeLessThanOrEqual(16);
    expect(s.delivered).toBe(2 * 420);
    // The same frames and pixels; the interleaving of the two pipes may differ, but a candidate
    // always comes after its analysis twin.
    const kind = (xs: string[], k: string) => xs.filter((x) => x.startsWith(k));
    expect(kind(slow.out, 'a')).toEqual(kind(fast.out, 'a'));
    expect(kind(slow.out, 'c')).toEqual(kind(fast.out, 'c'));
    expect(kind(fast.out, 'c')).toHaveLength(420);
    for (const out of [fast.out, slow.out]) {
      const seen = new Set<string>();
      for (const x of out) {
        const id = x.slice(1, x.indexOf(':'));
        if (x.startsWith('a')) seen.add(id);
        else expect(seen.has(id)).toBe(true);
      }
    }
  }, 120_000);

  it('chunked decode: each live chunk is paused by a slow consumer, results identical', async () => {
    const fast = await run(0, true, false);
    const slow = await run(1, true, false);
    expect(slow.stats.length).toBeGreaterThanOrEqual(2); // really chunked
    expect(slow.stats.reduce((a, s) => a + s.pauses, 0)).toBeGreaterThan(0);
    expect(slow.out).toEqual(fast.out);
  }, 120_000);

  it('--mode all through a slow caller of extractFrames: every frame, in order, exact count', async () => {
    const { frames, result } = await collectFrames(clip, { mode: 'all' });
    expect(frames.map((f) => f.frame)).toEqual(Array.from({ length: 420 }, (_, i) => i));
    expect(result.frames).toHaveLength(420);
  }, 120_000);

  it('--mode all numbers every frame it yields with its final scene (also right after the cut)', async () => {
    const run = extractFrames(clip, { mode: 'all' });
    const yielded: Array<{ frame: number; scene: number }> = [];
    let r = await run.next();
    for (; !r.done; r = await run.next()) yielded.push({ frame: r.value.frame, scene: r.value.scene });
    const { scenes, cuts } = r.value;
    // The clip's one cut is at frame 210 (7 s at 30 fps); an exact decode finds it there.
    expect(cuts).toEqual([210]);
    const sceneOf = (frame: number): number => scenes.findIndex((sc) => frame >= sc.startFrame && frame <= sc.endFrame);
    // Yielded before the detector had settled them, the first frames after the cut were numbered
    // with the scene before it (209-210 wrong, found by the bulk bench's film run).
    expect(yielded.filter((y) => y.scene !== sceneOf(y.frame))).toEqual([]);
    expect(yielded).toHaveLength(420);
  }, 120_000);

  it('hybrid drops the same interval picks near scene picks whatever the caller\'s pace', async () => {
    // Six 3.3 s shots, 3 frames per scene (about 33 frames apart), an interval pick every 2 s: the
    // interval picks fall within half an interval (30 frames) of scene picks and must go.
    const many = path.join(dir, 'many.mp4');
    const srcs = ['testsrc2', 'mandelbrot', 'smptebars', 'rgbtestsrc', 'testsrc', 'yuvtestsrc'];
    await concatClip(many, srcs.map((src) => shot(`${src}=s=${W}x${H}:r=30`, 3.3)), '', ['-preset', 'veryfast']);
    const frames = async (delayMs: number): Promise<Array<{ frame: number; scene: number }>> => {
      const run = extractFrames(many, { mode: 'hybrid', interval: 2, framesPerScene: 3 });
      const out: Array<{ frame: number; scene: number }> = [];
      for (let r = await run.next(); !r.done; r = await run.next()) {
        out.push({ frame: r.value.frame, scene: r.value.scene });
        if (delayMs) await sleep(delayMs);
      }
      return out;
    };
    // A fast caller took interval picks before the rule could see the scene picks near them; a
    // caller slow enough that the video ends while picks wait had them dropped.
    // (Compared per scene as counts: which candidate a scene pick takes can differ by a few frames
    // between runs, a separate, smaller effect not fixed yet.)
    const perScene = (out: Array<{ scene: number }>): number[] => out.reduce<number[]>((n, f) => { n[f.scene] = (n[f.scene] ?? 0) + 1; return n; }, []);
    const fast = perScene(await frames(0));
    const slow = perScene(await frames(300));
    expect(fast.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(6 * 3 - 2);
    expect(slow).toEqual(fast);
  }, 120_000);

  it('--mode all as JPEG is encoded by ffmpeg: the same bytes as `ffmpeg -q:v N out/%d.jpg`, every frame in order', async () => {
    const { frames, result } = await collectFrames(clip, { mode: 'all', quality: 85 });
    expect(frames).toHaveLength(420);
    const ref = path.join(dir, 'ref-jpeg');
    const { mkdir, readFile } = await import('node:fs/promises');
    await mkdir(ref, { recursive: true });
    // quality 85 is qscale 5 (jpegQscale); ffmpeg's own JPEG dump of the same file at that qscale.
    const r = await exec(resolveFfmpeg(), ['-v', 'error', '-i', clip, '-an', '-q:v', String(jpegQscale(85)), '-y', path.join(ref, '%d.jpg')]);
    expect(r.code).toBe(0);
    for (const k of [0, 1, 209, 210, 333, 419]) {
      const f = frames[k] as (typeof frames)[number];
      expect(f.frame).toBe(k);
      expect(f.data.equals(await readFile(path.join(ref, `${k + 1}.jpg`)))).toBe(true);
    }
    // Sharpness is measured (on the luma plane), not left at zero: the mandelbrot half is busier.
    expect(result.frames.every((x) => x.sharpness > 0)).toBe(true);
  }, 120_000);

  it('--mode all as JPEG: a JPEG stream that ends before its frames fails the run and says so', async () => {
    // Fault injection: the JPEG pipe's bytes stop reaching the queue after 100 KB, as if ffmpeg's
    // encoder output were cut off; the frames announced on stderr then have no image.
    const push = JpegQueue.prototype.push;
    let seen = 0;
    JpegQueue.prototype.push = function (this: JpegQueue, b: Buffer) {
      seen += b.length;
      if (seen - b.length < 100_000) push.call(this, seen > 100_000 ? b.subarray(0, b.length - (seen - 100_000)) : b);
    };
    try {
      const got: number[] = [];
      let err: unknown;
      try {
        for await (const f of extractFrames(clip, { mode: 'all' })) got.push(f.frame);
      } catch (e) {
        err = e;
      }
      expect(String(err)).toMatch(/JPEG stream ended early: \d+ announced frame\(s\) without an image/);
      expect(got.length).toBeLessThan(420);
    } finally {
      JpegQueue.prototype.push = push;
    }
  }, 120_000);

  it('--mode all as JPEG through a slow caller: ffmpeg is paused, the JPEGs held stay bounded', async () => {
    // JPEGs taken off ffmpeg's pipe but not yet handed to the caller. They wait for the detector to
    // settle their scene (up to 2.8 s, 84 frames here) and for the caller (8 ready at most); without
    // backpressure the decoder (much faster than this caller) would run ahead by hundreds.
    const take = JpegQueue.prototype.take;
    let taken = 0;
    let yielded = 0;
    let ahead = 0;
    JpegQueue.prototype.take = function (this: JpegQueue) {
      taken++;
      ahead = Math.max(ahead, taken - yielded);
      return take.call(this);
    };
    try {
      const run = extractFrames(clip, { mode: 'all' });
      for (let r = await run.next(); !r.done; r = await run.next()) {
        yielded++;
        await sleep(4);
      }
      expect(yielded).toBe(420);
      expect(taken).toBe(420);
      expect(ahead).toBeGreaterThan(8);
      expect(ahead).toBeLessThanOrEqual(110);
    } finally {
      JpegQueue.prototype.take = take;
    }
  }, 120_000);

  it('--mode all with encoding slower than decoding: the frames held stay bounded (no pile-up)', async () => {
    // Fault injection: every encode settles 8 ms late, so the decoder is always ahead. Waking the
    // decoder each time the caller took a frame once let one more frame in per take while encodes
    // were still running: held frame buffers grew with the video (1.5 GB on a 1080p clip).
    const encode = FrameEncoder.prototype.encode;
    const acquire = BufferPool.prototype.acquire;
    let allocated = 0;
    FrameEncoder.prototype.encode = function (this: FrameEncoder, ...args: Parameters<FrameEncoder['encode']>) {
      const [frame, done, picture] = args;
      return new Promise<void>((r) => setTimeout(r, 8)).then(() => encode.call(this, frame, done, picture));
    };
    BufferPool.prototype.acquire = function (this: BufferPool) {
      if (!(this as unknown as { free: Buffer[] }).free.length) allocated++;
      return acquire.call(this);
    };
    const saved = process.env.FRAMES_ENCODE_THREADS;
    process.env.FRAMES_ENCODE_THREADS = '1';
    // sharp encodes (PNG, WebP, or FRAMES_ALL_ENCODER=sharp): JPEG is encoded by ffmpeg itself.
    process.env.FRAMES_ALL_ENCODER = 'sharp';
    try {
      const run = extractFrames(clip, { mode: 'all' });
      let n = 0;
      for (let r = await run.next(); !r.done; r = await run.next()) n++;
      expect(n).toBe(420);
      // One being encoded, one waiting, the reader's few queued frames.
      expect(allocated).toBeGreaterThan(0);
      expect(allocated).toBeLessThanOrEqual(8);
    } finally {
      FrameEncoder.prototype.encode = encode;
      BufferPool.prototype.acquire = acquire;
      if (saved === undefined) delete process.env.FRAMES_ENCODE_THREADS;
      else process.env.FRAMES_ENCODE_THREADS = saved;
      delete process.env.FRAMES_ALL_ENCODER;
    }
  }, 120_000);

  /** Every 70th candidate (from `first`) of an exact decode against ffmpeg's own raw decode (`refArgs`) of the file. */
  async function expectExactCandidates(pixels: 'yuv420p' | 'rgb24', first: number, refArgs: string[]): Promise<void> {
    const got: Buffer[] = [];
    await runAnalysis({
      file: clip, probe, skip: 'none', skipLoopFilter: false, candidates: { width: W, height: H, stepSec: 0, pixels }, ...(pixels === 'rgb24' ? { decoderThreads: 1 } : {}),
      onAnalysis: () => undefined,
      onCandidate: (c) => { if (c.index % 70 === first) { expect(c.pixels).toBe(pixels); got.push(Buffer.from(c.data)); } },
    });
    const raw = path.join(dir, `ref.${pixels}`);
    const r = await exec(resolveFfmpeg(), ['-v', 'error', '-i', clip, ...refArgs, '-f', 'rawvideo', '-y', raw]);
    expect(r.code).toBe(0);
    const { readFile } = await import('node:fs/promises');
    const ref = await readFile(raw);
    const size = pixels === 'rgb24' ? W * H * 3 : W * H * 1.5;
    expect(ref.length).toBe(420 * size);
    expect(got).toHaveLength(6);
    got.forEach((g, k) => expect(g.equals(ref.subarray((k * 70 + first) * size, (k * 70 + first + 1) * size))).toBe(true));
  }

  it('RGB candidates (what --mode all encodes) are bit-identical to ffmpeg decoding the file to RGB', () =>
    expectExactCandidates('rgb24', 5, ['-vf', `scale=${W}:${H}:flags=bicubic,format=rgb24`]), 120_000);

  it('exact decode (YUV candidates) is bit-identical to ffmpeg decoding the file', () =>
    expectExactCandidates('yuv420p', 3, ['-pix_fmt', 'yuv420p']), 120_000);
});
