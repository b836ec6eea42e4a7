/**
 * Small sample videos made with the system ffmpeg (lavfi sources) for the service tests and the demo.
 *
 * @example
 * ```ts
 * const file = await makeCutsVideo('/tmp/x', { seconds: 4, width: 320, height: 240 }); // 4 hard cuts
 * ```
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function ffmpegPath(): string {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  return existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : 'ffmpeg';
}

/** Distinct lavfi sources: each segment looks nothing like its neighbours, so every join is a hard cut. */
const SOURCES = ['testsrc2', 'smptehdbars', 'mandelbrot', 'cellauto', 'rgbtestsrc', 'testsrc', 'smptebars', 'yuvtestsrc'];

export interface CutsVideoOptions {
  /** Total length in seconds (default 10). */
  seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Number of hard cuts (segments = cuts + 1; default 4). */
  cuts?: number;
  name?: string;
}

/** An H.264 MP4 with `cuts` hard cuts between distinct lavfi sources, evenly spaced. */
export async function makeCutsVideo(dir: string, o: CutsVideoOptions = {}): Promise<string> {
  const seconds = o.seconds ?? 10;
  const width = o.width ?? 640;
  const height = o.height ?? 360;
  const fps = o.fps ?? 25;
  const segments = (o.cuts ?? 4) + 1;
  const seg = seconds / segments;
  await mkdir(dir, { recursive: true });
  const out = path.join(dir, o.name ?? `cuts-${segments - 1}-${seconds}s-${width}x${height}.mp4`);
  if (existsSync(out)) return out;
  const args = ['-y', '-hide_banner', '-loglevel', 'error'];
  for (let i = 0; i < segments; i++) {
    args.push('-f', 'lavfi', '-t', seg.toFixed(3), '-i', `${SOURCES[i % SOURCES.length]}=size=${width}x${height}:rate=${fps}`);
  }
  const inputs = Array.from({ length: segments }, (_, i) => `[${i}:v]setsar=1,format=yuv420p[s${i}]`).join(';');
  const concat = `${Array.from({ length: segments }, (_, i) => `[s${i}]`).join('')}concat=n=${segments}:v=1:a=0[v]`;
  args.push('-filter_complex', `${inputs};${concat}`, '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', out);
  await run(ffmpegPath(), args, { timeout: 120_000 });
  return out;
}

/** A file that is not a video at all (permanent: corrupt). */
export async function makeCorruptVideo(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const out = path.join(dir, 'corrupt.mp4');
  await writeFile(out, Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypmp42'), Buffer.alloc(4096, 0x5a)]));
  return out;
}
