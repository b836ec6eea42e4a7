/**
 * The chunked decode (parallel-decode.ts): split points from the probe, the chunk layout, and the
 * promise that matters: frames, indices and scenes are the same as from one decode of the file,
 * whatever the number of processes.
 */
import { createHash } from 'node:crypto';
import { runAnalysis, type AnalysisPlan } from '../../src/engine/analyze.js';
import { detectScenes } from '../../src/engine/detect-scenes.js';
import { DENSER_RATIO, denserSpan, planChunks, spanCosts } from '../../src/engine/parallel-decode.js';
import { parseProbe, probeVideo, type ProbeResult } from '../../src/engine/probe.js';
import { concatClipInTmp, FPS, removeTmp, shot } from './helpers.js';

const header = (container: string) => `Input #0, ${container}, from 'x.mp4':\n  Duration: 00:00:40.00, start: 0.000000, bitrate: 1 kb/s\n  Stream #0:0[0x1](und): Video: h264 (High), yuv420p(progressive), 640x360, 25 fps, 25 tbr\nOutput #0, framecrc, to 'pipe:1':\n`;

/** framecrc lines (tb 1/1000) from [dts, pts, key, size (default 100)] in decode order. */
const crc = (packets: Array<[number, number, boolean, number?]>) =>
  ['#tb 0: 1/1000', ...packets.map(([d, p, k, size]) => `0, ${d}, ${p}, 40, ${size ?? 100}, 0x0${k ? '' : ', F=0x0'}`)].join('\n');

/** A 40 s stream at 25 fps, closed GOPs of `gop` frames, no B-frames. */
function simpleStream(gop: number, container = 'mov,mp4,m4a,3gp,3g2,mj2'): ProbeResult {
  const packets: Array<[number, number, boolean]> = [];
  for (let i = 0; i < 1000; i++) packets.push([i * 40, i * 40, i % gop === 0]);
  return parseProbe('x.mp4', crc(packets), header(container));
}

describe('split points and chunk layout', () => {
  it('keyframes after the first are split points; non-key packets are not', () => {
    const p = simpleStream(100);
    expect(Array.from(p.splitPoints)).toEqual([4, 8, 12, 16, 20, 24, 28, 32, 36]);
  });

  it('an open-GOP keyframe (a later packet shows before it) is not a split point', () => {
    // decode order: I0 P2 B1 | I4(key, but B3 after it shows before it) B3 P5
    const p = parseProbe('x.mp4', crc([[0, 0, true], [40, 80, false], [80, 40, false], [120, 160, true], [160, 120, false], [200, 200, false]]), header('mov,mp4'));
    expect(Array.from(p.splitPoints)).toEqual([]);
  });

  it('an even number of chunks, cut at the split points nearest to even spacing, covering everything', () => {
    const spans = planChunks(simpleStream(100), 30) as NonNullable<ReturnType<typeof planChunks>>;
    expect(spans.map((s) => [s.start, s.end])).toEqual([[-Infinity, 20], [20, Infinity]]);
    const many = planChunks(simpleStream(25), 7) as NonNullable<ReturnType<typeof planChunks>>;
    expect(many.length % 2).toBe(0);
    expect(many.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < many.length; i++) expect(many[i]?.start).toBe(many[i - 1]?.end);
    for (const s of many.slice(1, -1)) expect(s.end - s.start).toBeGreaterThanOrEqual(6);
  });

  it('packet sizes come in display order, beside their times', () => {
    // decode order: I0 P2 B1, sizes 900, 500, 100
    const p = parseProbe('x.mp4', crc([[0, 0, true, 900], [40, 80, false, 500], [80, 40, false, 100]]), header('mov,mp4'));
    expect(Array.from(p.packetTimes)).toEqual([0, 0.04, 0.08]);
    expect(Array.from(p.packetSizes)).toEqual([900, 100, 500]);
  });

  it('span costs: the bytes to decode, with a share a frame; only packets inside a span count; a denser span only from DENSER_RATIO times the lightest', () => {
    // 40 s at 25 fps, 640x360 (a frame's share: 3114 bytes); the last 10 s dense (40 KB a packet).
    const packets: Array<[number, number, boolean, number]> = [];
    for (let i = 0; i < 1000; i++) packets.push([i * 40, i * 40, i % 100 === 0, i >= 750 ? 40_000 : 2_000]);
    const p = parseProbe('x.mp4', crc(packets), header('mov,mp4'));
    const share = (640 * 360) / 74;
    const halves = [{ start: -Infinity, end: 20 }, { start: 20, end: Infinity }];
    const close = (got: number[], want: number[]): void => { expect(got.length).toBe(want.length); got.forEach((g, i) => expect(g).toBeCloseTo(want[i] as number, 3)); };
    close(spanCosts(p, halves), [500 * (2_000 + share), 250 * (2_000 + share) + 250 * (40_000 + share)]);
    expect(denserSpan(p, halves)).toBe(1);
    // 6.0 against 8.6 MB-equivalents: the denser, but not by DENSER_RATIO.
    expect(denserSpan(p, [{ start: -Infinity, end: 32 }, { start: 32, end: Infinity }])).toBe(-1);
    // A window's spans: the packets outside it (the dense end) count for neither.
    const win = [{ start: 4, end: 12 }, { start: 12, end: 28 }];
    close(spanCosts(p, win), [200 * (2_000 + share), 400 * (2_000 + share)]);
    expect(denserSpan(p, win)).toBe(1);
    expect(denserSpan(p, [{ start: 4, end: 24 }, { start: 24, end: 28 }])).toBe(0);
    expect(DENSER_RATIO).toBeGreaterThan(1);
  });

  it('no chunks for containers whose seeking is not exact, short videos, or no split point', () => {
    expect(planChunks(simpleStream(100, 'matroska,webm'), 10)).toBeNull();
    expect(planChunks(simpleStream(2000), 10)).toBeNull();
    const short = parseProbe('x.mp4', crc(Array.from({ length: 200 }, (_, i) => [i * 40, i * 40, i % 25 === 0] as [number, number, boolean])), header('mov,mp4'));
    expect(planChunks(short, 3)).toBeNull();
  });
});

describe('chunked decode on real video (ffmpeg)', () => {
  let dir: string;
  let clip: string;
  let cuts: number[];
  let probe: ProbeResult;
  const saved = process.env.FRAMES_DECODE_PROCESSES;

  beforeAll(async () => {
    // 20 s, B-frames with pyramids (veryfast), a closed GOP every 2 s, cuts inside GOPs.
    ({ dir, clip, cuts } = await concatClipInTmp('chunks', 'clip.mp4', [
      shot('testsrc2=s=192x108:r=30', 5.1),
      shot('mandelbrot=s=192x108:r=30:maxiter=60', 4.3),
      shot('life=s=192x108:r=30:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00', 5.6),
      shot('cellauto=s=192x108:r=30:rule=110', 5),
    ], '', ['-preset', 'veryfast', '-bf', '3', '-g', '60', '-sc_threshold', '0']));
    probe = await probeVideo(clip);
  }, 120_000);
  afterAll(async () => {
    if (saved === undefined) delete process.env.FRAMES_DECODE_PROCESSES;
    else process.env.FRAMES_DECODE_PROCESSES = saved;
    await removeTmp(dir);
  });

  /** Every analysis frame and candidate of one run: index, time and a hash of the pixels. */
  async function decodeAll(chunked: boolean): Promise<{ ana: string[]; cand: string[]; frameCount: number }> {
    const ana: string[] = [];
    const cand: string[] = [];
    const plan: AnalysisPlan = {
      file: clip, probe, skip: 'noref', skipLoopFilter: false,
      candidates: { width: 192, height: 108, stepSec: 0.4 },
      ...(chunked ? { chunking: { maxSec: 6, aheadBytes: 1 << 30 } } : {}),
      onAnalysis: (f) => { ana.push(`${f.index}@${f.time.toFixed(3)}:${createHash('md5').update(f.rgb).digest('hex')}`); },
      onCandidate: (c) => { cand.push(`${c.index}:${createHash('md5').update(c.data).digest('hex')}`); },
    };
    const r = await runAnalysis(plan);
    return { ana, cand, frameCount: r.frameCount };
  }

  it('the probe finds the 2 s keyframes as split points', () => {
    expect(probe.splitPoints.length).toBeGreaterThanOrEqual(8);
    expect(planChunks(probe, 6)?.length).toBeGreaterThanOrEqual(2);
  });

  it('exact decode in chunks gives the same frames, indices and pixels as one pass, with 1 or 2 processes', async () => {
    const single = await decodeAll(false);
    process.env.FRAMES_DECODE_PROCESSES = '2';
    const two = await decodeAll(true);
    process.env.FRAMES_DECODE_PROCESSES = '1';
    const one = await decodeAll(true);
    expect(single.frameCount).toBe(600);
    expect(two.frameCount).toBe(600);
    expect(two.ana).toEqual(single.ana);
    expect(one.ana).toEqual(single.ana);
    // Candidates restart their 0.4 s spacing at each chunk: every one is still a true decoded frame.
    const singleByIndex = new Map(single.ana.map((a) => [a.split('@')[0], a]));
    expect(two.cand.length).toBeGreaterThan(40);
    expect(two.cand).toEqual(one.cand);
    for (const c of two.cand) expect(singleByIndex.has(c.split(':')[0])).toBe(true);
  }, 120_000);

  it('a video without B-frames is decoded in chunks too, with the same frames and indices as one pass', async () => {
    const { dir: d2, clip: noB } = await concatClipInTmp('chunks-nob', 'nob.mp4', [
      shot('testsrc2=s=192x108:r=30', 7), shot('mandelbrot=s=192x108:r=30:maxiter=60', 7), shot('cellauto=s=192x108:r=30:rule=110', 6),
    ], '', ['-bf', '0', '-g', '60', '-sc_threshold', '0']);
    try {
      const p2 = await probeVideo(noB);
      expect(p2.hasBFrames).toBe(false);
      const runs: string[][] = [];
      let readers = 0;
      for (const chunked of [false, true]) {
        process.env.FRAMES_DECODE_PROCESSES = '2';
        const ana: string[] = [];
        readers = 0;
        await runAnalysis({
          file: noB, probe: p2, skip: 'none', skipLoopFilter: false, candidates: null,
          ...(chunked ? { chunking: { maxSec: 6 } } : {}),
          onReader: () => { readers++; },
          onAnalysis: (f) => { ana.push(`${f.index}@${f.time.toFixed(3)}:${createHash('md5').update(f.rgb).digest('hex')}`); },
        });
        runs.push(ana);
      }
      expect(readers).toBeGreaterThanOrEqual(2);
      expect(runs[0]).toHaveLength(600);
      expect(runs[1]).toEqual(runs[0]);
    } finally {
      await removeTmp(d2);
    }
  }, 120_000);

  it('detect finds the cuts on both sides of chunk boundaries, the same with 1 or 2 processes', async () => {
    process.env.FRAMES_DECODE_PROCESSES = '2';
    const a = await detectScenes(clip);
    process.env.FRAMES_DECODE_PROCESSES = '1';
    const b = await detectScenes(clip);
    expect(a.video.frameCount).toBe(20 * FPS);
    // B-frames are skipped in detect: a cut between two decoded frames lands within the gap (±2).
    expect(a.cuts).toHaveLength(cuts.length);
    a.cuts.forEach((c, i) => expect(Math.abs(c - (cuts[i] as number))).toBeLessThanOrEqual(2));
    expect(b).toEqual(a);
  }, 120_000);
  it('a candidate reaches the consumer before every later analysis frame, even a big one lagging on its pipe; targets give the frame nearest each', async () => {
    // Prepare: 720p candidates (1.4 MB each, against 7 KB thumbnails) only at 1.5 s + k * 2 s.
    const order: Array<['ana' | 'cand', number, number]> = [];
    const plan = (chunked: boolean): AnalysisPlan => ({
      file: clip, probe, skip: 'noref', skipLoopFilter: false,
      candidates: { width: 1280, height: 720, stepSec: 2, targets: { firstSec: 1.5, everySec: 2 } },
      ...(chunked ? { chunking: { maxSec: 6, aheadBytes: 1 << 30 } } : {}),
      onAnalysis: (f) => { order.push(['ana', f.index, f.time]); },
      onCandidate: (c) => { order.push(['cand', c.index, c.time]); },
    });
    for (const chunked of [false, true]) {
      order.length = 0;
      process.env.FRAMES_DECODE_PROCESSES = '2';
      // Act
      await runAnalysis(plan(chunked));
      // Assess: no analysis frame after a candidate's time was handed over before it.
      const anaTimes = order.filter(([k]) => k === 'ana').map(([, , t]) => t);
      let anaSeen = 0;
      for (const [kind, , t] of order) {
        if (kind === 'ana') { anaSeen++; continue; }
        expect(anaTimes.slice(0, anaSeen).every((a) => a <= t + 1e-6)).toBe(true);
      }
      // Every target has a candidate within a frame (or the decoded frame after a skipped one) of it.
      const cands = order.filter(([k]) => k === 'cand').map(([, , t]) => t);
      for (let target = 1.5; target < 20; target += 2) {
        expect(Math.min(...cands.map((c) => Math.abs(c - target)))).toBeLessThanOrEqual(2.5 / FPS);
      }
      // Only those, and one at each chunk's start.
      expect(cands.length).toBeLessThanOrEqual(10 + (chunked ? 4 : 1));
    }
  }, 120_000);
});
