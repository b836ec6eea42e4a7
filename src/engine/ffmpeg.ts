/**
 * Finding and running ffmpeg safely: one place that knows the binary, the input hardening
 * (protocol and demuxer whitelists); its failures are classified by src/engine/ffmpeg-errors.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AbortedError, FfmpegNotFoundError } from '../errors.js';
import { ffmpegErrors } from './ffmpeg-errors.js';

let cachedFfmpeg: string | undefined;

/**
 * Resolve the ffmpeg binary: FFMPEG_PATH, then ffmpeg-static (if its binary was downloaded), then `ffmpeg` on PATH.
 * @throws FfmpegNotFoundError naming every place that was tried.
 */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  if (cachedFfmpeg && env === process.env) return cachedFfmpeg;
  const tried: string[] = [];
  const fromEnv = env.FFMPEG_PATH;
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return remember(fromEnv, env);
    throw new FfmpegNotFoundError(`FFMPEG_PATH is set to ${fromEnv}, but no executable file is there`);
  }
  try {
    const staticPath = createRequire(import.meta.url)('ffmpeg-static') as string | null;
    if (staticPath && isExecutableFile(staticPath)) return remember(staticPath, env);
    tried.push(`ffmpeg-static (${staticPath ?? 'no binary for this platform'}: not downloaded)`);
  } catch {
    tried.push('ffmpeg-static (not installed)');
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'ffmpeg');
    if (isExecutableFile(candidate)) return remember(candidate, env);
  }
  tried.push('ffmpeg on PATH (not found)');
  throw new FfmpegNotFoundError(
    `ffmpeg not found. Tried FFMPEG_PATH (unset), ${tried.join(', ')}. Install it (e.g. apt-get install ffmpeg) or set FFMPEG_PATH.`,
  );
}

function remember(p: string, env: NodeJS.ProcessEnv): string {
  if (env === process.env) cachedFfmpeg = p;
  return p;
}

function isExecutableFile(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Demuxers we accept. Deliberately excludes everything that can open other files or URLs
 * (hls, dash, concat, image2, tee, ...): a crafted `.mp4` that is really a playlist must not
 * make ffmpeg read /etc/passwd or call out to the network.
 */
export const ALLOWED_DEMUXERS = [
  'mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', 'matroska', 'webm', 'avi', 'flv', 'mpegts', 'mpeg', 'ogg',
  'h264', 'hevc', 'm4v', 'mpegvideo', 'ivf', 'gif', 'asf', 'wav', 'mp3', 'aac', 'flac', 'yuv4mpegpipe',
];

/** Input arguments that pin ffmpeg to reading exactly this one local file. */
export function safeInputArgs(file: string, extra: string[] = []): string[] {
  return [
    '-protocol_whitelist', 'file',
    '-format_whitelist', ALLOWED_DEMUXERS.join(','),
    ...extra,
    // `file:` prefix: a path like `http:x` or `concat:a|b` is read as a file name, not a protocol.
    '-i', `file:${path.resolve(file)}`,
  ];
}

export interface FfmpegRun {
  child: ChildProcess;
  /** Resolves with stderr (bounded) on exit 0; rejects with a typed error otherwise. */
  done: Promise<string>;
}

export interface SpawnOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Extra pipes (fd 3, ...) to open for outputs. */
  extraPipes?: number;
  /** Called with each complete stderr line as it arrives. */
  onStderrLine?: (line: string) => void;
  /** The input file, for error messages. */
  input: string;
  ffmpegPath?: string;
}

const STDERR_TAIL = 64 * 1024;

/** Spawn ffmpeg with cancellation, a timeout and a bounded stderr tail used to classify failures. */
export function spawnFfmpeg(args: string[], opts: SpawnOptions): FfmpegRun {
  const bin = opts.ffmpegPath ?? resolveFfmpeg();
  // Callers are async: this throw reaches them as a rejection, and no process is started.
  if (opts.signal?.aborted) throw new AbortedError(opts.signal.reason);
  const stdio: Array<'ignore' | 'pipe'> = ['ignore', 'pipe', 'pipe'];
  for (let i = 0; i < (opts.extraPipes ?? 0); i++) stdio.push('pipe');
  const child = spawn(bin, ['-hide_banner', '-nostdin', '-nostats', ...args], { stdio });
  let tail = '';
  let partial = '';
  let killedFor: 'abort' | 'timeout' | undefined;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL);
    if (opts.onStderrLine) {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        opts.onStderrLine(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    }
  });
  const kill = (why: 'abort' | 'timeout') => {
    if (child.exitCode === null && !killedFor) {
      killedFor = why;
      child.kill('SIGKILL');
    }
  };
  const onAbort = () => kill('abort');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = opts.timeoutMs ? setTimeout(() => kill('timeout'), opts.timeoutMs) : undefined;
  timer?.unref();

  const done = new Promise<string>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(err.code === 'ENOENT' ? new FfmpegNotFoundError(`cannot start ffmpeg at ${bin}: ${err.message}`, { cause: err }) : err);
    });
    child.on('close', (code, sig) => {
      cleanup();
      if (partial && opts.onStderrLine) opts.onStderrLine(partial);
      if (code === 0 && !killedFor) return resolve(tail);
      reject(ffmpegErrors.classify({ stderr: tail, input: opts.input, code, signal: sig, killedFor, timeoutMs: opts.timeoutMs, reason: opts.signal?.reason }));
    });
  });
  function cleanup() {
    opts.signal?.removeEventListener('abort', onAbort);
    if (timer) clearTimeout(timer);
  }
  return { child, done };
}
