/**
 * Bulk bench: `npm run bench -- bulk` (issue 11 items 1, 2 and 5). `-- bulk --quick` or
 * BENCH_FILM=0 leaves the film out; BENCH_FILM=only runs the film alone.
 *
 * 1. Speed and memory, on generated H.264 bench videos (test/fixtures/synth.ts `benchVideo`, libx264
 *    medium, a cut every 2-5 s; the 40 s and 60 s ones are the 20 s ones stream-copied two and three
 *    times, so they differ only in length), N interleaved rounds ($BENCH_RUNS, default 3; the order rotates each round so
 *    every command shares the machine's noise), each run sampled every 20 ms for the summed RSS of
 *    its process tree (node and every ffmpeg). Per command: median wall s, ratio to its ffmpeg
 *    reference (medians, same rounds), CPU s (user + sys of the tree, from the same runs under bash
 *    `times`, median), peak tree RSS (the highest of the runs). Targets:
 *      --mode all (JPEG) on 720p30        wall <= 1.2 x `ffmpeg -i v -an -q:v 3 out/%05d.jpg`
 *      --mode interval --interval 2       wall <= 1.1 x `ffmpeg -i v -an -vf fps=1/2 -q:v 3 out/%05d.jpg`
 *    both judged on the 60 s clip, the length the issue measured (`--mode all` on "a 60 s 1280x720
 *    30 fps H.264 clip"), and on a 3-minute one (the issue is about long videos; BENCH_LONG=0
 *    leaves it out); the 20 s ratios are printed too, and the marginal ratio
 *    ((t60 - t20) / (ref60 - ref20): throughput once running, without what every run pays once).
 *      --mode all, 720p and 1080p         peak tree RSS <= 300 MB, and 40 s within 15% of 20 s
 *      default (scene) mode               peak at 720p <= peak at 1080p
 * 2. The film (test/fixtures/film.ts: 20 min 1920x1080 24 fps, ~220 hard cuts, generated once and
 *    cached: the first time takes 10-20 minutes), once each:
 *      frames extract film --mode hybrid --frames-per-scene 10 --interval 2
 *      frames extract film --mode all --start 600 --end 660
 *    checked against the generator's truth: --mode all writes exactly frames 14400..15839 (600 s x 24
 *    .. 660 s x 24 - 1), each with time = frame / 24 and a scene number that changes exactly at the
 *    truth's cuts; hybrid finds the truth's scenes (same first frames), every truth scene has frames
 *    (but those the manifest's duplicateScenes names, each of which must nearly repeat an earlier shot
 *    by the generator: the same lavfi source, at most REPEAT_MAX_HUE degrees of hue apart),
 *    and every frame lies inside the truth scene of the scene the manifest gives it. Memory is flat
 *    when the peak tree RSS of the last third of the run (by time) is at most 15% above the peak of
 *    the first third; and the peak is <= 300 MB.
 * Exits non-zero when any target misses. The CLI runs from dist/ (built first when stale).
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Manifest } from '../../src/engine/index.js';
import { FILM_FPS, FILM_SEED, filmShotLook, filmVideo, truthScenes } from '../fixtures/film.js';
import { benchVideo, ffmpegBin, type SynthClip } from '../fixtures/synth.js';
import { CLI, cliReady, fail, fmt, median, runTimed, table, type Timed } from './util.js';

export const ALL_WALL_TARGET = 1.2;
export const INTERVAL_WALL_TARGET = 1.1;
export const PEAK_TARGET_MB = 300;
export const FLATNESS = 0.15;
const INTERVAL = 2;
const MB = 1024 * 1024;
/**
 * How far in hue (degrees) a film shot may be from an earlier shot of the same source for dedupe to
 * call it a repeat: shots 8k apart share a seedless source 16k degrees of hue apart (mod 360).
 */
const REPEAT_MAX_HUE = 16;

interface Command {
  key: string;
  label: string;
  /** argv of the command, writing into `out` (a fresh folder per run). */
  argv: (out: string) => [string, string[]];
  video: SynthClip;
}

const ff = (video: SynthClip, vf: string[]) => (out: string): [string, string[]] =>
  [ffmpegBin(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', video.path, '-an', ...vf, '-q:v', '3', path.join(out, '%05d.jpg')]];
const ours = (video: SynthClip, args: string[]) => (out: string): [string, string[]] =>
  [process.execPath, [CLI, 'extract', video.path, '--out', out, ...args]];

/**
 * One run under bash, sampled for memory, with bash's `times` for the CPU seconds (user + sys) of
 * every process it waited for: node's ffmpeg children included, which Node does not report. Bash
 * itself (about 4 MB) is in the sampled tree for every command alike.
 */
async function runMeasured(bin: string, args: string[], timeline = false): Promise<Timed & { cpu: number }> {
  const script = '"$@" >/dev/null; rc=$?; times; exit $rc';
  const r = await runTimed('bash', ['-c', script, 'bash', bin, ...args], { sampleRss: true, pss: false, timeline, keepStdout: true });
  // `times` prints the shell's own usage, then its children's: "0m3.870s 0m0.520s".
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(r.stdout.trim());
  const cpu = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
  return { ...r, cpu };
}

interface Measured {
  times: number[];
  /** The memory sampler's own time per second of run (ms/s: thousandths of one core). */
  samplerLoad: number[];
  peaks: number[];
  cpus: number[];
  failures: string[];
}

export async function run(): Promise<void> {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS) || 3);
  const film = process.env.BENCH_QUICK ? '0' : (process.env.BENCH_FILM ?? '1');
  console.log(`== bulk (--mode all / interval against ffmpeg, memory at two lengths, ${film === '0' ? 'no film' : 'the 20 min film'}; ${runs} interleaved runs each)`);
  if (!(await cliReady())) return;
  const outRoot = await mkdtemp(path.join(os.tmpdir(), 'frames-bulk-'));
  try {
    const verdicts: Array<[string, boolean]> = [];
    if (film !== 'only') verdicts.push(...await speedAndMemory(runs, outRoot));
    if (film !== '0') verdicts.push(...await filmRuns(outRoot));
    console.log('');
    for (const [what, ok] of verdicts) console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}`);
    const ok = verdicts.every(([, v]) => v);
    console.log(`\nbulk: ${ok ? 'PASS' : 'FAIL'}`);
    if (!ok) fail();
  } finally {
    await rm(outRoot, { recursive: true, force: true });
  }
}

async function speedAndMemory(runs: number, outRoot: string): Promise<Array<[string, boolean]>> {
  console.log('generating / reusing the bench videos (720p30 20, 40, 60 s and 3 min, 1080p30 20 and 40 s; first time: a few minutes) ...');
  const v720 = await benchVideo(20, 1280, 720, { segSeconds: 20 });
  const v720x2 = await benchVideo(40, 1280, 720, { segSeconds: 20 });
  const v720x3 = await benchVideo(60, 1280, 720, { segSeconds: 20 });
  // The 20 s clip nine times over: a long video, where the fixed start-up weighs least.
  const long = process.env.BENCH_LONG !== '0';
  const v720x9 = long ? await benchVideo(180, 1280, 720, { segSeconds: 20 }) : undefined;
  const v1080 = await benchVideo(20, 1920, 1080, { segSeconds: 20 });
  const v1080x2 = await benchVideo(40, 1920, 1080, { segSeconds: 20 });
  // The same JPEG settings as the reference: quality 92 is ffmpeg's qscale 3 (jpegQscale), and
  // `--mode all` JPEG is encoded by ffmpeg's own encoder, so both write the same bytes.
  const ALL = ['--mode', 'all', '--quality', '92'];
  const commands: Command[] = [
    { key: 'ff-all', label: 'ffmpeg -i v -an -q:v 3 out/%05d.jpg (720p 20 s)', argv: ff(v720, []), video: v720 },
    { key: 'all-720', label: 'frames extract v --mode all --quality 92 (720p 20 s)', argv: ours(v720, ALL), video: v720 },
    { key: 'ff-int', label: `ffmpeg -i v -an -vf fps=1/${INTERVAL} -q:v 3 out/%05d.jpg (720p 20 s)`, argv: ff(v720, ['-vf', `fps=1/${INTERVAL}`]), video: v720 },
    { key: 'int-720', label: `frames extract v --mode interval --interval ${INTERVAL} (720p 20 s)`, argv: ours(v720, ['--mode', 'interval', '--interval', String(INTERVAL)]), video: v720 },
    { key: 'ff-all-60', label: 'ffmpeg -i v -an -q:v 3 out/%05d.jpg (720p 60 s)', argv: ff(v720x3, []), video: v720x3 },
    { key: 'all-720x3', label: 'frames extract v --mode all --quality 92 (720p 60 s)', argv: ours(v720x3, ALL), video: v720x3 },
    { key: 'ff-int-60', label: `ffmpeg -i v -an -vf fps=1/${INTERVAL} -q:v 3 out/%05d.jpg (720p 60 s)`, argv: ff(v720x3, ['-vf', `fps=1/${INTERVAL}`]), video: v720x3 },
    { key: 'int-720x3', label: `frames extract v --mode interval --interval ${INTERVAL} (720p 60 s)`, argv: ours(v720x3, ['--mode', 'interval', '--interval', String(INTERVAL)]), video: v720x3 },
    ...(v720x9 ? [
      { key: 'ff-all-180', label: 'ffmpeg -i v -an -q:v 3 out/%05d.jpg (720p 3 min)', argv: ff(v720x9, []), video: v720x9 },
      { key: 'all-720x9', label: 'frames extract v --mode all --quality 92 (720p 3 min)', argv: ours(v720x9, ALL), video: v720x9 },
      { key: 'ff-int-180', label: `ffmpeg -i v -an -vf fps=1/${INTERVAL} -q:v 3 out/%05d.jpg (720p 3 min)`, argv: ff(v720x9, ['-vf', `fps=1/${INTERVAL}`]), video: v720x9 },
      { key: 'int-720x9', label: `frames extract v --mode interval --interval ${INTERVAL} (720p 3 min)`, argv: ours(v720x9, ['--mode', 'interval', '--interval', String(INTERVAL)]), video: v720x9 },
    ] : []),
    { key: 'all-720x2', label: 'frames extract v --mode all --quality 92 (720p 40 s)', argv: ours(v720x2, ALL), video: v720x2 },
    { key: 'all-1080', label: 'frames extract v --mode all --quality 92 (1080p 20 s)', argv: ours(v1080, ALL), video: v1080 },
    { key: 'all-1080x2', label: 'frames extract v --mode all --quality 92 (1080p 40 s)', argv: ours(v1080x2, ALL), video: v1080x2 },
    { key: 'scene-720', label: 'frames extract v (scene mode, 720p 20 s)', argv: ours(v720, []), video: v720 },
    { key: 'scene-1080', label: 'frames extract v (scene mode, 1080p 20 s)', argv: ours(v1080, []), video: v1080 },
  ];
  const m = new Map<string, Measured>(commands.map((c) => [c.key, { times: [], samplerLoad: [], peaks: [], cpus: [], failures: [] }]));
  const get = (k: string): Measured => m.get(k) as Measured;
  const once = async (c: Command, tag: string): Promise<Timed & { cpu: number }> => {
    const out = path.join(outRoot, `${c.key}-${tag}`);
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const [bin, args] = c.argv(out);
    const r = await runMeasured(bin, args);
    await rm(out, { recursive: true, force: true });
    if (r.code !== 0) get(c.key).failures.push(`${tag} exited ${r.code}: ${r.stderr.split('\n').slice(-4).join(' | ')}`);
    return r;
  };
  console.log('warm-up (page cache) ...');
  for (const v of [v720, v720x2, v720x3, v1080, v1080x2, ...(v720x9 ? [v720x9] : [])]) await runTimed(ffmpegBin(), ['-v', 'error', '-i', v.path, '-c', 'copy', '-f', 'null', '-']);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < commands.length; k++) {
      const c = commands[(i + k) % commands.length] as Command;
      const r = await once(c, `run${i}`);
      get(c.key).times.push(r.ms);
      get(c.key).peaks.push((r.peakRss ?? 0) / MB);
      get(c.key).cpus.push(r.cpu);
      get(c.key).samplerLoad.push(((r.samplerMs ?? 0) / r.ms) * 1000);
      console.log(`  round ${i + 1}: ${c.label.padEnd(72)} ${fmt(r.ms / 1000, 2).padStart(7)} s  ${fmt((r.peakRss ?? 0) / MB, 0).padStart(5)} MB${r.code !== 0 ? '  (FAILED)' : ''}`);
    }
  }

  const wall = (k: string): number => median(get(k).times) / 1000;
  const peak = (k: string): number => Math.max(...get(k).peaks);
  const ratio = (k: string, ref: string): number => wall(k) / wall(ref);
  const allRatio = ratio('all-720x3', 'ff-all-60');
  const intRatio = ratio('int-720x3', 'ff-int-60');
  // Two lengths of the same video: what the 40 s more cost against ffmpeg (throughput once
  // running, without the start-up and the tail that every run pays once).
  const more = (k: string): number => wall(`${k}x3`) - wall(k);
  const moreRef = (ref: string): number => wall(`${ref}-60`) - wall(ref);
  const lengths = (k: string, ref: string): string =>
    `20 s: ${fmt(ratio(k, ref), 2)}x; the 40 s more take ${fmt(more(k), 2)} s against ffmpeg's ${fmt(moreRef(ref), 2)} s, marginal ${fmt(more(k) / moreRef(ref), 2)}x`;
  const flat720 = peak('all-720x2') / peak('all-720');
  const flat1080 = peak('all-1080x2') / peak('all-1080');
  const verdicts: Array<[string, boolean]> = [
    [`--mode all wall ${fmt(allRatio, 2)}x ffmpeg's JPEG dump on 60 s of 720p30 (target <= ${ALL_WALL_TARGET}; ${lengths('all-720', 'ff-all')})`, allRatio <= ALL_WALL_TARGET],
    [`--mode interval --interval ${INTERVAL} wall ${fmt(intRatio, 2)}x ffmpeg fps=1/${INTERVAL} on 60 s of 720p30 (target <= ${INTERVAL_WALL_TARGET}; ${lengths('int-720', 'ff-int')})`, intRatio <= INTERVAL_WALL_TARGET],
    ...(v720x9 ? [
      [`--mode all wall ${fmt(ratio('all-720x9', 'ff-all-180'), 2)}x ffmpeg's JPEG dump on 3 min of 720p30 (target <= ${ALL_WALL_TARGET})`, ratio('all-720x9', 'ff-all-180') <= ALL_WALL_TARGET] as [string, boolean],
      [`--mode interval --interval ${INTERVAL} wall ${fmt(ratio('int-720x9', 'ff-int-180'), 2)}x ffmpeg fps=1/${INTERVAL} on 3 min of 720p30 (target <= ${INTERVAL_WALL_TARGET})`, ratio('int-720x9', 'ff-int-180') <= INTERVAL_WALL_TARGET] as [string, boolean],
    ] : []),
    ...(['all-720', 'all-720x2', 'all-1080', 'all-1080x2'] as const).map((k): [string, boolean] =>
      [`--mode all peak tree RSS ${fmt(peak(k), 0)} MB, ${(commands.find((c) => c.key === k) as Command).label.replace(/.*\(/, '(')} (target <= ${PEAK_TARGET_MB})`, peak(k) <= PEAK_TARGET_MB]),
    [`--mode all flat in length at 720p: 40 s / 20 s peak ${fmt(flat720, 3)} (target within 1 +- ${FLATNESS})`, Math.abs(flat720 - 1) <= FLATNESS],
    [`--mode all flat in length at 1080p: 40 s / 20 s peak ${fmt(flat1080, 3)} (target within 1 +- ${FLATNESS})`, Math.abs(flat1080 - 1) <= FLATNESS],
    [`scene mode peak at 720p ${fmt(peak('scene-720'), 0)} MB <= at 1080p ${fmt(peak('scene-1080'), 0)} MB`, peak('scene-720') <= peak('scene-1080')],
  ];
  const failures = commands.flatMap((c) => get(c.key).failures.map((f) => `${c.label}: ${f}`));
  if (failures.length) {
    console.log(`the CLI failed:\n  ${failures.join('\n  ')}`);
    verdicts.push(['every run exited 0', false]);
  }
  const refOf: Record<string, string> = { 'all-720': 'ff-all', 'int-720': 'ff-int', 'all-720x3': 'ff-all-60', 'int-720x3': 'ff-int-60', 'all-720x9': 'ff-all-180', 'int-720x9': 'ff-int-180' };
  // The verdicts are on the 60 s and 3 min clips; the 20 s rows show the ratio where start-up weighs most.
  const targetOf: Record<string, string> = {
    'all-720x3': `<= ${ALL_WALL_TARGET}`, 'int-720x3': `<= ${INTERVAL_WALL_TARGET}`, 'all-720x9': `<= ${ALL_WALL_TARGET}`, 'int-720x9': `<= ${INTERVAL_WALL_TARGET}`,
  };
  const rows: Array<Array<string | number>> = [['command', 'frames', 'wall s', 'runs (s)', 'ratio', 'target', 'result', 'CPU s', 'peak RSS MB', 'RSS target', 'result']];
  for (const c of commands) {
    const ref = refOf[c.key];
    const r = ref ? ratio(c.key, ref) : NaN;
    const isOurs = !c.key.startsWith('ff-');
    const rssTarget = c.key.startsWith('all-') ? PEAK_TARGET_MB : NaN;
    rows.push([
      c.label, c.video.truth.frameCount, fmt(wall(c.key), 2), get(c.key).times.map((t) => fmt(t / 1000, 1)).join(' '),
      ref ? fmt(r, 2) : isOurs ? '' : '1.00', targetOf[c.key] ?? (ref ? '(info)' : ''), targetOf[c.key] ? (r <= Number((targetOf[c.key] as string).slice(3)) ? 'PASS' : 'FAIL') : '',
      fmt(median(get(c.key).cpus), 1), fmt(peak(c.key), 0), Number.isFinite(rssTarget) ? `<= ${rssTarget}` : '', Number.isFinite(rssTarget) ? (peak(c.key) <= rssTarget ? 'PASS' : 'FAIL') : '',
    ]);
  }
  console.log('\n' + table(rows));
  console.log(`(wall s: median of ${runs}; ratio: against the ffmpeg command above it, medians of the same rounds; CPU s: user + sys of the whole tree, median; peak RSS: summed over node and every ffmpeg, highest of the runs. ${os.availableParallelism()} cores.)`);
  // The sampler shares the cores with the command it measures: its cost must stay small beside a
  // command that keeps both busy (the full /proc scan it replaced took about a sixth of a core).
  const load = commands.flatMap((c) => get(c.key).samplerLoad);
  console.log(`(memory sampler, every 20 ms beside each run: median ${fmt(median(load) / 10, 2)}% of one core, highest ${fmt(Math.max(...load) / 10, 2)}%)`);
  return verdicts;
}

/** Peak RSS of the first and the last third of a run (by time) and whether the last stays within FLATNESS above the first. */
function flatness(timeline: Array<[number, number]>): { first: number; last: number; ok: boolean } {
  const end = timeline.at(-1)?.[0] ?? 0;
  const peakIn = (a: number, b: number): number => Math.max(0, ...timeline.filter(([t]) => t >= a && t < b).map(([, r]) => r / MB));
  const first = peakIn(0, end / 3);
  const last = peakIn((2 * end) / 3, end + 1);
  return { first, last, ok: first > 0 && last <= first * (1 + FLATNESS) };
}

/** Peak RSS (MB) of each tenth of a run's time. */
function tenths(timeline: Array<[number, number]>): number[] {
  const end = (timeline.at(-1)?.[0] ?? 0) + 1;
  const out = new Array<number>(10).fill(0);
  for (const [t, r] of timeline) {
    const i = Math.min(9, Math.floor((t / end) * 10));
    out[i] = Math.max(out[i] ?? 0, r / MB);
  }
  return out;
}

async function filmRuns(outRoot: string): Promise<Array<[string, boolean]>> {
  console.log('\ngenerating / reusing the film (20 min 1920x1080 24 fps; first time: 10-20 minutes) ...');
  const t0 = performance.now();
  const film = await filmVideo({ log: (l) => console.log(`  ${l}`) });
  const genSec = (performance.now() - t0) / 1000;
  const size = (await stat(film.path)).size;
  const scenes = truthScenes(film.truth);
  console.log(`film: ${film.path} (${film.truth.frameCount} frames, ${scenes.length} shots, ${fmt(size / MB, 0)} MB${genSec > 5 ? `, generated in ${fmt(genSec, 0)} s` : ', cached'})`);
  const verdicts: Array<[string, boolean]> = [];
  const rows: Array<Array<string | number>> = [['film run', 'wall s', 'CPU s', 'peak RSS MB', 'first third MB', 'last third MB', 'frames', 'scenes', 'at the RSS peak (MB)']];
  const partsOf = (r: Timed): string => (r.peakParts ?? []).filter((p) => p.comm !== 'bash').map((p) => `${p.comm} ${fmt(p.rss / MB, 0)}`).join(', ');
  const sceneOfFrame = (f: number): number => {
    let lo = 0;
    let hi = scenes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((scenes[mid] as [number, number])[0] <= f) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  for (const kind of ['hybrid', 'all'] as const) {
    const out = path.join(outRoot, `film-${kind}`);
    const args = kind === 'hybrid'
      ? ['--mode', 'hybrid', '--frames-per-scene', '10', '--interval', '2']
      : ['--mode', 'all', '--start', '600', '--end', '660'];
    const label = `frames extract film ${args.join(' ')}`;
    process.stdout.write(`  ${label} ...`);
    const r = await runMeasured(process.execPath, [CLI, 'extract', film.path, '--out', out, ...args], true);
    process.stdout.write(` ${fmt(r.ms / 1000, 1)} s\n`);
    const flat = flatness(r.rssTimeline ?? []);
    console.log(`    tree RSS over the run (MB, peak of each tenth): ${tenths(r.rssTimeline ?? []).map((x) => fmt(x, 0)).join(' ')}`);
    const peak = (r.peakRss ?? 0) / MB;
    verdicts.push([`film ${kind}: exits 0`, r.code === 0]);
    if (r.code !== 0) {
      console.log(`  exited ${r.code}: ${r.stderr.split('\n').slice(-5).join(' | ')}`);
      rows.push([label, fmt(r.ms / 1000, 1), '', fmt(peak, 0), fmt(flat.first, 0), fmt(flat.last, 0), '', '', partsOf(r)]);
      continue;
    }
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
    await rm(out, { recursive: true, force: true });
    rows.push([label, fmt(r.ms / 1000, 1), fmt(r.cpu, 1), fmt(peak, 0), fmt(flat.first, 0), fmt(flat.last, 0), manifest.frames.length, manifest.scenes.length, partsOf(r)]);
    verdicts.push([`film ${kind}: peak tree RSS ${fmt(peak, 0)} MB (target <= ${PEAK_TARGET_MB})`, peak <= PEAK_TARGET_MB]);
    verdicts.push([`film ${kind}: flat memory, last third's peak ${fmt(flat.last, 0)} MB vs first third's ${fmt(flat.first, 0)} MB (at most +${FLATNESS * 100}%)`, flat.ok]);
    const byIndex = new Map(manifest.scenes.map((s) => [s.index, s]));
    const problems: string[] = [];
    const note = (p: string): void => { if (problems.length < 8) problems.push(p); else if (problems.length === 8) problems.push('...'); };
    if (kind === 'all') {
      const first = 600 * FILM_FPS;
      const last = 660 * FILM_FPS - 1;
      const got = manifest.frames.map((f) => f.frame);
      const exact = got.length === last - first + 1 && got.every((f, i) => f === first + i);
      if (!exact) note(`frames ${got[0]}..${got.at(-1)} (${got.length}), expected exactly ${first}..${last} (${last - first + 1})`);
      for (const f of manifest.frames) {
        if (Math.abs(f.time - f.frame / FILM_FPS) > 0.5 / FILM_FPS) note(`frame ${f.frame} at ${f.time} s, expected ${fmt(f.frame / FILM_FPS, 3)}`);
        const s = byIndex.get(f.scene);
        if (!s || f.frame < s.startFrame || f.frame > s.endFrame) note(`frame ${f.frame}: its scene ${f.scene} does not contain it`);
      }
      // the scene number changes exactly where the truth has a cut
      for (let i = 1; i < manifest.frames.length; i++) {
        const a = manifest.frames[i - 1] as (typeof manifest.frames)[number];
        const b = manifest.frames[i] as (typeof manifest.frames)[number];
        const truthCut = sceneOfFrame(a.frame) !== sceneOfFrame(b.frame);
        if (truthCut !== (a.scene !== b.scene)) note(`frames ${a.frame} -> ${b.frame}: scene ${a.scene} -> ${b.scene}, truth ${truthCut ? 'cuts' : 'does not cut'} here`);
      }
      const cutsIn = scenes.filter(([s]) => s > first && s <= last).length;
      verdicts.push([`film all --start 600 --end 660: exactly frames ${first}..${last} with times and scenes matching the truth (${cutsIn} cuts in the window)${problems.length ? `: ${problems.join('; ')}` : ''}`, problems.length === 0]);
    } else {
      const perTruth = new Array<number>(scenes.length).fill(0);
      for (const f of manifest.frames) {
        const s = byIndex.get(f.scene);
        const t = sceneOfFrame(f.frame);
        perTruth[t] = (perTruth[t] ?? 0) + 1;
        if (!s) { note(`frame ${f.frame}: no scene ${f.scene} in the manifest`); continue; }
        const ts = sceneOfFrame(s.startFrame);
        const [a, b] = scenes[ts] as [number, number];
        if (s.startFrame !== a) note(`scene ${s.index} starts at ${s.startFrame}, the truth scene there at ${a}`);
        if (f.frame < a || f.frame > b) note(`frame ${f.frame} (scene ${f.scene}) is outside truth scene ${ts} [${a}, ${b}]`);
      }
      // A truth scene may go without frames only where the manifest says dedupe found it a repeat
      // of an earlier scene, and the generator agrees: the film's sources come back every 8 shots at
      // another hue, so some late shots nearly repeat early ones (8 or 16 degrees of hue apart).
      const dupTruth = new Set((manifest.duplicateScenes ?? []).flatMap((d) => { const s = byIndex.get(d.scene); return s ? [sceneOfFrame(s.startFrame)] : []; }));
      const hueGap = (a: number, b: number): number => Math.min(Math.abs(a - b), 360 - Math.abs(a - b));
      for (const t of dupTruth) {
        const look = filmShotLook(FILM_SEED, t);
        const nearest = Math.min(...Array.from({ length: t }, (_, j) => filmShotLook(FILM_SEED, j)).filter((l) => l.source === look.source).map((l) => hueGap(l.hue, look.hue)));
        if (!(nearest <= REPEAT_MAX_HUE)) note(`truth shot ${t} was dropped as a near-duplicate, but no earlier shot has its source within ${REPEAT_MAX_HUE} degrees of hue (nearest ${Number.isFinite(nearest) ? `${nearest} degrees` : 'none'})`);
      }
      const empty = perTruth.flatMap((n, i) => (n === 0 && !dupTruth.has(i) ? [i] : []));
      if (empty.length) note(`truth scenes without frames: ${empty.slice(0, 10).join(', ')}${empty.length > 10 ? ` (${empty.length})` : ''}`);
      if (manifest.scenes.length !== scenes.length) note(`${manifest.scenes.length} scenes found, the truth has ${scenes.length}`);
      const ten = perTruth.filter((n) => n >= 10).length;
      verdicts.push([`film hybrid: ${manifest.scenes.length}/${scenes.length} scenes, every truth scene has frames but ${dupTruth.size} shot(s) named in duplicateScenes, each a near-repeat of an earlier shot by the generator (${ten} have 10 or more frames), every frame inside its scene's truth range${problems.length ? `: ${problems.join('; ')}` : ''}`, problems.length === 0]);
    }
  }
  console.log('\n' + table(rows));
  console.log(`(peak RSS: summed over the tree, sampled every 20 ms; first / last third: the peak over the first / last third of the run's time, sampled every ~200 ms. CPU s: user + sys of the tree, bash \`times\`.)`);
  return verdicts;
}
