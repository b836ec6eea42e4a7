/**
 * The JPEG branch widens limited-range YUV to full range with lookup tables (tvToJpegRange)
 * instead of swscale's `format=yuvj420p`: the output must be the same bytes, for every value,
 * and full-range input must keep swscale's path (widening it again would wash it out).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { collectFrames } from '../../src/engine/extract.js';
import { resolveFfmpeg } from '../../src/engine/ffmpeg.js';
import { tvToJpegRange } from '../../src/engine/filters.js';
import { jpegQscale } from '../../src/engine/image.js';
import { parseInputHeader } from '../../src/engine/probe.js';
import { exec, makeTmp, removeTmp } from './helpers.js';

describe('limited to full range for the JPEG encoder', () => {
  let dir: string;
  beforeAll(async () => { dir = await makeTmp('jpeg-range'); });
  afterAll(() => removeTmp(dir));

  it('gives exactly what format=yuvj420p gives, for all 256 values of Y, U and V', async () => {
    // 256x16 4:2:0: every luma value in each row, every chroma value across the 128x8 chroma planes.
    const W = 256;
    const H = 16;
    const y = Buffer.alloc(W * H);
    for (let i = 0; i < y.length; i++) y[i] = (i * 7) % 256 ^ Math.floor(i / W);
    const u = Buffer.alloc((W / 2) * (H / 2));
    const v = Buffer.alloc(u.length);
    for (let i = 0; i < u.length; i++) { u[i] = i % 256; v[i] = (255 - i) % 256; }
    const raw = path.join(dir, 'all-values.yuv');
    await writeFile(raw, Buffer.concat([y, u, v]));
    const convert = async (chain: string, out: string): Promise<Buffer> => {
      const r = await exec(resolveFfmpeg(), ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-i', raw, '-vf', chain, '-f', 'rawvideo', '-y', path.join(dir, out)]);
      expect(r.stderr).toBe('');
      return readFile(path.join(dir, out));
    };
    const swscale = await convert('format=yuvj420p', 'sws.yuv');
    const lut = await convert(tvToJpegRange(), 'lut.yuv');
    expect(new Set(y).size).toBe(256);
    expect(new Set(u).size).toBe(256);
    expect(lut.length).toBe(swscale.length);
    const differing = [...lut].filter((b, i) => b !== swscale[i]).length;
    expect(differing).toBe(0);
    // And it is a real widening, not a copy: 16 (black) becomes 0, 235 (white) 255.
    expect(lut[y.indexOf(16)]).toBe(0);
    expect(lut[y.indexOf(235)]).toBe(255);
  });

  it('the probe tells full-range streams from limited ones', () => {
    const header = (pix: string): string => `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'v.mp4':\n  Duration: 00:00:02.00, start: 0.000000, bitrate: 100 kb/s\n  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), ${pix}, 320x240, 90 kb/s, 30 fps, 30 tbr, 15360 tbn (default)\n`;
    expect(parseInputHeader(header('yuv420p(tv, bt709, progressive)')).fullRange).toBe(false);
    expect(parseInputHeader(header('yuv420p(progressive)')).fullRange).toBe(false);
    expect(parseInputHeader(header('yuv420p')).fullRange).toBe(false);
    expect(parseInputHeader(header('yuvj420p(pc, bt470bg/unknown/unknown, progressive)')).fullRange).toBe(true);
    expect(parseInputHeader(header('yuv420p(pc, progressive)')).fullRange).toBe(true);
    expect(parseInputHeader(header('yuv420p(pc)')).fullRange).toBe(true);
  });

  it.each([
    ['limited', 'yuv420p'],
    ['full', 'yuvj420p'],
  ])('--mode all JPEGs of a %s-range video are the bytes of ffmpeg\'s own JPEG dump', async (_range, pixFmt) => {
    const clip = path.join(dir, `${pixFmt}.mp4`);
    const made = await exec(resolveFfmpeg(), ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=10:d=1.5', '-pix_fmt', pixFmt, '-c:v', 'libx264', '-preset', 'veryfast', '-y', clip]);
    expect(made.code).toBe(0);
    const refDir = path.join(dir, `ref-${pixFmt}`);
    await exec('mkdir', ['-p', refDir]);
    const ref = await exec(resolveFfmpeg(), ['-v', 'error', '-i', clip, '-an', '-q:v', String(jpegQscale(85)), '-y', path.join(refDir, '%d.jpg')]);
    expect(ref.code).toBe(0);
    const r = await collectFrames(clip, { mode: 'all', format: 'jpeg', quality: 85 });
    expect(r.frames).toHaveLength(15);
    for (const f of r.frames) {
      const own = await readFile(path.join(refDir, `${f.frame + 1}.jpg`));
      expect(f.data.equals(own)).toBe(true);
    }
  }, 60_000);
});
