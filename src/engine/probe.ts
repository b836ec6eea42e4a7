/**
 * Probe a video with one cheap demux-only pass (`-c copy -f framecrc`): stream facts from ffmpeg's
 * input header, and every video packet's timestamp, which gives true decoded-frame indices even
 * when the analysis decoder skips frames or the frame rate varies. No ffprobe needed (the Lambda
 * image ships ffmpeg only).
 */
import { statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidVideoError, NoVideoStreamError, VideoNotFoundError } from '../errors.js';
import { reportsTruncation } from './ffmpeg-errors.js';
import { safeInputArgs, spawnFfmpeg, type FfmpegRun } from './ffmpeg.js';
import type { VideoInfo } from './types.js';

export interface ProbeResult {
  info: VideoInfo;
  /** Stored (pre-rotation) frame size. */
  codedWidth: number;
  codedHeight: number;
  /** Sample aspect ratio (1 for square pixels). */
  sar: number;
  /** Packet timestamps in seconds, ascending = display order. */
  packetTimes: Float64Array;
  /** Each of those packets' size in bytes, in the same order (a decode's cost grows with them). */
  packetSizes: Float64Array;
  /** Whether the stream has B-frames (by packet order: pts out of dts order). */
  hasBFrames: boolean;
  /** All packets carried timestamps, so indices can be derived from them. */
  timestampsUsable: boolean;
  /** ffmpeg reported a partial (truncated) file while reading it. */
  partial: boolean;
  /** Damage ffmpeg reads through (lost packets, timestamp jumps), for the result's `warnings`. */
  warnings: string[];
  /** The header names a field order (top/bottom first): output frames are deinterlaced. */
  interlaced: boolean;
  /** The pixels are full range (`yuvj420p`, `(pc, ...)`), not the usual limited (TV) range. */
  fullRange: boolean;
  /** Demuxer names from ffmpeg's input header (`mov,mp4,m4a,...`). */
  container: string;
  /**
   * Keyframes where decoding can start with nothing lost (seconds, ascending): no later packet in
   * decode order shows before them (closed GOP), so a decode that starts there gives the same
   * frames from there on as a decode of the whole file.
   */
  splitPoints: Float64Array;
  /**
   * Rank in packetTimes of the first frame a full decode shows: the first at or after the first
   * keyframe in decode order (earlier ones lack their references). A decode that skips frames
   * (leading B-frames) must still count from here, or its indices shift against a full decode.
   */
  firstShown: number;
}

/** AV_PKT_FLAG_DISCARD in framecrc's `F=` column. */
const PKT_FLAG_DISCARD = 0x4;

export interface ProbeOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called once the probe's ffmpeg is running: work for later can overlap it. */
  onStarted?: () => void;
}

/**
 * Read a video's facts and its frame timestamps.
 * @throws VideoNotFoundError, InvalidVideoError (EMPTY_FILE, TRUNCATED_VIDEO, UNREADABLE_MEDIA, UNSUPPORTED_INPUT), NoVideoStreamError
 */
export async function probeVideo(file: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  let st: Stats;
  try {
    st = await stat(file);
    if (!st.isFile()) throw new InvalidVideoError('UNREADABLE_MEDIA', `${file} is not a regular file`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new VideoNotFoundError(file, { cause: err });
    throw err;
  }
  if (st.size === 0) throw new InvalidVideoError('EMPTY_FILE', `${file} is empty (0 bytes)`);

  const early = takeProbeAhead(file, st, opts);
  if (early) {
    opts.onStarted?.();
    return early;
  }
  const probe = startProbe(file, opts);
  opts.onStarted?.();
  return probe.result;
}

/** The probe's ffmpeg run, and its parsed result once it has exited. */
function startProbe(file: string, opts: { signal?: AbortSignal; timeoutMs?: number }): { run: FfmpegRun; result: Promise<ProbeResult> } {
  const chunks: Buffer[] = [];
  const run = spawnFfmpeg([...safeInputArgs(file), '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', 'pipe:1'], {
    input: file,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  run.child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  return { run, result: run.done.then((stderr) => parseProbe(file, Buffer.concat(chunks).toString('utf8'), stderr)) };
}

interface ProbeAhead {
  stat: Stats;
  run: FfmpegRun;
  result: Promise<ProbeResult>;
  cancel: AbortController;
}

/** Probes started before anyone asked (probeAhead), by absolute path; each is used at most once. */
const ahead = new Map<string, ProbeAhead>();

/**
 * Start probing `file` now, for a probeVideo of the same file soon after: the CLI calls it before
 * it loads the rest of its modules, so ffmpeg's start-up (about 0.15 s here, most of it the
 * dynamic loader) and the demux overlap that loading instead of following it (20 s of 720p,
 * `--mode interval`: the decode starts about 75 ms earlier). Nothing is started when `file` is not
 * a non-empty regular file. A probe nobody takes keeps nothing alive: its process is unref'd, and
 * it is thrown away if the file changed before it was asked for.
 */
export function probeAhead(file: string): void {
  const key = path.resolve(file);
  if (ahead.has(key)) return;
  let st: Stats;
  try {
    st = statSync(key);
  } catch {
    return;
  }
  if (!st.isFile() || st.size === 0) return;
  const cancel = new AbortController();
  let probe: ReturnType<typeof startProbe>;
  try {
    probe = startProbe(file, { signal: cancel.signal });
  } catch {
    return; // no ffmpeg: probeVideo reports it
  }
  probe.result.catch(() => {}); // reported to whoever takes it; unhandled otherwise
  const { child } = probe.run;
  child.unref();
  for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  ahead.set(key, { stat: st, run: probe.run, result: probe.result, cancel });
}

/** Stop and forget every probe started ahead that nobody took (a folder run's end, or its interruption). */
export function dropProbesAhead(): void {
  for (const a of ahead.values()) a.cancel.abort(new Error('probe ahead not used'));
  ahead.clear();
}

/** How many probes started ahead wait to be taken (for tests). */
export function probesAhead(): number {
  return ahead.size;
}

/** The probe started ahead for `file`, if it is still the same file and the caller sets no timeout (that is the caller's own run's). */
function takeProbeAhead(file: string, st: Stats, opts: ProbeOptions): Promise<ProbeResult> | undefined {
  const key = path.resolve(file);
  const a = ahead.get(key);
  if (!a) return undefined;
  ahead.delete(key);
  const same = a.stat.ino === st.ino && a.stat.dev === st.dev && a.stat.size === st.size && a.stat.mtimeMs === st.mtimeMs;
  if (!same || opts.timeoutMs) {
    a.cancel.abort(new Error('probe ahead not used'));
    return undefined;
  }
  const { child } = a.run;
  child.ref();
  for (const s of [child.stdout, child.stderr]) (s as unknown as { ref?: () => void } | null)?.ref?.();
  const signal = opts.signal;
  if (!signal) return a.result;
  if (signal.aborted) a.cancel.abort(signal.reason);
  const onAbort = (): void => a.cancel.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  return a.result.finally(() => signal.removeEventListener('abort', onAbort));
}

/** Exported for tests: parse framecrc output plus ffmpeg's stderr header. */
export function parseProbe(file: string, framecrc: string, stderr: string): ProbeResult {
  const header = parseInputHeader(stderr);
  if (!header.hasVideo) throw new NoVideoStreamError(file);

  let tbNum = 1;
  let tbDen = 1;
  const pts: number[] = [];
  const dts: number[] = [];
  const durations: number[] = [];
  const sizes: number[] = [];
  const keys: boolean[] = [];
  let timestampsUsable = true;
  let firstKeyPts: number | undefined;
  for (const line of framecrc.split('\n')) {
    if (!line) continue;
    if (line.startsWith('#tb 0:')) {
      const m = /(\d+)\/(\d+)/.exec(line);
      if (m) { tbNum = Number(m[1]); tbDen = Number(m[2]); }
      continue;
    }
    if (line.startsWith('#')) continue;
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length < 5 || cols[0] !== '0') continue;
    const d = Number(cols[1]);
    const p = Number(cols[2]);
    // framecrc prints packet flags only when they differ from "key": `F=0x0` is a non-key packet.
    const flags = cols[6]?.startsWith('F=') ? Number.parseInt(cols[6].slice(2), 16) : 1;
    // DISCARD (0x4): before the start of an mp4 edit list; decoded as a reference, never shown.
    if ((flags & 1) === 1 && firstKeyPts === undefined) firstKeyPts = Number.isFinite(p) ? p : d;
    if (flags & PKT_FLAG_DISCARD) continue;
    if (!Number.isFinite(p)) timestampsUsable = false;
    dts.push(d);
    pts.push(Number.isFinite(p) ? p : d);
    durations.push(Number(cols[3]) || 0);
    sizes.push(Number(cols[4]) || 0);
    keys.push((flags & 1) === 1);
  }
  if (pts.length === 0) {
    throw new InvalidVideoError('NO_FRAMES', `${file} has a video stream but no video frames could be read`);
  }
  let hasBFrames = false;
  for (let i = 1; i < pts.length; i++) if ((pts[i] as number) < (pts[i - 1] as number)) { hasBFrames = true; break; }
  const tb = tbNum / tbDen;
  const order = pts.map((_, i) => i).sort((a, b) => (pts[a] as number) - (pts[b] as number));
  const sorted = Float64Array.from(order, (i) => (pts[i] as number) * tb);
  const packetSizes = Float64Array.from(order, (i) => sizes[i] as number);
  if (new Set(sorted).size !== sorted.length) timestampsUsable = false;

  const first = sorted[0] as number;
  const lastIdx = pts.indexOf(Math.max(...pts));
  const lastDur = (durations[lastIdx] ?? 0) * tb;
  const span = (sorted[sorted.length - 1] as number) - first;
  const frameCount = sorted.length;
  const avgStep = frameCount > 1 ? span / (frameCount - 1) : 0;
  const durationSec = Math.max(span + (lastDur > 0 ? lastDur : avgStep), header.durationSec > 0 && frameCount === 1 ? header.durationSec : 0);
  let vfr = false;
  if (frameCount > 2 && avgStep > 0) {
    for (let i = 1; i < sorted.length; i++) {
      const step = (sorted[i] as number) - (sorted[i - 1] as number);
      if (Math.abs(step - avgStep) > avgStep * 0.25) { vfr = true; break; }
    }
  }
  const rotation = header.rotation;
  const dispW = Math.round(header.width * header.sar);
  const swap = rotation === 90 || rotation === 270;
  const info: VideoInfo = {
    path: file,
    durationSec: round(durationSec, 4),
    fps: round(durationSec > 0 ? frameCount / durationSec : header.fps, 4),
    frameCount,
    width: swap ? header.height : dispW,
    height: swap ? dispW : header.height,
    rotation,
    codec: header.codec,
    vfr,
  };
  const partial = reportsTruncation(stderr);
  const splitPoints = timestampsUsable ? closedGopKeyframes(pts, keys, tb) : new Float64Array(0);
  let firstShown = 0;
  if (firstKeyPts !== undefined) while (firstShown < sorted.length && (sorted[firstShown] as number) < firstKeyPts * tb - 1e-9) firstShown++;
  if (firstShown >= sorted.length) firstShown = 0;
  return {
    firstShown, warnings: probeWarnings(stderr),
    info, codedWidth: header.width, codedHeight: header.height, sar: header.sar, packetTimes: sorted, packetSizes, hasBFrames, timestampsUsable, partial,
    container: header.container, splitPoints, interlaced: header.interlaced, fullRange: header.fullRange,
  };
}

/** Damage the demuxer reported and read through, one sentence each. */
function probeWarnings(stderr: string): string[] {
  const out: string[] = [];
  // ffmpeg may print one packet's message twice: count distinct packets.
  const corrupt = new Set(stderr.match(/Packet corrupt \(stream = \d+, dts = -?\d+/g) ?? []).size;
  if (corrupt > 0) out.push(`${corrupt} damaged or incomplete packet(s) in the container (lost data, e.g. a dropped MPEG-TS packet): decoded through, nearby frames may show errors`);
  return out;
}

/**
 * Keyframes (after the first packet) that split the stream cleanly: every packet before them in
 * decode order shows before them, and every packet after them shows after them.
 */
function closedGopKeyframes(pts: number[], keys: boolean[], tb: number): Float64Array {
  const out: number[] = [];
  const minAfter = new Float64Array(pts.length + 1).fill(Number.POSITIVE_INFINITY);
  for (let i = pts.length - 1; i >= 0; i--) minAfter[i] = Math.min(minAfter[i + 1] as number, pts[i] as number);
  let maxBefore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i] as number;
    if (i > 0 && keys[i] && p > maxBefore && (minAfter[i + 1] as number) > p) out.push(p * tb);
    if (p > maxBefore) maxBefore = p;
  }
  return Float64Array.from(out);
}

interface InputHeader {
  hasVideo: boolean;
  codec: string;
  width: number;
  height: number;
  sar: number;
  fps: number;
  rotation: number;
  durationSec: number;
  container: string;
  interlaced: boolean;
  fullRange: boolean;
}

export function parseInputHeader(stderr: string): InputHeader {
  const out: InputHeader = { hasVideo: false, codec: 'unknown', width: 0, height: 0, sar: 1, fps: 0, rotation: 0, durationSec: 0, container: '', interlaced: false, fullRange: false };
  // Only the input section: stop at the first "Output #" line.
  const inputPart = stderr.split(/\nOutput #/)[0] ?? stderr;
  const dur = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(inputPart);
  if (dur) out.durationSec = Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]);
  const fmt = /Input #0, ([\w,]+), from/.exec(inputPart);
  if (fmt) out.container = fmt[1] as string;
  const lines = inputPart.split('\n');
  let inVideo = false;
  for (const line of lines) {
    if (/^\s*Stream #\d+:\d+/.test(line)) {
      if (out.hasVideo) { if (inVideo) inVideo = false; continue; }
      const m = /Video: (\w+)/.exec(line);
      if (!m) continue;
      out.hasVideo = true;
      inVideo = true;
      out.codec = m[1] as string;
      const size = /, (\d{1,5})x(\d{1,5})/.exec(line);
      if (size) { out.width = Number(size[1]); out.height = Number(size[2]); }
      const sar = /SAR (\d+):(\d+)/.exec(line);
      if (sar && Number(sar[1]) > 0 && Number(sar[2]) > 0) out.sar = Number(sar[1]) / Number(sar[2]);
      // `yuv420p(tv, top first)`, `(bottom coded first (swapped))`: interlaced; `(progressive)` or none: not.
      out.interlaced = /\((?:[^()]*, )?(?:top|bottom)(?: coded)? first/.test(line);
      // `yuvj420p(pc, ...)` or `yuv420p(pc, ...)`: full range; `(tv, ...)` or nothing: limited.
      out.fullRange = /, yuvj\w+|, \w+\(pc[,)]/.test(line);
      const fps = /([\d.]+) fps/.exec(line);
      if (fps) out.fps = Number(fps[1]);
      continue;
    }
    if (inVideo) {
      const rot = /rotation of (-?[\d.]+) degrees/.exec(line);
      if (rot) out.rotation = normaliseRotation(-Number(rot[1]));
    }
  }
  return out;
}

/** ffmpeg prints the display matrix angle counter-clockwise; we report the clockwise turn applied. */
function normaliseRotation(deg: number): number {
  const r = ((Math.round(deg / 90) * 90) % 360 + 360) % 360;
  return r;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Maps decoded frame timestamps to 0-based decoded-frame indices using the packet list, so the
 * analysis may skip B-frames and still report true frame numbers.
 */
export class FrameIndexer {
  private offset = -1;
  /**
   * @param origin rank (in `times`) of the first frame a full decode shows (ProbeResult.firstShown);
   *   frame 0 is there even when the decode that is indexed skipped it (a leading B-frame).
   */
  constructor(private readonly times: Float64Array, private readonly origin = Number.POSITIVE_INFINITY) {}

  /** Index of the packet whose time is nearest to `t` (seconds), relative to frame 0. */
  indexOf(t: number): number {
    const rank = nearest(this.times, t);
    if (this.offset < 0) this.offset = Math.min(rank, this.origin);
    return rank - this.offset;
  }

  /** Time of frame 0 (seconds, stream clock); known once indexOf was called. */
  get originTime(): number {
    return this.times[Math.max(0, this.offset)] as number;
  }

  /** Frames in the stream from frame 0 on. */
  get frameCount(): number {
    return this.times.length - Math.max(0, this.offset);
  }

  timeOf(index: number): number {
    const i = Math.min(this.times.length - 1, Math.max(0, index + Math.max(0, this.offset)));
    return (this.times[i] as number) - (this.times[Math.max(0, this.offset)] as number);
  }
}

function nearest(arr: Float64Array, t: number): number {
  let lo = 0;
  let hi = arr.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((arr[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs((arr[lo - 1] as number) - t) <= Math.abs((arr[lo] as number) - t)) return lo - 1;
  return lo;
}
