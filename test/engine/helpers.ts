/**
 * Small helpers for the engine tests: pixel checks with sharp, ffmpeg as an oracle, tmp dirs. ffmpeg
 * and the generated inputs come from test/fixtures/videos.ts (re-exported here for the engine tests).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { concatClip, exec as execIn, ff, ffmpegBin, type Ran } from '../fixtures/videos.js';

export { concatClip, encodeGraph, ff, FPS, shot, type Ran } from '../fixtures/videos.js';
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** $CORPUS_DIR/videos, else ../shared/corpus/videos (the same rule as test/fixtures/score.ts). */
export const corpusDir = process.env.CORPUS_DIR ? path.resolve(process.env.CORPUS_DIR, 'videos') : path.resolve(repoRoot, '../shared/corpus/videos');

/** Run a binary in the repository (default cwd); resolves with exit code, stdout and stderr. */
export function exec(bin: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Ran> {
  return execIn(bin, args, { cwd: repoRoot, ...opts });
}

/** Frames ffmpeg decodes from the first video stream (the oracle for frameCount). */
export async function decodedFrameCount(file: string): Promise<number> {
  const r = await ff(['-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framecrc', '-']);
  return r.stdout.toString('utf8').split('\n').filter((l) => l && !l.startsWith('#')).length;
}

/** Display aspect ratio ffmpeg reports for the first video stream (DAR, or width/height when square pixels). */
export async function displayAspect(file: string): Promise<number> {
  const r = await exec(ffmpegBin(), ['-hide_banner', '-i', file]);
  const line = r.stderr.split('\n').find((l) => /Stream #\d+:\d+.*Video:/.test(l)) ?? '';
  const dar = /DAR (\d+):(\d+)/.exec(line);
  if (dar) return Number(dar[1]) / Number(dar[2]);
  const size = /, (\d+)x(\d+)/.exec(line);
  if (!size) throw new Error(`no video size in: ${line}`);
  return Number(size[1]) / Number(size[2]);
}

export async function makeTmp(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `frames-${prefix}-`));
}

export async function removeTmp(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Shots joined by hard cuts (see `concatClip`) as `<new tmp dir>/<name>`; the caller removes `dir`. */
export async function concatClipInTmp(prefix: string, name: string, shots: Parameters<typeof concatClip>[1], post?: string, extra?: string[]): Promise<{ dir: string; clip: string; cuts: number[] }> {
  const dir = await makeTmp(prefix);
  const clip = path.join(dir, name);
  return { dir, clip, cuts: await concatClip(clip, shots, post, extra) };
}

/** Raw RGB pixels of an encoded image. */
export async function rgbOf(img: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Mean RGB of a rectangle. */
export function meanRgb(p: { data: Buffer; width: number }, x0: number, y0: number, w: number, h: number): [number, number, number] {
  const s: [number, number, number] = [0, 0, 0];
  for (let y = y0; y < y0 + h; y++) {
    for (let x = x0; x < x0 + w; x++) {
      const o = (y * p.width + x) * 3;
      s[0] += p.data[o] as number;
      s[1] += p.data[o + 1] as number;
      s[2] += p.data[o + 2] as number;
    }
  }
  const n = w * h;
  return [s[0] / n, s[1] / n, s[2] / n] as [number, number, number];
}

export function isRed([r, g, b]: [number, number, number]): boolean {
  return r > 150 && g < 90 && b < 90;
}

/** Luma standard deviation of an encoded image (max over channels of sharp's stats). */
export async function stdevOf(img: Buffer): Promise<number> {
  const st = await sharp(img).stats();
  return Math.max(...st.channels.slice(0, 3).map((c) => c.stdev));
}

export interface OutOfProcessResult {
  file: string;
  ok: boolean;
  frames?: Array<{ frame: number; width: number; height: number; imgWidth: number; imgHeight: number; format: string }>;
  video?: { frameCount: number; width: number; height: number; rotation: number; durationSec: number; vfr?: boolean };
  scenes?: number;
  error?: { name: string; code?: string; message: string };
}

/**
 * Runs `collectFrames` from src/ on each file in a child node process (tsx), outside jest's VM:
 * the engine's per-frame analysis is tens of times slower inside jest, which would make the
 * corpus run take minutes. Same code, same options; one JSON line per file.
 */
export async function collectOutOfProcess(files: string[], options: Record<string, unknown> = {}): Promise<OutOfProcessResult[]> {
  const code = `
    import { collectFrames } from ${JSON.stringify(path.join(repoRoot, 'src/engine/index.ts'))};
    import sharp from 'sharp';
    const [opts, ...files] = process.argv.slice(1);
    for (const file of files) {
      try {
        const { frames, result } = await collectFrames(file, JSON.parse(opts));
        const out = [];
        for (const f of frames) {
          const m = await sharp(f.data).metadata();
          out.push({ frame: f.frame, width: f.width, height: f.height, imgWidth: m.width, imgHeight: m.height, format: m.format });
        }
        console.log(JSON.stringify({ file, ok: true, frames: out, video: result.video, scenes: result.scenes.length }));
      } catch (e) {
        console.log(JSON.stringify({ file, ok: false, error: { name: e?.name, code: e?.code, message: String(e?.message ?? e) } }));
      }
    }`;
  const r = await exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, JSON.stringify(options), ...files]);
  if (r.code !== 0) throw new Error(`engine child failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return r.stdout.toString('utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as OutOfProcessResult);
}
