/**
 * Speed bench: `npm run bench -- speed`.
 *
 * On a generated 60 s 1280x720 30 fps H.264 video with B-frames (libx264 preset medium), runs
 * interleaved (so the three share the machine's noise) N times each ($BENCH_RUNS, default 5):
 *   plain decode   ffmpeg -i v -an -f null -
 *   detect         node bin/frames.js detect v --json
 *   extract        node bin/frames.js extract v --out <tmp>      (default settings)
 * and compares medians: detect <= 0.7x and extract <= 0.8x of the plain decode's wall time.
 * Then one more run of each under bash's `times` gives the CPU seconds of its whole process tree,
 * and with them the lowest wall time the machine's cores allow for that work (CPU / cores): a
 * ratio target under that floor needs less work, not better scheduling.
 * The CLI runs from dist/: the bench compiles it first when dist/ is missing or stale.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scoreCuts, type TruthEntry } from '../fixtures/score.js';
import { benchVideo, ffmpegBin } from '../fixtures/synth.js';
import { CLI, cpuSeconds, cliReady, fail, fmt, median, runTimed, table, type Timed } from './util.js';

export const DETECT_TARGET = 0.7;
export const EXTRACT_TARGET = 0.8;

/** Describes the cuts in the CLI's --json output (top-level `cuts`) against the video's truth. */
function describeCuts(stdout: string, truth: TruthEntry[]): string {
  try {
    const j = JSON.parse(stdout) as { cuts?: unknown };
    if (Array.isArray(j.cuts) && j.cuts.every((c) => typeof c === 'number')) {
      const s = scoreCuts(j.cuts as number[], truth);
      return `detect found ${j.cuts.length} cuts, the video has ${truth.length}: F1 ${fmt(s.f1)} (fp ${s.fp}, fn ${s.fn}); found ${JSON.stringify(j.cuts)}, truth ${JSON.stringify(truth)}`;
    }
  } catch {
    // not JSON: fall through
  }
  return 'detect --json printed no readable `cuts` array';
}

async function countFiles(dir: string): Promise<number> {
  try {
    return (await readdir(dir, { recursive: true })).length;
  } catch {
    return 0;
  }
}

export async function run(): Promise<void> {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS) || 5);
  console.log(`== speed (60 s 1280x720 H.264 with B-frames; ${runs} interleaved runs each; targets detect <= ${DETECT_TARGET}x, extract <= ${EXTRACT_TARGET}x of plain decode)`);
  if (!(await cliReady())) return;
  console.log('generating / reusing the bench video (first time: about a minute) ...');
  const video = await benchVideo(60, 1280, 720);
  console.log(`video: ${video.path} (${video.truth.frameCount} frames, ${video.truth.cuts.length} cuts)`);

  const node = process.execPath;
  const outRoot = await mkdtemp(path.join(os.tmpdir(), 'frames-speed-'));
  type Kind = 'decode' | 'detect' | 'extract';
  const times: Record<Kind, number[]> = { decode: [], detect: [], extract: [] };
  const cpu: Record<Kind, number> = { decode: NaN, detect: NaN, extract: NaN };
  const cpuCores = os.availableParallelism();
  const failures: string[] = [];
  /** The command line of each kind, the one place they are written. */
  const command = (kind: Kind, out: string): [string, string[]] =>
    kind === 'decode' ? [ffmpegBin(), ['-hide_banner', '-nostdin', '-v', 'error', '-i', video.path, '-an', '-f', 'null', '-']]
      : kind === 'detect' ? [node, [CLI, 'detect', video.path, '--json']]
        : [node, [CLI, 'extract', video.path, '--out', out]];
  const once = async (kind: Kind, i: number): Promise<void> => {
    const out = path.join(outRoot, `run${i}`);
    const [bin, args] = command(kind, out);
    const r: Timed = await runTimed(bin, args, { keepStdout: kind === 'detect' });
    if (i === 0 && r.code === 0 && kind === 'detect') console.log(`    (${describeCuts(r.stdout, video.truth.cuts)})`);
    if (i === 0 && r.code === 0 && kind === 'extract') console.log(`    (extract wrote ${await countFiles(out)} files)`);
    if (kind === 'extract') await rm(out, { recursive: true, force: true });
    if (r.code !== 0) failures.push(`${kind} run ${i} exited ${r.code}: ${r.stderr.split('\n').slice(-5).join(' | ')}`);
    times[kind].push(r.ms);
    process.stdout.write(`  ${kind.padEnd(7)} run ${i + 1}: ${fmt(r.ms / 1000, 2)} s${r.code !== 0 ? ' (FAILED)' : ''}\n`);
  };
  const kinds: Kind[] = ['decode', 'detect', 'extract'];
  try {
    // one untimed warm-up of each (page cache, JIT of node startup), then rotate the order every round
    console.log('warm-up ...');
    await runTimed(...command('decode', ''));
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < kinds.length; k++) await once(kinds[(i + k) % kinds.length] as Kind, i);
    }
    console.log('CPU of each (one more run each, whole process tree) ...');
    for (const k of kinds) {
      const c = await cpuSeconds(...command(k, path.join(outRoot, 'cpu')));
      if (c.code !== 0) failures.push(`${k} (CPU run) exited ${c.code}`);
      cpu[k] = c.user + c.sys;
    }
  } finally {
    await rm(outRoot, { recursive: true, force: true });
  }
  if (failures.length) {
    console.log(`FAIL: the CLI failed:\n  ${failures.join('\n  ')}`);
    fail();
    return;
  }
  const dec = median(times.decode);
  const det = median(times.detect);
  const ext = median(times.extract);
  const rd = det / dec;
  const re = ext / dec;
  const floor = (c: number): string => fmt(c / cpuCores / (dec / 1000), 2);
  const passD = rd <= DETECT_TARGET;
  const passE = re <= EXTRACT_TARGET;
  console.log(
    '\n' +
      table([
        ['command', 'median s', 'runs (s)', 'ratio', 'target', 'result', 'CPU s', 'floor'],
        ['ffmpeg -i v -an -f null -', fmt(dec / 1000, 2), times.decode.map((t) => fmt(t / 1000, 2)).join(' '), '1.00', '', '', fmt(cpu.decode, 2), floor(cpu.decode)],
        ['frames detect v --json', fmt(det / 1000, 2), times.detect.map((t) => fmt(t / 1000, 2)).join(' '), fmt(rd, 2), `<= ${DETECT_TARGET}`, passD ? 'PASS' : 'FAIL', fmt(cpu.detect, 2), floor(cpu.detect)],
        ['frames extract v --out d', fmt(ext / 1000, 2), times.extract.map((t) => fmt(t / 1000, 2)).join(' '), fmt(re, 2), `<= ${EXTRACT_TARGET}`, passE ? 'PASS' : 'FAIL', fmt(cpu.extract, 2), floor(cpu.extract)],
      ]),
  );
  console.log(`(CPU s: user + system of the whole process tree, one run. floor: CPU / ${cpuCores} cores, as a ratio of the plain decode's median wall time: no schedule on this machine beats it.)`);
  console.log(`\nspeed: ${passD && passE ? 'PASS' : 'FAIL'}`);
  if (!passD || !passE) fail();
}
