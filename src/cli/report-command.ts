/**
 * `frames report VIDEO|FOLDER --out DIR` and the report half of `frames extract --report`: extract
 * with the score trace on, then write report.html and contact-sheet.jpg beside the frames, and for
 * a folder an index.html at the top of DIR.
 */
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { ExtractOptions } from '../engine/index.js';
import { errorMessage } from '../errors.js';
import type { IndexEntry } from '../report/index.js';
import { findVideos, isDirectory, outputDirFor } from './video-files.js';
import { extractToDirectory } from './write-frames.js';

type Io = { out: (s: string) => void; err: (s: string) => void };

/** A number option parser: finite, above `min` (or at least it, with `orEqual`), an integer if asked. */
const num = (name: string, o: { int?: boolean; min: number; orEqual?: boolean }) => (v: string): number => {
  const n = Number(v);
  const low = o.orEqual ? n >= o.min : n > o.min;
  if (v.trim() === '' || !Number.isFinite(n) || !low || (o.int && !Number.isInteger(n))) {
    throw new InvalidArgumentError(`${name} must be ${o.int ? 'an integer' : 'a number'} ${o.orEqual ? '>=' : '>'} ${o.min}`);
  }
  return n;
};

/** One video's report after its extraction into `dir`; the index entry for it. */
export async function reportVideo(video: string, dir: string, options: ExtractOptions, indexDir: string | null): Promise<IndexEntry> {
  const { manifest, result } = await extractToDirectory(video, dir, { ...options, traceScores: true });
  const { relativeHref, writeReport } = await reportModule();
  const { html, entry } = await writeReport(dir, manifest, result.scoreTrace, video);
  return { video, href: indexDir ? relativeHref(indexDir, html) : html, ...entry };
}

/**
 * The report module, loaded when a report is written: it loads sharp, whose native library takes
 * about 160 ms to load, and every other command (detect above all) would pay that at start-up.
 */
export const reportModule = (): Promise<typeof import('../report/index.js')> => import('../report/index.js');

export function registerReportCommand(program: Command, io: Io): void {
  program
    .command('report')
    .description('extract a video\'s (or every video\'s in a folder) frames and write a self-contained HTML report and a contact sheet each; a folder also gets index.html')
    .argument('<input>', 'video file or folder of videos')
    .requiredOption('-o, --out <dir>', 'output folder (frames, manifest.json, report.html, contact-sheet.jpg; one sub-folder per video for a folder)')
    .option('--threshold <n>', 'content-change threshold (0-255)', num('--threshold', { min: 1, orEqual: true }), 27)
    .option('--min-scene-len <sec>', 'minimum scene length in seconds', num('--min-scene-len', { min: 0, orEqual: true }), 0.6)
    .option('--frames-per-scene <n>', 'frames per scene', num('--frames-per-scene', { int: true, min: 1, orEqual: true }), 1)
    .action(async (input: string, opts: { out: string; threshold: number; minSceneLen: number; framesPerScene: number }) => {
      const options: ExtractOptions = { threshold: opts.threshold, minSceneLenSec: opts.minSceneLen, framesPerScene: opts.framesPerScene };
      const folder = await isDirectory(input);
      const videos = folder ? await findVideos(input) : [input];
      if (folder && videos.length === 0) {
        io.err(`error: no video files found in ${input}`);
        process.exitCode = 1;
        return;
      }
      const entries: IndexEntry[] = [];
      for (const video of videos) {
        const dir = outputDirFor(video, folder ? input : null, opts.out);
        try {
          const e = await reportVideo(video, dir, options, folder ? opts.out : null);
          entries.push(e);
          io.out(`${video}: ${e.scenes} scenes, ${e.frames} frames -> ${path.join(dir, 'report.html')}`);
        } catch (err) {
          if (!folder) throw err;
          entries.push({ video, href: null, error: errorMessage(err) });
          io.err(`error: ${video}: ${errorMessage(err)}`);
          process.exitCode = 1;
        }
      }
      if (folder) io.out(`index: ${await (await reportModule()).writeIndex(opts.out, `Scene reports: ${path.basename(path.resolve(input))}`, entries)}`);
    });
}
