/** Units: probe parsing, FrameIndexer, Reservoir, TimeSlots, options, resolveFfmpeg. */
import type { CandidateFrame } from '../../src/engine/analyze.js';
import { resolveFfmpeg } from '../../src/engine/ffmpeg.js';
import { resolveOptions } from '../../src/engine/options.js';
import { FrameIndexer, parseInputHeader, parseProbe } from '../../src/engine/probe.js';
import { dHash, laplacianVariance, yuv420ToRgb } from '../../src/engine/image.js';
import { frameStats, Reservoir, TimeSlots } from '../../src/engine/select.js';
import { closestTwin, type Fingerprint } from '../../src/engine/extract.js';
import { FfmpegNotFoundError, ValidationError } from '../../src/errors.js';

const header = (extra: string) => `Input #0, mov,mp4, from 'x.mp4':\n  Duration: 00:00:02.00, start: 0.000000, bitrate: 1 kb/s\n  Stream #0:0[0x1](und): Video: h264 (High), yuv420p(progressive), 704x576 [SAR 16:11 DAR 16:9], 25 fps, 25 tbr\n${extra}Output #0, framecrc, to 'pipe:1':\n  Stream #0:0: Video: h264, 10x10, rotation of 45 degrees\n`;
const crc = (times: number[]) => ['#tb 0: 1/1000', ...times.map((t) => `0, ${t}, ${t}, 40, 100, 0x0`)].join('\n');

describe('probe parsing', () => {
  it('rotation sign: ffmpeg ccw -90 means 90 clockwise; dimensions swap', () => {
    const r = parseProbe('x.mp4', crc([0, 40, 80]), header('      displaymatrix: rotation of -90.00 degrees\n'));
    expect(r.info.rotation).toBe(90);
    expect([r.info.width, r.info.height]).toEqual([576, 1024]);
    expect(parseInputHeader(header('      displaymatrix: rotation of 90.00 degrees\n')).rotation).toBe(270);
  });
  it('SAR widens the display size and only the input section counts', () => {
    const r = parseProbe('x.mp4', crc([0, 40, 80]), header(''));
    expect(r.sar).toBeCloseTo(16 / 11);
    expect([r.info.width, r.info.height, r.info.rotation]).toEqual([1024, 576, 0]);
  });
  it('VFR detection', () => {
    expect(parseProbe('x.mp4', crc([0, 40, 80, 120]), header('')).info.vfr).toBe(false);
    expect(parseProbe('x.mp4', crc([0, 40, 80, 200, 240]), header('')).info.vfr).toBe(true);
  });
});

describe('FrameIndexer', () => {
  it('maps times to indices relative to the first decoded frame', () => {
    const ix = new FrameIndexer(Float64Array.from([1, 1.04, 1.08, 1.12, 1.16]));
    expect(ix.indexOf(1.08)).toBe(0);
    expect(ix.indexOf(1.161)).toBe(2);
    expect(ix.frameCount).toBe(3);
    expect(ix.timeOf(1)).toBeCloseTo(0.04);
  });
});

// The detector's rules are tested one by one in detector-rules.test.ts.

/** A 4x4 candidate: `blank` gives a uniform black frame, otherwise a black/white checkerboard. */
const cand = (index: number, time = index / 30, blank = false): CandidateFrame => {
  const yuv = Buffer.alloc(4 * 4 * 1.5, 128);
  for (let i = 0; i < 16; i++) yuv[i] = blank ? 16 : (i + (i >> 2)) % 2 ? 235 : 16;
  return { index, time, width: 4, height: 4, pixels: 'yuv420p', data: yuv, keyframe: false, hold: () => undefined, drop: () => undefined };
};

describe('RGB candidates (--mode all) measure like YUV ones', () => {
  // A 64x48 picture with structure (a gradient, a bright square, seeded noise) in 4:2:0.
  const W = 64;
  const H = 48;
  const yuv = Buffer.alloc(W * H * 1.5);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) yuv[y * W + x] = Math.min(235, 16 + x * 2 + (x > 20 && x < 40 && y > 10 && y < 30 ? 90 : 0) + (rnd() & 15));
  for (let i = W * H; i < yuv.length; i++) yuv[i] = 100 + (rnd() & 63);
  const rgb = yuv420ToRgb(yuv, W, H);
  const frame = (pixels: 'yuv420p' | 'rgb24', data: Buffer): CandidateFrame => ({ index: 0, time: 0, width: W, height: H, pixels, data, keyframe: false, hold: () => undefined, drop: () => undefined });

  it('sharpness, luma statistics and dHash agree within rounding', () => {
    const a = frameStats(frame('yuv420p', yuv));
    const b = frameStats(frame('rgb24', rgb));
    expect(Math.abs(a.meanY - b.meanY)).toBeLessThan(1.5);
    expect(Math.abs(a.sdY - b.sdY)).toBeLessThan(1.5);
    expect(Math.abs(a.meanU - b.meanU)).toBeLessThan(2.5);
    expect(Math.abs(a.meanV - b.meanV)).toBeLessThan(2.5);
    const sy = laplacianVariance(yuv, W, H);
    const sr = laplacianVariance(rgb, W, H, 'rgb24');
    expect(sy).toBeGreaterThan(100);
    expect(Math.abs(sy - sr) / sy).toBeLessThan(0.05);
    // Read as YUV, the RGB bytes would give a different picture: the layout matters.
    expect(Math.abs(laplacianVariance(rgb, W, H) - sy) / sy).toBeGreaterThan(0.05);
    expect(dHash(rgb, W, H, 'rgb24')).toBe(dHash(yuv, W, H));
  });

  it('sharpness of a luma plane is the variance of the Laplacian on its sampling grid, at any width', () => {
    // The definition, summed in plain doubles: what the planar loop's int32 row sums must equal.
    const reference = (p: Uint8Array, w: number, h: number): number => {
      const step = Math.max(1, Math.floor(w / 320));
      const laps: number[] = [];
      for (let y = step; y < h - step; y += step) {
        for (let x = step; x < w - step; x += step) {
          const i = y * w + x;
          laps.push(4 * (p[i] as number) - (p[i - 1] as number) - (p[i + 1] as number) - (p[i - w] as number) - (p[i + w] as number));
        }
      }
      if (laps.length === 0) return 0;
      const mean = laps.reduce((a, b) => a + b, 0) / laps.length;
      return Math.round((laps.reduce((a, b) => a + b * b, 0) / laps.length - mean * mean) * 10) / 10;
    };
    for (const [w, h] of [[639, 40], [640, 37], [641, 36], [959, 20], [1920, 14], [1920, 12], [7, 5]] as const) {
      // Extremes too: a checkerboard of 0 and 255 gives |lap| = 1020 at every sample.
      for (const fill of [(_i: number) => rnd(), (i: number) => ((i + Math.floor(i / w)) % 2 ? 255 : 0)]) {
        const plane = Buffer.alloc(w * h);
        for (let i = 0; i < plane.length; i++) plane[i] = fill(i);
        expect(laplacianVariance(plane, w, h, 'gray')).toBe(reference(plane, w, h));
      }
    }
    expect(laplacianVariance(Buffer.alloc(4 * 2), 4, 2, 'gray')).toBe(0);
  });
});

describe('Reservoir', () => {
  it('never holds more than capacity + 1 and keeps the first and last', () => {
    const r = new Reservoir(8);
    let max = 0;
    for (let i = 0; i < 200; i++) { r.add(cand(i)); max = Math.max(max, r.size); }
    const all = r.takeBefore(Infinity);
    expect(max).toBeLessThanOrEqual(9);
    expect(all[0]?.index).toBe(0);
    expect(all.at(-1)?.index).toBe(199);
  });

  it('keeps the candidates of a long scene spread over all of it, the first and the newest among them, and drops the others', () => {
    let held = 0;
    const counted = (i: number): CandidateFrame => ({ ...cand(i), hold: () => { held++; }, drop: () => { held--; } });
    const r = new Reservoir(8);
    for (let i = 0; i < 200; i++) r.add(counted(i));
    expect(held).toBe(r.size);
    const all = r.takeBefore(Infinity).map((c) => c.index);
    const gaps = all.slice(1).map((x, i) => x - (all[i] as number));
    // Before the fix: 0, 64, 128, 160, 176, 184, 188, 190, ... (picks crowded the scene's end).
    expect(all).toHaveLength(8);
    expect(all[0]).toBe(0);
    expect(all.at(-1)).toBe(199);
    expect(Math.max(...gaps.slice(0, -1))).toBeLessThanOrEqual(2 * Math.min(...gaps.slice(0, -1)));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(200 / 7 * 1.6);
  });

  it('a closed scene\'s candidates go; the next scene\'s stay', () => {
    const r = new Reservoir(8);
    for (let i = 0; i < 100; i++) r.add(cand(i));
    const before = r.takeBefore(90).map((c) => c.index);
    expect(before.every((i) => i < 90)).toBe(true);
    for (let i = 100; i < 104; i++) r.add(cand(i));
    expect(r.takeBefore(Infinity).map((c) => c.index).slice(-4)).toEqual([100, 101, 102, 103]);
  });
});

describe('closestTwin (dedupe)', () => {
  const fp = (scene: number, hash: bigint, chroma: number): Fingerprint => ({
    scene, hash, stats: { meanY: 100, sdY: 20, meanU: 128, meanV: 128 }, chroma: new Uint8Array(32).fill(chroma),
  });

  it('names the earlier scene the pick repeats most closely, not the first near-duplicate', () => {
    const emitted = [fp(0, 0b1111n, 100), fp(1, 0b1110n, 103), fp(2, 0xff00n, 102)];
    // Scenes 0 and 1 are both near-duplicates of the pick (<= 5 bits, chroma within 6); scene 1 is nearer.
    expect(closestTwin(emitted, fp(5, 0b1110n, 104))).toEqual({ scene: 1, distance: 1 });
    // A pick is never its own scene's twin; nothing near enough gives undefined.
    expect(closestTwin(emitted, fp(1, 0b1110n, 103))?.scene).toBe(0);
    expect(closestTwin(emitted, fp(5, 0b1110n, 120))).toBeUndefined();
  });
});

describe('TimeSlots', () => {
  it('keeps the nearest non-blank candidate per target and finalises behind the margin', () => {
    const s = new TimeSlots([1, 3]);
    for (let i = 0; i < 120; i++) s.offer(cand(i, i / 30, i === 30));
    const fin = s.takeFinal(2, 0.5);
    expect(fin.map((x) => x.candidate.index)).toHaveLength(1);
    expect(Math.abs((fin[0]?.candidate.index ?? 0) - 30)).toBe(1);
    expect(s.takeAll().map((x) => x.candidate.index)).toEqual([90]);
  });

  it('a slot already taken holds no later candidate (each hold is dropped again)', () => {
    let held = 0;
    const counted = (i: number): CandidateFrame => ({ ...cand(i), hold: () => { held++; }, drop: () => { held--; } });
    const s = new TimeSlots([1, 3, 5]);
    for (let i = 0; i < 60; i++) s.offer(counted(i));
    for (const { candidate } of s.takeFinal(2, 0.5)) candidate.drop();
    for (let i = 60; i < 200; i++) s.offer(counted(i));
    // Before the fix the taken slot kept the first candidate offered after it was taken, for good.
    expect(held).toBe(2);
    for (const { candidate } of s.takeAll()) candidate.drop();
    expect(held).toBe(0);
  });
});

describe('resolveOptions', () => {
  it('lists every bad option in one ValidationError', () => {
    let err: unknown;
    try { resolveOptions({ quality: 0, mode: 'foo' as never, framesPerScene: 1.5, interval: 0, minFrames: 5, maxFrames: 2 }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toHaveLength(5);
  });
});

describe('resolveFfmpeg', () => {
  it('honours FFMPEG_PATH and errors clearly when it points nowhere', () => {
    expect(resolveFfmpeg({ FFMPEG_PATH: '/usr/bin/ffmpeg' })).toBe('/usr/bin/ffmpeg');
    expect(() => resolveFfmpeg({ FFMPEG_PATH: '/nope/ffmpeg' })).toThrow(FfmpegNotFoundError);
    expect(() => resolveFfmpeg({ FFMPEG_PATH: '/nope/ffmpeg' })).toThrow(/FFMPEG_PATH.*\/nope\/ffmpeg/);
  });
});
