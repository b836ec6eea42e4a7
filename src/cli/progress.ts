/**
 * Progress of `frames extract` in frames: one bar per running video and, for a folder, an overall
 * bar of the frames of all its videos, each with an ETA.
 *
 * The overall total is grown as the videos are sized, not probed up front: a background pass reads
 * each video's container header (`ffmpeg -i v`, no decode, no packet scan: a few ms per file) for
 * duration x frame rate, limited to --start/--end, while the workers already extract. A video's
 * estimate is replaced by the engine's exact count (its probe) as soon as the video starts. Until
 * every video is sized the overall bar says so (`sizing 3/40`): its ETA only covers the sized ones.
 *
 * For an honest ETA (remaining frames / recent frame rate), only frames the engine actually
 * processed count as done: a finished video counts fully (done = total = its frame count), a
 * skipped one (manifest exists) leaves the total (it costs no time, so it must not raise the rate),
 * and a failed one keeps what it processed before failing and drops the rest from the total.
 *
 * Without a terminal (stderr not a TTY, or $CI set) there are no bars: a folder run prints one line
 * per finished or failed video (`progress: 360/720 frames, 1/2 videos, ETA 0:04`) and a last line
 * with the totals, so logs stay short.
 */
import { spawn } from 'node:child_process';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { resolveFfmpeg, safeInputArgs } from '../engine/ffmpeg.js';
import { parseInputHeader } from '../engine/probe.js';

type State = 'waiting' | 'running' | 'done' | 'skipped' | 'failed';

interface VideoProgress {
  name: string;
  state: State;
  /** From the container header (duration x fps), before the engine knows better. */
  estimate?: number;
  /** The header was read (an estimate found or not). */
  sized?: boolean;
  /** The engine's count (its onProgress total). */
  total?: number;
  done: number;
}

export interface OverallProgress {
  /** Frames processed (finished videos fully, running ones so far, failed ones up to the failure). */
  done: number;
  /** Frames of every video that is not skipped: exact where known, estimated otherwise. */
  total: number;
  videos: number;
  finished: number;
  skipped: number;
  failed: number;
  /** Videos sized: header read, started or ended (the others count 0 in `total` so far). */
  sized: number;
}

/** Where progress goes: terminal bars, log lines, or a test's recorder. */
export interface ProgressView {
  /** A video started (its bar appears). */
  videoStarted(id: number, name: string, total: number): void;
  video(id: number, done: number, total: number): void;
  /** A video ended in any way (its bar goes). */
  videoEnded(id: number, how: 'done' | 'skipped' | 'failed', overall: OverallProgress): void;
  overall(p: OverallProgress): void;
  stop(p: OverallProgress): void;
}

/** The frame accounting of one run (one video or a folder), feeding a {@link ProgressView}. */
export class RunProgress {
  private readonly list: VideoProgress[];
  constructor(names: readonly string[], private readonly view: ProgressView) {
    this.list = names.map((name) => ({ name, state: 'waiting', done: 0 }));
  }

  /** The header estimate of video `i` (undefined: could not be read; the engine's count comes later). */
  estimate(i: number, frames: number | undefined): void {
    const v = this.at(i);
    v.sized = true;
    if (frames === undefined || v.total !== undefined || v.state === 'skipped') return;
    v.estimate = frames;
    this.view.overall(this.overall());
  }

  start(i: number): void {
    const v = this.at(i);
    v.state = 'running';
    this.view.videoStarted(i, v.name, v.total ?? v.estimate ?? 0);
    this.view.overall(this.overall());
  }

  /** The engine's onProgress for video `i`: frames done of its total. */
  update(i: number, done: number, total: number): void {
    const v = this.at(i);
    v.total = total;
    v.done = Math.min(done, total);
    this.view.video(i, v.done, total);
    this.view.overall(this.overall());
  }

  /** Video `i` ended: finished (all its frames done), skipped (not counted) or failed (what it did counts). */
  end(i: number, how: 'done' | 'skipped' | 'failed', frameCount?: number): void {
    const v = this.at(i);
    v.state = how;
    if (how === 'done') {
      v.total = frameCount ?? v.total ?? v.estimate ?? v.done;
      v.done = v.total;
    }
    this.view.videoEnded(i, how, this.overall());
    this.view.overall(this.overall());
  }

  stop(): void {
    this.view.stop(this.overall());
  }

  overall(): OverallProgress {
    const p: OverallProgress = { done: 0, total: 0, videos: this.list.length, finished: 0, skipped: 0, failed: 0, sized: 0 };
    for (const v of this.list) {
      if (v.state === 'skipped') {
        p.skipped++;
        p.sized++;
        continue;
      }
      if (v.state === 'done') p.finished++;
      if (v.state === 'failed') p.failed++;
      const known = v.total ?? v.estimate;
      if (known !== undefined || v.sized || v.state !== 'waiting') p.sized++;
      p.done += v.done;
      p.total += v.state === 'failed' ? v.done : Math.max(known ?? 0, v.done);
    }
    return p;
  }

  private at(i: number): VideoProgress {
    const v = this.list[i];
    if (!v) throw new RangeError(`no video #${i}`);
    return v;
  }
}

const videosLabel = (p: OverallProgress): string =>
  `${p.finished + p.skipped + p.failed}/${p.videos} videos` +
  (p.skipped || p.failed ? ` (${p.skipped} skipped, ${p.failed} failed)` : '') +
  (p.sized < p.videos ? `, sizing ${p.sized}/${p.videos}` : '');

/** cli-progress bars on a terminal: one per running video, plus the overall one for a folder. */
export class BarsView implements ProgressView {
  private readonly bars: MultiBar;
  private readonly total: SingleBar | null;
  private readonly perVideo = new Map<number, SingleBar>();
  constructor(folder: boolean, stream: NodeJS.WritableStream = process.stderr) {
    this.bars = new MultiBar({
      format: '{bar} {value}/{total} frames | ETA {eta_formatted} | {name}', hideCursor: true, clearOnComplete: true,
      stream, etaBuffer: 50, fps: 5,
    }, Presets.shades_classic);
    this.total = folder ? this.bars.create(0, 0, { name: 'all videos' }) : null;
  }
  videoStarted(id: number, name: string, total: number): void {
    this.perVideo.set(id, this.bars.create(Math.max(1, total), 0, { name }));
  }
  video(id: number, done: number, total: number): void {
    const bar = this.perVideo.get(id);
    if (!bar) return;
    bar.setTotal(total);
    bar.update(done);
  }
  videoEnded(id: number): void {
    const bar = this.perVideo.get(id);
    if (bar) this.bars.remove(bar);
    this.perVideo.delete(id);
  }
  overall(p: OverallProgress): void {
    if (!this.total) return;
    this.total.setTotal(p.total);
    this.total.update(p.done, { name: `all: ${videosLabel(p)}` });
  }
  stop(): void {
    this.bars.stop();
  }
}

export const clock = (sec: number): string => {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
};

/**
 * No terminal: a line per finished or failed video with the overall frames and an ETA (frames
 * left at the average rate so far), and one at the end. Nothing per frame.
 */
export class LinesView implements ProgressView {
  private readonly t0 = performance.now();
  constructor(private readonly write: (line: string) => void) {}
  videoStarted(): void {}
  video(): void {}
  overall(): void {}
  videoEnded(_id: number, how: 'done' | 'skipped' | 'failed', p: OverallProgress): void {
    // skipped: the "skip ..." line says it (a resume of a big folder stays short); the last video: stop() says it
    if (how === 'skipped' || p.finished + p.skipped + p.failed === p.videos) return;
    const sec = (performance.now() - this.t0) / 1000;
    const rate = p.done / sec;
    const eta = p.total > p.done && rate > 0 ? `, ETA ${clock((p.total - p.done) / rate)}` : '';
    this.write(`progress: ${p.done}/${p.total} frames, ${videosLabel(p)}${eta}`);
  }
  stop(p: OverallProgress): void {
    this.write(`progress: ${p.done}/${p.total} frames, ${videosLabel(p)} in ${clock((performance.now() - this.t0) / 1000)}`);
  }
}

/** Shows nothing (a single video without a terminal). */
export const SILENT: ProgressView = { videoStarted() {}, video() {}, videoEnded() {}, overall() {}, stop() {} };

/**
 * Frames of `file` in the window, from its container header only (duration x frame rate): the
 * cheap up-front estimate for the overall total. Undefined when the header does not say.
 */
export function estimateFrames(file: string, window: { start?: number; end?: number } = {}, timeoutMs = 10_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    let stderr = '';
    let child;
    try {
      // No output given: ffmpeg prints the input header and exits (code 1, "at least one output").
      child = spawn(resolveFfmpeg(), ['-hide_banner', '-nostdin', ...safeInputArgs(file)], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      resolve(undefined);
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => { if (stderr.length < 65_536) stderr += c; });
    child.on('error', () => { clearTimeout(timer); resolve(undefined); });
    child.on('close', () => {
      clearTimeout(timer);
      const h = parseInputHeader(stderr);
      if (!h.hasVideo || !(h.fps > 0) || !(h.durationSec > 0)) { resolve(undefined); return; }
      const from = Math.min(window.start ?? 0, h.durationSec);
      const until = Math.min(window.end ?? h.durationSec, h.durationSec);
      resolve(Math.max(0, Math.round((until - from) * h.fps)));
    });
  });
}
