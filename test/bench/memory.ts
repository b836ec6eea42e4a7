/**
 * Memory bench: `npm run bench -- memory`.
 *
 * Runs `node bin/frames.js extract v --out <tmp>` (default settings) on 1080p H.264 bench videos of
 * 1 min and 5 min, sampling /proc every 20 ms for the summed RSS of the whole process tree (node and
 * every ffmpeg it starts). Targets: peak <= 300 MB, and flat in length: 5 min within 15% of 1 min.
 * The 5 min video is the 1 min one stream-copied five times, so the two differ only in length.
 * The targets apply to summed RSS, which counts pages shared between processes (libc, ffmpeg's
 * libraries) once per process: an upper bound. Summed PSS (shared pages split among their users)
 * and the per-process split at the peak are printed alongside.
 * A 720p minute runs too, for information only (no target): at 720p and below extract decodes in
 * two parallel ffmpeg processes and holds a chunk decoded ahead, so it can need more than 1080p.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchVideo } from '../fixtures/synth.js';
import { CLI, cliReady, fail, fmt, runTimed, table } from './util.js';

export const PEAK_TARGET_MB = 300;
export const FLATNESS = 0.15;

const MB = 1024 * 1024;

export async function run(): Promise<void> {
  console.log(`== memory (frames extract on 1080p H.264, 1 min vs 5 min; targets peak tree RSS <= ${PEAK_TARGET_MB} MB, 5 min within ${FLATNESS * 100}% of 1 min)`);
  if (!(await cliReady())) return;
  console.log('generating / reusing the 1080p bench videos (first time: a few minutes) ...');
  const oneMin = await benchVideo(60, 1920, 1080);
  const fiveMin = await benchVideo(300, 1920, 1080);
  const small = await benchVideo(60, 1280, 720);
  const outRoot = await mkdtemp(path.join(os.tmpdir(), 'frames-memory-'));
  const rows: Array<Array<string | number>> = [['video', 'frames', 'wall s', 'peak RSS MB', 'peak PSS MB', 'samples', 'exit', 'at the RSS peak (MB)']];
  const peaks: number[] = [];
  let crashed = false;
  try {
    for (const [label, v] of [['1080p 1 min', oneMin], ['1080p 5 min', fiveMin], ['720p 1 min (no target)', small]] as const) {
      const out = path.join(outRoot, label.replace(/\W+/g, '-'));
      process.stdout.write(`  ${label}: running frames extract ...`);
      const r = await runTimed(process.execPath, [CLI, 'extract', v.path, '--out', out], { sampleRss: true });
      process.stdout.write(` ${fmt(r.ms / 1000, 1)} s\n`);
      if (r.code !== 0) {
        crashed = true;
        console.log(`  exited ${r.code}: ${r.stderr.split('\n').slice(-5).join(' | ')}`);
      }
      const peak = (r.peakRss ?? 0) / MB;
      if (label.startsWith('1080p')) peaks.push(peak);
      const parts = (r.peakParts ?? []).map((p) => `${p.comm} ${fmt(p.rss / MB, 0)}`).join(', ');
      rows.push([label, v.truth.frameCount, fmt(r.ms / 1000, 1), fmt(peak, 1), fmt((r.peakPss ?? 0) / MB, 1), r.rssSamples ?? 0, r.code ?? 'signal', parts]);
      await rm(out, { recursive: true, force: true });
    }
  } finally {
    await rm(outRoot, { recursive: true, force: true });
  }
  const [p1 = 0, p5 = 0] = peaks;
  const ratio = p1 > 0 ? p5 / p1 : NaN;
  const passPeak = Math.max(p1, p5) <= PEAK_TARGET_MB;
  const passFlat = Math.abs(ratio - 1) <= FLATNESS;
  console.log('\n' + table(rows));
  console.log(`peak ${fmt(Math.max(p1, p5), 1)} MB (target <= ${PEAK_TARGET_MB}): ${passPeak ? 'PASS' : 'FAIL'}`);
  console.log(`5 min / 1 min peak ratio ${fmt(ratio, 3)} (target within 1 +- ${FLATNESS}): ${passFlat ? 'PASS' : 'FAIL'}`);
  const ok = passPeak && passFlat && !crashed;
  console.log(`\nmemory: ${ok ? 'PASS' : 'FAIL'}${crashed ? ' (the CLI failed)' : ''}`);
  if (!ok) fail();
}
