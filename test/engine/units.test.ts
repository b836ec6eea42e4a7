/** Units: probe parsing, FrameIndexer, SceneDetector on hand-made signatures, Reservoir, TimeSlots, options, resolveFfmpeg. */
import type { CandidateFrame } from '../../src/engine/analyze.js';
import { SceneDetector } from '../../src/engine/detector.js';
import { resolveFfmpeg } from '../../src/engine/ffmpeg.js';
import { resolveOptions } from '../../src/engine/options.js';
import { FrameIndexer, parseInputHeader, parseProbe } from '../../src/engine/probe.js';
import { Reservoir, TimeSlots } from '../../src/engine/select.js';
import { makeSignature, SIG_BYTES } from '../../src/engine/signature.js';
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

describe('SceneDetector', () => {
  const frame = (seed: number) => {
    const rgb = new Uint8Array(SIG_BYTES);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (Math.imul(i + 1, seed * 2654435761) >>> 24) & 0xff;
    return makeSignature(rgb);
  };
  const flat = (v: number) => makeSignature(new Uint8Array(SIG_BYTES).fill(v));
  const run = (sigs: ReturnType<typeof frame>[], minSceneLenSec = 0.6) => {
    const d = new SceneDetector({ threshold: 27, minSceneLenSec });
    sigs.forEach((s, i) => d.push(i, i / 30, s));
    d.flush();
    return d.boundaries.map((b) => b.frame);
  };
  const A = frame(3);
  const B = frame(7);
  it('a hard cut is a cut', () => {
    expect(run([...Array(40).fill(A), ...Array(40).fill(B)])).toEqual([40]);
  });
  it('a 2-frame flash is not a cut', () => {
    expect(run([...Array(40).fill(A), flat(250), flat(250), ...Array(40).fill(A)])).toEqual([]);
  });
  it('minimum scene length suppresses a second cut too soon', () => {
    expect(run([...Array(40).fill(A), ...Array(10).fill(B), ...Array(40).fill(A)], 0.6)).toEqual([40]);
  });
  it('faint texture moving across a flat-looking field is one blank stretch, and the cut out of it is found', () => {
    // spread 4 (a blank by its spread) and the same average colour throughout, while the pattern
    // drifts away from the first frame's (20 more pixels flipped each frame)
    const field = (k: number) => {
      const rgb = new Uint8Array(SIG_BYTES);
      for (let p = 0; p < SIG_BYTES / 3; p++) rgb.fill((p + (p < k * 20 ? 1 : 0)) % 2 ? 194 : 186, p * 3, p * 3 + 3);
      return makeSignature(rgb);
    };
    const sigs = [...Array(40).fill(A), ...Array.from({ length: 90 }, (_, k) => field(k)), ...Array(40).fill(B)];
    expect(run(sigs)).toEqual([40, 130]);
  });
  it('a glitch that builds up and clears at once (a damaged frame until the next keyframe) is no cut', () => {
    const noise = frame(11);
    const mix = (w: number) => makeSignature(A.rgb.map((x, i) => Math.round(x * (1 - w) + (noise.rgb[i] as number) * w)));
    const glitch = Array.from({ length: 20 }, (_, k) => mix((0.6 * (k + 1)) / 20));
    expect(run([...Array(40).fill(A), ...glitch, ...Array(40).fill(A)])).toEqual([]);
  });
});

/** A 4x4 candidate: `blank` gives a uniform black frame, otherwise a black/white checkerboard. */
const cand = (index: number, time = index / 30, blank = false): CandidateFrame => {
  const yuv = Buffer.alloc(4 * 4 * 1.5, 128);
  for (let i = 0; i < 16; i++) yuv[i] = blank ? 16 : (i + (i >> 2)) % 2 ? 235 : 16;
  return { index, time, width: 4, height: 4, yuv, keyframe: false, hold: () => undefined, drop: () => undefined };
};

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
