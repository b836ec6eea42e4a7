/**
 * `--mode all` JPEG: ffmpeg encodes the frames and node gets only each frame's luma plane, area-
 * downscaled to at most 640 wide, to measure sharpness. The plane must be exactly the decoded
 * luma, downscaled: every frame's sharpness equals the Laplacian variance of the plane an
 * independent ffmpeg command gives (extractplanes, then the same area scale).
 */
import path from 'node:path';
import { collectFrames } from '../../src/engine/extract.js';
import { resolveFfmpeg } from '../../src/engine/ffmpeg.js';
import { laplacianVariance } from '../../src/engine/image.js';
import { exec } from '../fixtures/videos.js';
import { concatClip, makeTmp, removeTmp, shot } from './helpers.js';

describe('the luma plane behind --mode all sharpness', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTmp('luma');
  });
  afterAll(() => removeTmp(dir));

  /** Each frame's luma plane from ffmpeg, extracted and then scaled to `w` x `h` (or not scaled). */
  async function referencePlanes(clip: string, w: number, h: number, scale: boolean): Promise<Buffer[]> {
    const chunks: Buffer[] = [];
    const vf = `format=yuv420p,extractplanes=y${scale ? `,scale=${w}:${h}:flags=area` : ''}`;
    const r = await exec(resolveFfmpeg(), ['-v', 'error', '-i', clip, '-an', '-vf', vf, '-f', 'rawvideo', 'pipe:1'], { onStdout: (c) => chunks.push(c) });
    expect(r.code).toBe(0);
    const all = Buffer.concat(chunks);
    return Array.from({ length: all.length / (w * h) }, (_, k) => all.subarray(k * w * h, (k + 1) * w * h));
  }

  it.each([
    // Downscaled (wider than 640): swscale reads the luma and writes gray at once.
    { name: 'wide', w: 1280, h: 720, lumaW: 640, lumaH: 360 },
    // A plane of odd height: 962x542 -> 640x361.
    { name: 'odd', w: 962, h: 542, lumaW: 640, lumaH: 361 },
    // Not scaled: the plane as decoded.
    { name: 'narrow', w: 480, h: 270, lumaW: 480, lumaH: 270 },
  ])('$name ($w x $h): every frame\'s sharpness is that of the decoded luma plane ($lumaW x $lumaH)', async ({ name, w, h, lumaW, lumaH }) => {
    const clip = path.join(dir, `${name}.mp4`);
    // Two shots of different detail (sharpness must differ between them) with motion in each.
    await concatClip(clip, [shot(`testsrc2=s=${w}x${h}:r=30`, 0.5), shot(`mandelbrot=s=${w}x${h}:r=30:maxiter=40`, 0.5)]);
    const { frames } = await collectFrames(clip, { mode: 'all' });
    const planes = await referencePlanes(clip, lumaW, lumaH, lumaW !== w);
    expect(frames).toHaveLength(planes.length);
    expect(frames.length).toBeGreaterThan(20);
    frames.forEach((f, k) => expect(f.sharpness).toBe(laplacianVariance(planes[k] as Buffer, lumaW, lumaH, 'gray')));
    expect(new Set(frames.map((f) => f.sharpness)).size).toBeGreaterThan(2);
  }, 120_000);
});
