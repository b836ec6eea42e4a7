/** Small helpers for the engine tests: real ffmpeg, generated inputs in a tmp dir, pixel checks with sharp. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const FFMPEG = process.env.FFMPEG_PATH || '/usr/bin/ffmpeg';
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** $CORPUS_DIR/videos, else ../shared/corpus/videos (the same rule as test/fixtures/score.ts). */
export const corpusDir = process.env.CORPUS_DIR ? path.resolve(process.env.CORPUS_DIR, 'videos') : path.resolve(repoRoot, '../shared/corpus/videos');
export const FPS = 30;

export interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Run a binary; resolves with exit code, stdout and stderr (never rejects on a non-zero exit). */
export function exec(bin: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd ?? repoRoot });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** ffmpeg that must succeed. */
export async function ff(args: string[]): Promise<Ran> {
  const r = await exec(FFMPEG, ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error', ...args]);
  if (r.code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return r;
}

/** Frames ffmpeg decodes from the first video stream (the oracle for frameCount). */
export async function decodedFrameCount(file: string): Promise<number> {
  const r = await ff(['-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framecrc', '-']);
  return r.stdout.toString('utf8').split('\n').filter((l) => l && !l.startsWith('#')).length;
}

/** Display aspect ratio ffmpeg reports for the first video stream (DAR, or width/height when square pixels). */
export async function displayAspect(file: string): Promise<number> {
  const r = await exec(FFMPEG, ['-hide_banner', '-i', file]);
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

/** One shot: a lavfi source chain cut to `sec` seconds at 30 fps with square pixels. */
export function shot(src: string, sec: number): { chain: string; frames: number } {
  const frames = Math.round(sec * FPS);
  return { chain: `${src},format=yuv420p,setsar=1,fps=${FPS},trim=end_frame=${frames},setpts=N/(${FPS}*TB)`, frames };
}

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', '-pix_fmt', 'yuv420p', '-g', '30'];

/** Shots joined by hard cuts, optional `post` filter on the joined stream; returns cut frame indices. */
export async function concatClip(out: string, shots: Array<{ chain: string; frames: number }>, post = '', extra: string[] = []): Promise<number[]> {
  const parts = shots.map((s, i) => `${s.chain}[v${i}]`);
  const ins = shots.map((_, i) => `[v${i}]`).join('');
  const graph = `${parts.join(';')};${ins}concat=n=${shots.length}:v=1:a=0${post ? `,${post}` : ''}[out]`;
  const total = shots.reduce((a, s) => a + s.frames, 0);
  await ff(['-filter_complex', graph, '-map', '[out]', '-frames:v', String(total), ...X264, '-an', ...extra, out]);
  const cuts: number[] = [];
  let at = 0;
  for (const s of shots.slice(0, -1)) { at += s.frames; cuts.push(at); }
  return cuts;
}

/** Encode a single filter graph whose output is labelled [out]. */
export async function encodeGraph(out: string, graph: string, frames: number, extra: string[] = []): Promise<void> {
  await ff(['-filter_complex', graph, '-map', '[out]', '-frames:v', String(frames), ...X264, '-an', ...extra, out]);
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
