/**
 * Frame quality (issue item 7) on generated videos with known content: upright, never blank, never
 * inside a transition, sharpest near the middle, no near-duplicates, fallback, modes, formats,
 * maxWidth and the manifest contract.
 */
import path from 'node:path';
import sharp from 'sharp';
import { buildManifest, collectFrames, type EncodedFrame, type ExtractionResult } from '../../src/engine/index.js';
import { laplacianVariance } from '../../src/engine/image.js';
import {
  concatClip, decodedFrameCount, encodeGraph, ff, FPS, isRed, makeTmp, meanRgb, removeTmp, rgbOf, shot, stdevOf,
} from './helpers.js';

const W = 160;
const H = 120;

let tmp: string;
const clips = {
  rotated: '', blackMiddle: '', dissolve: '', blurred: '', aba: '', recolored: '', single: '', multi: '',
};
let multiCuts: number[] = [];
/** The dissolve's span: frames that are neither pure A nor pure B. */
const DISSOLVE_SPAN: [number, number] = [2 * FPS + 1, 3 * FPS - 1];
/** Frames blurred in the middle of the 4 s `blurred` clip. */
const BLURRED: [number, number] = [56, 63];

beforeAll(async () => {
  tmp = await makeTmp('quality');
  for (const k of Object.keys(clips) as Array<keyof typeof clips>) clips[k] = path.join(tmp, `${k}.mp4`);
  const grid = `color=c=0x808080:s=${W}x${H}:r=${FPS},drawgrid=w=16:h=16:t=2:color=white`;
  const unrotated = path.join(tmp, 'unrotated.mp4');
  await Promise.all([
    // Landscape, red block at the source's top-left; then tagged rotate=90 (ffmpeg 5.1 honours it on stream copy).
    encodeGraph(unrotated, `${grid},drawbox=x=0:y=0:w=40:h=30:color=red:t=fill,trim=end_frame=60,setpts=N/(${FPS}*TB)[out]`, 60)
      .then(() => ff(['-i', unrotated, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', clips.rotated])),
    concatClip(clips.blackMiddle, [
      shot(`testsrc2=s=${W}x${H}:r=${FPS}`, 2),
      shot(`color=c=black:s=${W}x${H}:r=${FPS}`, 1.5),
      shot(`mandelbrot=s=${W}x${H}:r=${FPS}:maxiter=100`, 2),
    ]),
    encodeGraph(clips.dissolve, [
      `${shot(`testsrc2=s=${W}x${H}:r=${FPS}`, 3).chain},settb=1/${FPS}[a]`,
      `${shot(`mandelbrot=s=${W}x${H}:r=${FPS}:maxiter=100`, 3).chain},settb=1/${FPS}[b]`,
      '[a][b]xfade=transition=fade:duration=1:offset=2[out]',
    ].join(';'), 5 * FPS),
    encodeGraph(clips.blurred, `${shot(`testsrc2=s=${W}x${H}:r=${FPS}`, 4).chain},boxblur=8:enable='between(n,${BLURRED[0]},${BLURRED[1]})'[out]`, 4 * FPS),
    concatClip(clips.aba, [
      shot(`smptebars=s=${W}x${H}:r=${FPS}`, 2),
      shot(`testsrc=s=${W}x${H}:r=${FPS},hue=h=140`, 2),
      shot(`smptebars=s=${W}x${H}:r=${FPS}`, 2),
    ]),
    // A, B, then A with its colour channels rotated (red -> green -> blue -> red): the same luma
    // structure and the same mean colour, but a different picture (two slides of one template).
    concatClip(clips.recolored, [
      shot(`rgbtestsrc=s=${W}x${H}:r=${FPS}`, 2),
      shot(`testsrc=s=${W}x${H}:r=${FPS},hue=h=140`, 2),
      shot(`rgbtestsrc=s=${W}x${H}:r=${FPS},colorchannelmixer=rr=0:rb=1:gg=0:gr=1:bb=0:bg=1`, 2),
    ]),
    // 6 s at 15 fps: half the frames to analyse (analysis under jest is slow, see the report).
    encodeGraph(clips.single, `testsrc2=s=${W}x${H}:r=15,format=yuv420p,trim=end_frame=90,setpts=N/(15*TB)[out]`, 90, ['-r', '15']),
    concatClip(clips.multi, [
      shot('testsrc2=s=320x240:r=30', 1.5),
      shot('mandelbrot=s=320x240:r=30:maxiter=100', 1),
      shot('gradients=s=320x240:r=30:speed=0.02:n=4:seed=3', 2),
      shot('rgbtestsrc=s=320x240:r=30,scroll=v=0.006', 1.5),
    ]).then((c) => { multiCuts = c; }),
  ]);
}, 60_000);

afterAll(() => removeTmp(tmp));

const inside = (f: number, [a, b]: [number, number]): boolean => f >= a && f <= b;

describe('upright frames for rotated video', () => {
  it('outputs portrait frames with the source top-left marker where ffmpeg displays it', async () => {
    // Prepare: the oracle is ffmpeg's own autorotated first frame.
    const oracle = await ff(['-i', clips.rotated, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-']);
    const ref = await rgbOf(oracle.stdout);
    const corners = (p: { data: Buffer; width: number; height: number }) => ({
      tl: isRed(meanRgb(p, 4, 4, 16, 16)),
      tr: isRed(meanRgb(p, p.width - 20, 4, 16, 16)),
      bl: isRed(meanRgb(p, 4, p.height - 20, 16, 16)),
      br: isRed(meanRgb(p, p.width - 20, p.height - 20, 16, 16)),
    });
    const expected = corners(ref);
    // Act
    const { frames, result } = await collectFrames(clips.rotated, { format: 'png' });
    // Assess
    expect(ref.width).toBeLessThan(ref.height);
    expect(expected.tl).toBe(false); // the tag really rotates the picture
    expect(Object.values(expected).filter(Boolean)).toHaveLength(1);
    expect(result.video.width).toBe(H);
    expect(result.video.height).toBe(W);
    expect([90, 270]).toContain(result.video.rotation);
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      const px = await rgbOf(f.data);
      expect([px.width, px.height]).toEqual([H, W]);
      expect([f.width, f.height]).toEqual([H, W]);
      expect(corners(px)).toEqual(expected);
    }
    // `--mode all` JPEG is encoded by ffmpeg, not sharp: the same upright picture, and maxWidth
    // applies to it too (the JPEG's own size is what the frame reports).
    const all = await collectFrames(clips.rotated, { mode: 'all' });
    const small = await collectFrames(clips.rotated, { mode: 'all', maxWidth: 60 });
    expect(all.frames).toHaveLength(60);
    expect(small.frames).toHaveLength(60);
    for (const f of [all.frames[0], all.frames[59]] as EncodedFrame[]) {
      const px = await rgbOf(f.data);
      expect([px.width, px.height, f.width, f.height]).toEqual([H, W, H, W]);
      expect(corners(px)).toEqual(expected);
    }
    for (const f of [small.frames[0], small.frames[59]] as EncodedFrame[]) {
      const px = await rgbOf(f.data);
      expect([px.width, px.height]).toEqual([60, 80]);
      expect([f.width, f.height]).toEqual([60, 80]);
    }
  });
});

describe('frames per scene beyond what the candidate memory holds', () => {
  it('1080p, 10 asked: the result says how many a scene can get; 5 asked: nothing said', async () => {
    // Prepare: 2 s of 1080p (3 MB a frame: the 24 MB for the open scene's candidates hold 8).
    const big = path.join(tmp, 'big.mp4');
    await ff(['-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=${FPS}`, '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', big]);
    // Act
    const ten = await collectFrames(big, { framesPerScene: 10 });
    const five = await collectFrames(big, { framesPerScene: 5 });
    // Assess
    const said = ten.result.warnings.map((w) => /^--frames-per-scene 10: at 1920x1080 .* holds (\d+), so a scene gets at most \1 frames of its own, not 10$/.exec(w)).find(Boolean);
    expect(said).toBeTruthy();
    expect(Number(said?.[1])).toBe(8);
    expect(ten.frames.length).toBeLessThanOrEqual(8);
    expect(five.result.warnings.some((w) => w.includes('--frames-per-scene'))).toBe(false);
  }, 60_000);
});

describe('never blank', () => {
  it('a black scene between two content scenes yields no blank frame', async () => {
    // Act
    const { frames } = await collectFrames(clips.blackMiddle, { format: 'png', framesPerScene: 2 });
    // Assess
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const f of frames) expect(await stdevOf(f.data)).toBeGreaterThan(10);
    // and the black span (frames 60..104) is never chosen
    for (const f of frames) expect(inside(f.frame, [60, 104])).toBe(false);
  });
});

describe('not inside a transition', () => {
  it('no chosen frame lies inside a 1 s dissolve', async () => {
    // Act
    const { frames, result } = await collectFrames(clips.dissolve, { framesPerScene: 2, minFrames: 0 });
    // Assess
    expect(result.scenes.length).toBe(2);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const f of frames) expect({ frame: f.frame, inside: inside(f.frame, DISSOLVE_SPAN) }).toEqual({ frame: f.frame, inside: false });
  });
});

describe('sharpest near the middle', () => {
  it('does not pick one of the blurred frames in the middle of the scene', async () => {
    // Prepare: the blurred frames really are much less sharp (sanity of the fixture).
    const raw = await ff(['-i', clips.blurred, '-vf', 'format=gray', '-f', 'rawvideo', '-']);
    const plane = W * H;
    const sharpAt = (n: number) => laplacianVariance(raw.stdout.subarray(n * plane, (n + 1) * plane), W, H);
    expect(sharpAt(60)).toBeLessThan(sharpAt(45) / 3);
    // Act
    const { frames, result } = await collectFrames(clips.blurred, { minFrames: 1 });
    // Assess
    expect(result.fallbackUsed).toBe(false);
    expect(frames.length).toBeGreaterThanOrEqual(1);
    for (const f of frames as EncodedFrame[]) expect({ frame: f.frame, blurred: inside(f.frame, BLURRED) }).toEqual({ frame: f.frame, blurred: false });
  });
});

describe('no near-duplicates', () => {
  it('A B A gives 2 frames with dedupe and 3 without', async () => {
    // Act
    const deduped = await collectFrames(clips.aba);
    const all = await collectFrames(clips.aba, { dedupe: false });
    // Assess
    expect(all.result.scenes).toHaveLength(3);
    expect(all.frames).toHaveLength(3);
    expect(deduped.frames).toHaveLength(2);
    expect(deduped.result.frames).toHaveLength(2);
    expect(deduped.frames.map((f) => f.index)).toEqual([0, 1]);
    // The manifest says why the third scene has no frame: it repeats the first.
    expect(deduped.result.duplicateScenes).toEqual([{ scene: 2, of: 0 }]);
    expect(buildManifest(deduped.result).duplicateScenes).toEqual([{ scene: 2, of: 0 }]);
    expect(all.result.duplicateScenes).toEqual([]);
  });

  it('A B A-recoloured keeps all 3: the same layout in other colours is not a duplicate', async () => {
    // Act
    const { frames, result } = await collectFrames(clips.recolored);
    // Assess
    expect(result.scenes).toHaveLength(3);
    expect(frames.map((f) => f.scene)).toEqual([0, 1, 2]);
    expect(result.duplicateScenes).toEqual([]);
  });
});

describe('fallback and modes on a single 6 s shot', () => {
  const times = (fs: EncodedFrame[]) => fs.map((f) => f.time);

  it('minFrames 3 gives exactly 3 evenly spaced frames and fallbackUsed', async () => {
    // Act
    const { frames, result } = await collectFrames(clips.single, { minFrames: 3 });
    // Assess
    expect(result.scenes).toHaveLength(1);
    expect(result.fallbackUsed).toBe(true);
    expect(frames).toHaveLength(3);
    times(frames).forEach((t, i) => expect(Math.abs(t - (2 * i + 1))).toBeLessThanOrEqual(0.2));
  });

  it('the fallback and interval slots are at 1, 3 and 5 s (dedupe off, isolates the timing from dedupe)', async () => {
    // Act
    const fallback = await collectFrames(clips.single, { minFrames: 3, dedupe: false });
    const interval = await collectFrames(clips.single, { mode: 'interval', interval: 2, dedupe: false });
    // Assess
    for (const r of [fallback, interval]) {
      expect(r.frames).toHaveLength(3);
      times(r.frames).forEach((t, i) => expect(Math.abs(t - (2 * i + 1))).toBeLessThanOrEqual(0.2));
    }
    expect(fallback.result.fallbackUsed).toBe(true);
  });

  it('interval 2 gives 3 frames near 1, 3 and 5 s', async () => {
    // Act
    const { frames, result } = await collectFrames(clips.single, { mode: 'interval', interval: 2 });
    // Assess
    expect(result.fallbackUsed).toBe(false);
    expect(frames).toHaveLength(3);
    times(frames).forEach((t, i) => expect(Math.abs(t - (2 * i + 1))).toBeLessThanOrEqual(0.2));
  });

  it('all gives every decoded frame, and maxFrames caps it', async () => {
    // Prepare
    const decoded = await decodedFrameCount(clips.rotated);
    // Act
    const every = await collectFrames(clips.rotated, { mode: 'all', format: 'jpeg', quality: 50 });
    const capped = await collectFrames(clips.rotated, { mode: 'all', maxFrames: 10 });
    // Assess
    expect(every.frames).toHaveLength(decoded);
    expect(every.frames.map((f) => f.frame)).toEqual(Array.from({ length: decoded }, (_, i) => i));
    expect(every.result.video.frameCount).toBe(decoded);
    expect(capped.frames).toHaveLength(10);
  });
});

describe('modes and limits on a four-shot clip', () => {
  let scene: { frames: EncodedFrame[]; result: ExtractionResult };
  beforeAll(async () => { scene = await collectFrames(clips.multi); });

  it('finds the four shots and one frame per scene by default', () => {
    expect(scene.result.cuts).toHaveLength(multiCuts.length);
    scene.result.cuts.forEach((c, i) => expect(Math.abs(c - (multiCuts[i] as number))).toBeLessThanOrEqual(2));
    expect(scene.frames.map((f) => f.scene)).toEqual([0, 1, 2, 3]);
  });

  it('framesPerScene 2 gives 2 per scene', async () => {
    // Act
    const { frames, result } = await collectFrames(clips.multi, { framesPerScene: 2 });
    // Assess
    for (const s of result.scenes) expect({ scene: s.index, n: frames.filter((f) => f.scene === s.index).length }).toEqual({ scene: s.index, n: 2 });
  });

  it('maxFrames 2 keeps 2 frames, from the longest scenes', async () => {
    // Act
    const { frames, result } = await collectFrames(clips.multi, { maxFrames: 2, minFrames: 0 });
    // Assess
    expect(frames).toHaveLength(2);
    expect(frames.map((f) => f.scene)).toContain(2); // the 2 s scene
    expect(frames.map((f) => f.scene)).not.toContain(1); // the 1 s scene
    expect(result.frames).toHaveLength(2);
  });

  it('targetFrames 6 gives about 6 frames and never more', async () => {
    // Act
    const { frames } = await collectFrames(clips.multi, { targetFrames: 6 });
    // Assess
    expect(frames.length).toBeLessThanOrEqual(6);
    expect(frames.length).toBeGreaterThanOrEqual(5);
  });

  it('hybrid adds interval frames inside long scenes: no gap longer than 2 intervals', async () => {
    // Act
    const { frames } = await collectFrames(clips.multi, { mode: 'hybrid', interval: 1 });
    // Assess
    expect(frames.length).toBeGreaterThan(scene.frames.length);
    for (let s = 0; s < 4; s++) expect(frames.some((f) => f.scene === s)).toBe(true);
    const t = [0, ...frames.map((f) => f.time), 6];
    for (let i = 1; i < t.length; i++) expect((t[i] as number) - (t[i - 1] as number)).toBeLessThanOrEqual(2);
  });

  it.each([
    ['jpeg', 'jpg', 'image/jpeg'],
    ['webp', 'webp', 'image/webp'],
    ['png', 'png', 'image/png'],
  ] as const)('format %s gives valid %s images', async (format, ext, contentType) => {
    // Act (jpeg is the default: reuse the default run)
    const { frames, result } = format === 'jpeg' ? scene : await collectFrames(clips.multi, { format });
    // Assess
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      const meta = await sharp(f.data).metadata();
      expect([meta.format, f.ext, f.contentType, f.format]).toEqual([format, ext, contentType, format]);
      expect([meta.width, meta.height]).toEqual([f.width, f.height]);
    }
    expect(result.frames.map((r) => r.file)).toEqual(frames.map((f) => `${f.index}.${ext}`));
  });

  it('maxWidth downsizes keeping the aspect ratio', async () => {
    // Act
    const { frames } = await collectFrames(clips.multi, { maxWidth: 160, format: 'png' });
    // Assess
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      const meta = await sharp(f.data).metadata();
      expect([meta.width, meta.height]).toEqual([160, 120]);
    }
    expect(scene.frames[0]?.width).toBe(320);
  });

  it('the manifest has the contract fields', () => {
    // Act
    const m = buildManifest(scene.result, new Date(0));
    // Assess
    expect(Object.keys(m.video).filter((k) => k !== 'codec' && k !== 'vfr').sort()).toEqual(['durationSec', 'fps', 'frameCount', 'height', 'path', 'rotation', 'width']);
    expect(m.video).toMatchObject({ path: clips.multi, width: 320, height: 240, rotation: 0, frameCount: 180 });
    expect(m.video.durationSec).toBeCloseTo(6, 1);
    expect(m.video.fps).toBeCloseTo(30, 1);
    for (const s of m.scenes) expect(Object.keys(s).sort()).toEqual(['confidence', 'endFrame', 'endTime', 'index', 'startFrame', 'startTime', 'transitionIn']);
    expect(m.scenes[0]?.transitionIn).toBeNull();
    expect(m.scenes.slice(1).every((s) => s.transitionIn === 'cut')).toBe(true);
    expect(m.cuts).toEqual(m.scenes.slice(1).map((s) => s.startFrame));
    for (const f of m.frames) expect(Object.keys(f).sort()).toEqual(['bytes', 'file', 'frame', 'height', 'index', 'scene', 'sharpness', 'time', 'width']);
    expect(m.frames.map((f) => f.bytes)).toEqual(scene.frames.map((f) => f.data.length));
    expect(m.settings).toMatchObject({ mode: 'scene', format: 'jpeg', threshold: 27, minFrames: 3, framesPerScene: 1, dedupe: true });
    expect(m.tool.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.createdAt).toBe('1970-01-01T00:00:00.000Z');
  });
});
