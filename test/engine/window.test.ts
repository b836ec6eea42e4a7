/**
 * `start` / `end`: only part of a video is decoded, yet frame numbers and times are those of the
 * whole video. The oracle is ffprobe's own frame list (pts of every decoded frame) and ffmpeg's
 * decode of the same frame number; a VFR file and an MPEG-TS (no seek: decoded from the start) too.
 */
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { collectFrames, detectScenes } from '../../src/engine/index.js';
import { ffprobeBin, run } from '../fixtures/videos.js';
import { concatClip, ff, makeTmp, removeTmp, shot } from './helpers.js';

let tmp: string;
let cfr: string;
let vfr: string;
let ts: string;
let cuts: number[] = [];

/** Presentation times of every frame ffmpeg decodes, seconds from the first. */
async function frameTimes(file: string): Promise<number[]> {
  const r = await run(ffprobeBin(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file]);
  const t = r.stdout.toString('utf8').split('\n').map((l) => l.replace(/,/g, '').trim()).filter((l) => l !== '').map(Number).sort((a, b) => a - b);
  return t.map((x) => x - (t[0] as number));
}

/** The band of frame `n` as ffmpeg decodes it (PNG). */
async function oracleFrame(file: string, n: number): Promise<number> {
  const r = await ff(['-i', file, '-vf', `select=eq(n\\,${n})`, '-fps_mode', 'passthrough', '-frames:v', '1', '-c:v', 'png', '-f', 'image2pipe', '-']);
  return band(r.stdout);
}

/** Mean grey of the band (the left 40 columns, 4 px in from its edges). */
async function band(img: Buffer): Promise<number> {
  const { data, info } = await sharp(img).greyscale().raw().toBuffer({ resolveWithObject: true });
  let s = 0;
  let n = 0;
  for (let y = 4; y < info.height - 4; y++) for (let x = 4; x < 36; x++) { s += data[y * info.width + x] as number; n++; }
  return s / n;
}

beforeAll(async () => {
  tmp = await makeTmp('window');
  cfr = path.join(tmp, 'cfr.mp4');
  // Long GOPs with B-frames: a window start falls between keyframes. A band on the left whose
  // brightness steps by 8 every frame (a triangle wave, no jump) tells each frame from its neighbours.
  const band = "geq=lum='if(lt(X,40),20+8*abs(mod(N,26)-13),lum(X,Y))':cb='cb(X,Y)':cr='cr(X,Y)'";
  cuts = await concatClip(cfr, [shot('testsrc2=s=160x120:r=30', 4), shot('mandelbrot=s=160x120:r=30:maxiter=100', 4), shot('testsrc=s=160x120:r=30', 4)], band, ['-g', '90', '-bf', '2']);
  vfr = path.join(tmp, 'vfr.mp4');
  // 30 fps for 100 frames, then 10 fps: frame numbers and times no longer follow from each other.
  await ff(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=30', '-frames:v', '200', '-vf', "setpts='if(lt(N,100),N/30,100/30+(N-100)/10)/TB'",
    '-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '45', '-pix_fmt', 'yuv420p', vfr]);
  ts = path.join(tmp, 'cfr.ts');
  await ff(['-i', cfr, '-c', 'copy', ts]);
  await copyFile(cfr, path.join(tmp, 'copy.mp4'));
}, 60_000);

afterAll(() => removeTmp(tmp));

describe('extract with start / end', () => {
  it.each([['mp4 (seek)', () => cfr], ['MPEG-TS (decoded from the start)', () => ts]])('%s: every frame of [4.5 s, 6.5 s) with the whole video\'s numbers, times and pictures', async (_kind, file) => {
    // Prepare
    const times = await frameTimes(cfr);
    const expected = times.map((t, i) => ({ i, t })).filter(({ t }) => t >= 4.5 - 1e-6 && t < 6.5 - 1e-6);

    // Act
    const { frames, result } = await collectFrames(file(), { mode: 'all', start: 4.5, end: 6.5 });

    // Assert
    expect(frames.map((f) => f.frame)).toEqual(expected.map((e) => e.i));
    expect(frames.map((f) => f.time)).toEqual(expected.map((e) => Math.round(e.t * 1000) / 1000));
    expect(result.video.frameCount).toBe(times.length);
    expect(result.scenes).toEqual([expect.objectContaining({ index: 0, startFrame: expected[0]?.i, endFrame: expected.at(-1)?.i, startTime: 4.5, endTime: 6.5 })]);
    expect(result.settings).toEqual(expect.objectContaining({ start: 4.5, end: 6.5 }));
    // The pictures are those frames: each matches ffmpeg's decode of its number, not its neighbour's.
    for (const f of [frames[0], frames.at(-1)]) {
      const ours = await band(f?.data as Buffer);
      const n = f?.frame as number;
      const [same, prev, next] = (await Promise.all([n, n - 1, n + 1].map((k) => oracleFrame(cfr, k)))) as [number, number, number];
      expect(Math.abs(ours - same)).toBeLessThan(2);
      expect(Math.abs(ours - prev)).toBeGreaterThan(5);
      expect(Math.abs(ours - next)).toBeGreaterThan(5);
    }
  });

  it('VFR: the window is by time, the numbers are by frame', async () => {
    // Prepare
    const times = await frameTimes(vfr);
    const expected = times.map((t, i) => ({ i, t })).filter(({ t }) => t >= 3 - 1e-6 && t < 6 - 1e-6);
    expect(expected.length).toBeGreaterThan(30); // 10 frames at 30 fps + 26 at 10 fps

    // Act
    const { frames } = await collectFrames(vfr, { mode: 'all', start: 3, end: 6 });

    // Assert
    expect(frames.map((f) => f.frame)).toEqual(expected.map((e) => e.i));
    expect(frames.map((f) => f.time)).toEqual(expected.map((e) => Math.round(e.t * 1000) / 1000));
  });

  it('scene mode: scenes are clipped to the window, the cut inside it keeps its whole-video frame', async () => {
    // Act
    const whole = await detectScenes(cfr);
    const part = await collectFrames(cfr, { start: 2, end: 7 });

    // Assert
    // (With B-frames skipped in the analysis a cut may be found one frame early: compare with the whole video's.)
    expect(whole.cuts.map((c, k) => Math.abs(c - (cuts[k] as number)))).toEqual([expect.any(Number), expect.any(Number)]);
    expect(whole.cuts.every((c, k) => Math.abs(c - (cuts[k] as number)) <= 1)).toBe(true);
    expect(part.result.cuts).toEqual([whole.cuts[0]]);
    expect(part.result.scenes.map((s) => [s.startFrame, s.endFrame])).toEqual([[60, (whole.cuts[0] as number) - 1], [whole.cuts[0], 209]]);
    expect(part.result.scenes.at(-1)?.endTime).toBe(7);
    for (const f of part.frames) expect(f.time >= 2 && f.time < 7).toBe(true);
  });

  it('detect: the same cuts as the whole video, only those inside the window', async () => {
    // Act
    const whole = await detectScenes(cfr);
    const d = await detectScenes(cfr, { start: 5 });

    // Assert
    expect(d.cuts).toEqual([whole.cuts[1]]);
    expect(d.scenes[0]).toEqual(expect.objectContaining({ startFrame: 150, startTime: 5 }));
    expect(d.scenes.at(-1)).toEqual(expect.objectContaining({ endFrame: 359, endTime: 12 }));
  });

  it('refuses a window that holds no frame, or ends before it starts, naming the problem', async () => {
    await expect(collectFrames(cfr, { start: 12 })).rejects.toThrow(/start 12 s is at or after the end of the video \(12 s\)/);
    await expect(detectScenes(cfr, { start: 30 })).rejects.toThrow(/start 30 s is at or after the end/);
    await expect(collectFrames(cfr, { start: 5, end: 4 })).rejects.toThrow(/end \(4\) must be after start \(5\)/);
    await expect(collectFrames(cfr, { start: -1 })).rejects.toThrow(/start must be a number from 0/);
  });
});
