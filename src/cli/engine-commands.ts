/** `frames detect` and `frames extract`: thin faces over the engine. */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { detectScenes, type ExtractMode, type ExtractOptions, type ImageFormat } from '../engine/index.js';
import { dropProbesAhead, probeAhead } from '../engine/probe.js';
import { errorMessage } from '../errors.js';
import type { IndexEntry } from '../report/index.js';
import { addExportOptions, exportOptionsProblem, writeExports, type ExportCliOptions } from './export-files.js';
import { DirectorySink } from './directory-sink.js';
import { NameTemplateError, parseNameTemplate } from './frame-names.js';
import type { FrameSink } from './frame-sink.js';
import { BarsView, estimateFrames, LinesView, RunProgress, SILENT } from './progress.js';
import { objectStoreFromEnv, parseS3Url, S3Sink, s3Child } from './s3-sink.js';
import { findVideos, isDirectory, outputNames } from './video-files.js';
import { extractToSink } from './write-frames.js';
import { reportModule } from './report-command.js';

const num = (name: string, { int = false, min = -Infinity } = {}) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min) {
    throw new InvalidArgumentError(`${name} must be ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}`);
  }
  return n;
};

/** Seconds (`90.5`) or HH:MM:SS[.ms] / MM:SS (`01:02:03.250`). */
export const timecode = (name: string) => (v: string): number => {
  const t = v.trim();
  const m = /^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(t);
  const n = m ? Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) : t === '' ? NaN : Number(t);
  if (!Number.isFinite(n) || n < 0 || (m && (Number(m[2]) >= 60 || Number(m[3]) >= 60))) throw new InvalidArgumentError(`${name} must be seconds (e.g. 90.5) or HH:MM:SS[.ms] (got "${v}")`);
  return n;
};

const nameTemplate = (v: string): string => {
  try {
    parseNameTemplate(v);
  } catch (err) {
    if (err instanceof NameTemplateError) throw new InvalidArgumentError(err.message);
    throw err;
  }
  return v;
};

const confidence = (v: string): number => {
  const n = num('--min-confidence', { min: 0 })(v);
  if (n > 1) throw new InvalidArgumentError('--min-confidence must be a number from 0 to 1');
  return n;
};

export function registerEngineCommands(program: Command, io: { out: (s: string) => void; err: (s: string) => void }): void {
  addExportOptions(program
    .command('detect')
    .description('detect scenes in a video and print them (frame numbers are 0-based, in decoded order)')
    .argument('<video>', 'video file')
    .option('--json', 'print one JSON object: {video, scenes, cuts}')
    .option('--threshold <n>', 'content-change threshold, 0-255 scale (PySceneDetect content detector scale)', num('--threshold', { min: 1 }), 27)
    .option('--min-scene-len <sec>', 'minimum scene length in seconds', num('--min-scene-len', { min: 0 }), 0.6)
    .option('--min-confidence <c>', 'leave out boundaries whose confidence (0-1) is below this; their scenes merge', confidence, 0)
    .option('--start <time>', 'from this time (seconds or HH:MM:SS[.ms]); frame numbers stay the whole video\'s', timecode('--start'))
    .option('--end <time>', 'up to this time (exclusive)', timecode('--end')))
    .action(async (video: string, opts: { json?: boolean; threshold: number; minSceneLen: number; minConfidence: number; start?: number; end?: number } & ExportCliOptions) => {
      const problem = exportOptionsProblem(opts) ?? windowProblem(opts);
      if (problem) {
        io.err(`error: ${problem}`);
        process.exitCode = 2;
        return;
      }
      const result = await detectScenes(video, {
        threshold: opts.threshold, minSceneLenSec: opts.minSceneLen, minConfidence: opts.minConfidence,
        ...(opts.start !== undefined ? { start: opts.start } : {}), ...(opts.end !== undefined ? { end: opts.end } : {}),
      });
      // What the decode read through (damage, a size change): on stderr, so stdout stays the data.
      for (const w of result.warnings) io.err(`warning: ${w}`);
      if (opts.export && !opts.out) {
        await writeExports(result, opts, io);
        return;
      }
      for (const f of await writeExports(result, opts, io)) io.err(`wrote ${f}`);
      if (opts.json) {
        const { codec: _c, vfr: _v, ...video } = result.video;
        io.out(JSON.stringify({ video, scenes: result.scenes, cuts: result.cuts }));
        return;
      }
      const v = result.video;
      io.out(`${v.path}: ${v.width}x${v.height}, ${v.durationSec.toFixed(2)} s, ${v.frameCount} frames @ ${v.fps} fps${v.rotation ? `, rotated ${v.rotation}` : ''}`);
      io.out(`${result.scenes.length} scene(s)`);
      for (const s of result.scenes) {
        io.out(`  #${s.index}  frames ${s.startFrame}-${s.endFrame}  ${s.startTime.toFixed(3)}s-${s.endTime.toFixed(3)}s${s.transitionIn ? `  (${s.transitionIn}, confidence ${(s.confidence ?? 0).toFixed(2)})` : ''}`);
      }
    });

  program
    .command('extract')
    .description('extract representative frames of a video, or of every video in a folder, with a manifest.json each')
    .argument('<input>', 'video file or folder of videos')
    .requiredOption('-o, --out <dir>', 'output folder, or s3://bucket/prefix (for a folder input: one sub-folder per video)')
    .addOption(new Option('--mode <mode>', 'scene: frames per scene; interval: one every --interval s; hybrid: both; all: every frame').choices(['scene', 'interval', 'hybrid', 'all']).default('scene'))
    .option('--frames-per-scene <n>', 'frames per scene', num('--frames-per-scene', { int: true, min: 1 }), 1)
    .option('--interval <sec>', 'seconds between frames (interval, hybrid)', num('--interval', { min: 0.04 }), 2)
    .option('--fps <r>', 'frames per second, the same as --interval 1/R (without --mode: interval mode)', num('--fps', { min: 0.000001 }))
    .option('--start <time>', 'from this time (seconds or HH:MM:SS[.ms]); frame numbers stay the whole video\'s', timecode('--start'))
    .option('--end <time>', 'up to this time (exclusive)', timecode('--end'))
    .option('--name <template>', 'frame file names: {index} {scene} {frame} {time}, padded like {frame:06} (default {index})', nameTemplate)
    .option('--min-frames <n>', 'fewer scenes than this: evenly spaced frames instead', num('--min-frames', { int: true, min: 0 }), 3)
    .option('--max-frames <n>', 'at most this many frames (keeps the longest scenes)', num('--max-frames', { int: true, min: 1 }))
    .option('--target-frames <n>', 'aim for about this many frames, spread by scene length', num('--target-frames', { int: true, min: 1 }))
    .option('--threshold <n>', 'content-change threshold (0-255)', num('--threshold', { min: 1 }), 27)
    .option('--min-scene-len <sec>', 'minimum scene length in seconds', num('--min-scene-len', { min: 0 }), 0.6)
    .option('--min-confidence <c>', 'leave out boundaries whose confidence (0-1) is below this; their scenes merge', confidence, 0)
    .addOption(new Option('--format <fmt>', 'image format').choices(['jpeg', 'webp', 'png']).default('jpeg'))
    .option('--quality <q>', 'image quality 1-100 (default: jpeg 85, webp 80)', num('--quality', { int: true, min: 1 }))
    .option('--max-width <px>', 'downscale frames wider than this', num('--max-width', { int: true, min: 16 }))
    .option('--no-dedupe', 'keep near-duplicate frames')
    .option('--force', 'redo videos whose manifest.json already exists')
    .option('--dry-run', 'analyse and report what would be written, write nothing')
    .option('--concurrency <n>', 'videos processed at once (folder input)', num('--concurrency', { int: true, min: 1 }), 1)
    .option('--json', 'print the manifest (single file) or a summary (folder) as JSON')
    .option('--report', 'also write report.html and contact-sheet.jpg per video (and index.html for a folder)')
    .action(async (input: string, opts: ExtractCliOptions, cmd: Command) => {
      const problem = windowProblem(opts) ?? fpsProblem(opts, cmd) ?? (parseS3Url(opts.out) && opts.report ? '--report writes HTML files: not with an s3:// --out' : null);
      if (problem) {
        io.err(`error: ${problem}`);
        process.exitCode = 2;
        return;
      }
      const code = await runExtract(input, opts, io);
      if (code !== 0) process.exitCode = code;
    });
}

function windowProblem(o: { start?: number; end?: number }): string | null {
  return o.start !== undefined && o.end !== undefined && o.end <= o.start ? `--end (${o.end} s) must be after --start (${o.start} s)` : null;
}

/** --fps is --interval 1/R: both at once is a usage error; without --mode it means interval mode. */
function fpsProblem(o: ExtractCliOptions, cmd: Command): string | null {
  if (o.fps === undefined) return null;
  if (cmd.getOptionValueSource('interval') === 'cli') return '--fps and --interval say the same thing: give one';
  if (1 / o.fps < 0.04) return `--fps ${o.fps}: at most 25 frames per second (every frame: --mode all)`;
  o.interval = 1 / o.fps;
  if (cmd.getOptionValueSource('mode') !== 'cli') o.mode = 'interval';
  return null;
}

interface ExtractCliOptions {
  fps?: number;
  start?: number;
  end?: number;
  name?: string;
  out: string;
  mode: ExtractMode;
  framesPerScene: number;
  interval: number;
  minFrames: number;
  maxFrames?: number;
  targetFrames?: number;
  threshold: number;
  minSceneLen: number;
  minConfidence: number;
  format: ImageFormat;
  quality?: number;
  maxWidth?: number;
  dedupe: boolean;
  force?: boolean;
  dryRun?: boolean;
  concurrency: number;
  json?: boolean;
  report?: boolean;
}

async function runExtract(input: string, opts: ExtractCliOptions, io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const base: ExtractOptions = {
    mode: opts.mode, framesPerScene: opts.framesPerScene, interval: opts.interval, minFrames: opts.minFrames,
    threshold: opts.threshold, minSceneLenSec: opts.minSceneLen, minConfidence: opts.minConfidence, format: opts.format, dedupe: opts.dedupe,
    ...(opts.maxFrames !== undefined ? { maxFrames: opts.maxFrames } : {}),
    ...(opts.targetFrames !== undefined ? { targetFrames: opts.targetFrames } : {}),
    ...(opts.quality !== undefined ? { quality: opts.quality } : {}),
    ...(opts.maxWidth !== undefined ? { maxWidth: opts.maxWidth } : {}),
    ...(opts.report ? { traceScores: true } : {}),
    ...(opts.start !== undefined ? { start: opts.start } : {}),
    ...(opts.end !== undefined ? { end: opts.end } : {}),
  };
  const name = opts.name ? parseNameTemplate(opts.name) : undefined;
  let s3: ReturnType<typeof parseS3Url>;
  try {
    s3 = parseS3Url(opts.out);
  } catch (err) {
    io.err(`error: ${errorMessage(err)}`);
    return 2;
  }
  const store = s3 ? objectStoreFromEnv() : null;
  const reports: IndexEntry[] = [];
  const folder = await isDirectory(input);
  const videos = folder ? await findVideos(input) : [input];
  if (folder && videos.length === 0) {
    io.err(`error: no video files found in ${input}`);
    return 1;
  }
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  // Progress in frames (src/cli/progress.ts): bars on a terminal; without one, a line per video of a folder.
  const progress = new RunProgress(videos.map((v) => path.basename(v)), tty ? new BarsView(folder) : folder ? new LinesView(io.err) : SILENT);
  const summary = { processed: 0, skipped: 0, failed: 0, frames: 0 };
  const failures: Array<{ video: string; error: string }> = [];
  const names = folder ? outputNames(videos, input) : null;
  const sinkFor = (video: string): FrameSink => {
    const rel = names?.get(video) ?? '';
    if (s3 && store) return new S3Sink(store, s3Child(s3, rel), { onRetry: (m) => { if (!tty) io.err(`warning: ${m}`); } });
    return new DirectorySink(rel ? path.join(opts.out, rel) : opts.out);
  };
  // SIGINT / SIGTERM: stop the running ffmpeg(s), let each video abandon what it wrote (no manifest:
  // a resume redoes it), start no new video, and print what finished.
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stop.signal.aborted) return;
    io.err(`\n${sig}: stopping; finished videos are kept, the others will be redone by a resume`);
    stop.abort(new Error(`interrupted (${sig})`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const unfinished: string[] = [];
  let finished = false;
  // The overall total grows as the background pass reads each video's header (see progress.ts).
  const windowed = opts.start !== undefined || opts.end !== undefined;
  const sizing = folder ? (async () => {
    for (const [i, video] of videos.entries()) {
      if (stop.signal.aborted || finished) return;
      progress.estimate(i, await estimateFrames(video, { ...(opts.start !== undefined ? { start: opts.start } : {}), ...(opts.end !== undefined ? { end: opts.end } : {}) }));
    }
  })() : Promise.resolve();
  let nextIdx = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = nextIdx++;
      if (i >= videos.length) return;
      const video = videos[i] as string;
      if (stop.signal.aborted) { unfinished.push(video); continue; }
      const sink = sinkFor(video);
      const dir = sink.location;
      if (!opts.force && !opts.dryRun && await sink.isComplete().catch(() => false)) {
        summary.skipped++;
        if (opts.report && folder) reports.push(await (await reportModule()).indexEntryOf(video, dir, opts.out));
        if (!tty && folder) io.err(`skip ${video} (manifest exists; --force to redo)`);
        progress.end(i, 'skipped');
        continue;
      }
      progress.start(i);
      // The next video's probe runs while this one decodes: it is then ready when a worker takes
      // it, instead of a serial ffmpeg start-up and demux (about 0.17 s) before every video.
      const upcoming = videos[nextIdx];
      if (folder && upcoming !== undefined && !stop.signal.aborted) probeAhead(upcoming);
      let ended = false;
      try {
        const { manifest, result } = await extractToSink(video, sink, {
          ...base, signal: stop.signal,
          onProgress: (_f, fr) => progress.update(i, fr.done, fr.total),
        }, { dryRun: opts.dryRun === true, ...(name ? { name } : {}) });
        // all of the video's frames are done: the whole video's count, or (--start/--end) the
        // window's the engine last reported
        progress.end(i, 'done', windowed ? undefined : result.video.frameCount);
        ended = true;
        if (opts.report && !opts.dryRun) {
          const { relativeHref, writeReport } = await reportModule();
          const { html, entry } = await writeReport(dir, manifest, result.scoreTrace, video);
          reports.push({ video, href: folder ? relativeHref(opts.out, html) : html, ...entry });
        }
        summary.processed++;
        summary.frames += manifest.frames.length;
        for (const w of manifest.warnings) io.err(`warning: ${video}: ${w}`);
        if (!folder && opts.json) io.out(JSON.stringify(manifest, null, 2));
        else if (opts.dryRun) io.out(`${video}: ${manifest.scenes.length} scenes, would write ${manifest.frames.length} frames to ${dir}${manifest.fallbackUsed ? ' (evenly spaced fallback)' : ''}`);
        else io.out(`${video}: ${manifest.scenes.length} scenes, ${manifest.frames.length} frames -> ${dir}${manifest.fallbackUsed ? ' (evenly spaced fallback)' : ''}`);
      } catch (err) {
        if (stop.signal.aborted) {
          unfinished.push(video);
        } else {
          summary.failed++;
          failures.push({ video, error: errorMessage(err) });
          io.err(`error: ${video}: ${errorMessage(err)}`);
        }
      } finally {
        if (!ended) progress.end(i, 'failed');
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, videos.length) }, worker));
    finished = true; // every video has ended: what is still to size no longer matters
    await sizing;
  } finally {
    dropProbesAhead();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  progress.stop();
  if (stop.signal.aborted) {
    if (folder && opts.json) io.out(JSON.stringify({ ...summary, interrupted: true, unfinished, failures }, null, 2));
    else io.out(`interrupted: ${summary.processed} processed, ${summary.skipped} skipped, ${summary.failed} failed, ${unfinished.length} not finished${unfinished.length ? ` (${unfinished.join(', ')})` : ''}, ${summary.frames} frames`);
    return 130;
  }
  if (folder && opts.report && !opts.dryRun) await (await reportModule()).writeIndex(opts.out, `Scene reports: ${path.basename(path.resolve(input))}`, reports.sort((a, b) => a.video.localeCompare(b.video)));
  if (folder) {
    if (opts.json) io.out(JSON.stringify({ ...summary, failures }, null, 2));
    else io.out(`done: ${summary.processed} processed, ${summary.skipped} skipped, ${summary.failed} failed, ${summary.frames} frames`);
  }
  return summary.failed > 0 ? 1 : 0;
}
