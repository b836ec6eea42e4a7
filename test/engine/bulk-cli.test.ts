/**
 * The CLI for bulk runs: --name templates (frame-names.ts), --fps, distinct output folders for
 * videos with the same base name (also with --concurrency 2), an interrupted folder run, and the
 * progress in frames (progress.ts: the accounting, and the lines a folder run prints without a TTY).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NameTemplateError, parseNameTemplate } from '../../src/cli/frame-names.js';
import { estimateFrames, RunProgress, type OverallProgress, type ProgressView } from '../../src/cli/progress.js';
import { outputNames } from '../../src/cli/video-files.js';
import type { Manifest } from '../../src/engine/index.js';
import { exec, ff, makeTmp, removeTmp, repoRoot } from './helpers.js';

const BIN = path.join(repoRoot, 'bin/frames.js');
const frames = (...args: string[]) => exec(process.execPath, [BIN, ...args]);
let tmp: string;
let clip: string;

beforeAll(async () => {
  tmp = await makeTmp('bulk-cli');
  clip = path.join(tmp, 'clip.mp4');
  await ff(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=30', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  const r = await exec(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  if (r.code !== 0) throw new Error(`build failed: ${r.stdout.toString()}`);
}, 120_000);
afterAll(() => removeTmp(tmp));

describe('--name templates', () => {
  it('fills and pads the fields, adds the extension', () => {
    const name = parseNameTemplate('scene{scene:04}_frame{frame:06}_t{time}s');
    expect(name({ index: 3, scene: 12, frame: 451, time: 15.0333, ext: 'jpg' })).toBe('scene0012_frame000451_t15.033s.jpg');
    expect(parseNameTemplate('{index}')({ index: 7, scene: 0, frame: 9, time: 0, ext: 'png' })).toBe('7.png');
  });

  it.each([
    ['x{scene}', /needs \{index\} or \{frame\}/],
    ['a/{index}', /path separator/],
    ['..{index}', /may not contain "\.\."/],
    ['{index}{size}', /unknown placeholder \{size\}/],
    ['{index', /unmatched/],
    ['', /is empty/],
    ['.{index}', /may not start with "\."/],
  ])('refuses %j', (t, why) => {
    expect(() => parseNameTemplate(t)).toThrow(NameTemplateError);
    expect(() => parseNameTemplate(t)).toThrow(why);
  });
});

describe('output folders for same-named videos', () => {
  it('keeps the extension only where stems clash, stable and distinct', () => {
    const m = outputNames(['/in/clip.mp4', '/in/clip.webm', '/in/other.mp4', '/in/sub/clip.mp4'], '/in');
    expect([...m.values()].sort()).toEqual(['clip.mp4', 'clip.webm', 'other', path.join('sub', 'clip')].sort());
  });

  it.each([['1'], ['2']])('clip.mp4 and clip.mkv both get their frames (--concurrency %s), named by --name, listed in the manifest', async (conc) => {
    // Prepare
    const lib = path.join(tmp, `same-${conc}`);
    await mkdir(lib, { recursive: true });
    await copyFile(clip, path.join(lib, 'clip.mp4'));
    await ff(['-i', clip, '-c', 'copy', path.join(lib, 'clip.mkv')]);
    const out = path.join(tmp, `same-out-${conc}`);

    // Act
    const r = await frames('extract', lib, '-o', out, '--fps', '1', '--name', 'f{frame:05}', '--concurrency', conc);

    // Assert
    expect(r.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['clip.mkv', 'clip.mp4']);
    for (const d of ['clip.mkv', 'clip.mp4']) {
      const m = JSON.parse(await readFile(path.join(out, d, 'manifest.json'), 'utf8')) as Manifest;
      expect(m.frames.length).toBe(6);
      expect(m.settings.mode).toBe('interval');
      for (const f of m.frames) {
        expect(f.file).toBe(`f${String(f.frame).padStart(5, '0')}.jpg`);
        expect(existsSync(path.join(out, d, f.file))).toBe(true);
      }
    }
    // A resume finds both finished.
    const again = await frames('extract', lib, '-o', out, '--fps', '1', '--name', 'f{frame:05}');
    expect(again.stdout.toString()).toMatch(/0 processed, 2 skipped/);
  });

  it('--fps with --interval, --end before --start: usage errors (exit 2)', async () => {
    const a = await frames('extract', clip, '-o', path.join(tmp, 'x'), '--fps', '2', '--interval', '1');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--fps and --interval/);
    const b = await frames('detect', clip, '--start', '00:00:04', '--end', '3');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--end \(3 s\) must be after --start \(4 s\)/);
  });
});

describe('probes started ahead (src/cli/probe-ahead.ts, the folder loop)', () => {
  /** A run through an ffmpeg that logs its arguments: the probes are its `-f framecrc` runs. */
  async function probesOf(...args: string[]): Promise<{ code: number | null; probes: string[] }> {
    const log = path.join(tmp, `ff-${Math.random().toString(36).slice(2)}.log`);
    const wrapper = path.join(tmp, 'ffmpeg-logged.sh');
    const real = (await exec('sh', ['-c', 'command -v ffmpeg'])).stdout.toString().trim();
    await writeFile(wrapper, `#!/bin/sh\necho "$*" >> "$FF_LOG"\nexec ${real} "$@"\n`, { mode: 0o755 });
    const r = await exec(process.execPath, [BIN, ...args], { env: { ...process.env, FFMPEG_PATH: wrapper, FF_LOG: log } });
    const lines = existsSync(log) ? (await readFile(log, 'utf8')).split('\n') : [];
    return { code: r.code, probes: lines.filter((l) => l.includes('-c copy -f framecrc')) };
  }

  it('a single video and every video of a folder are probed once: the probe started ahead is the one used', async () => {
    const one = await probesOf('extract', clip, '-o', path.join(tmp, 'ahead-one'), '--fps', '1');
    expect(one.code).toBe(0);
    expect(one.probes).toHaveLength(1);

    const lib = path.join(tmp, 'ahead-lib');
    await mkdir(lib, { recursive: true });
    for (const n of ['a', 'b', 'c']) await copyFile(clip, path.join(lib, `${n}.mp4`));
    const all = await probesOf('extract', lib, '-o', path.join(tmp, 'ahead-lib-out'), '--fps', '1');
    expect(all.code).toBe(0);
    expect(all.probes).toHaveLength(3);
    for (const n of ['a', 'b', 'c']) expect(all.probes.filter((l) => l.includes(`${n}.mp4`))).toHaveLength(1);
  });
});

describe('warnings on stderr', () => {
  it('extract and detect print the result\'s warnings, stdout unchanged; a clean video prints none', async () => {
    // Prepare: 1080p (the candidate memory holds 8 a scene) and a stream whose size changes.
    const big = path.join(tmp, 'big.mp4');
    await ff(['-f', 'lavfi', '-i', 'testsrc2=s=1920x1080:r=30', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', big]);
    const parts = ['160x120', '320x240'].map((s) => path.join(tmp, `part-${s}.ts`));
    for (const [i, s] of ['160x120', '320x240'].entries()) await ff(['-f', 'lavfi', '-i', `testsrc2=s=${s}:r=30`, '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', parts[i] as string]);
    const resized = path.join(tmp, 'resized.ts');
    await writeFile(resized, Buffer.concat(await Promise.all(parts.map((p) => readFile(p)))));

    // Act
    const ex = await frames('extract', big, '-o', path.join(tmp, 'warn-big'), '--frames-per-scene', '10');
    const det = await frames('detect', resized, '--json');
    const clean = await frames('detect', clip, '--json');

    // Assert
    expect(ex.code).toBe(0);
    expect(ex.stderr).toMatch(new RegExp(`warning: ${big.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: --frames-per-scene 10: at 1920x1080 .* holds 8`));
    expect(det.code).toBe(0);
    expect(det.stderr).toMatch(/warning: the picture size changes mid-stream \(160x120 at the start, then 320x240 from frame 60\)/);
    expect(() => JSON.parse(det.stdout.toString()) as unknown).not.toThrow();
    expect(clean.stderr).not.toMatch(/warning:/);
  }, 120_000);
});

describe('an interrupted folder run', () => {
  // Frames under spool names, written by the encoder itself (ExtractOptions.spool): PNG by sharp, JPEG by ffmpeg.
  it.each(['png', 'jpeg'])('SIGINT (--mode all, %s): prints the summary, exits 130, leaves no unfinished folder with a manifest, nothing staged', async (format) => {
    // Prepare
    const lib = path.join(tmp, `many-${format}`);
    await mkdir(lib, { recursive: true });
    for (const n of ['a', 'b', 'c', 'd']) await copyFile(clip, path.join(lib, `${n}.mp4`));
    const out = path.join(tmp, `many-out-${format}`);

    // Act
    const child = spawn(process.execPath, [BIN, 'extract', lib, '-o', out, '--mode', 'all', '--format', format], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    // Once the first video is done, interrupt the second.
    await new Promise<void>((r) => { const t = setInterval(() => { if (stdout.includes('->')) { clearInterval(t); r(); } }, 20); });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));

    // Assert
    expect(code).toBe(130);
    expect(stdout).toMatch(/interrupted: \d+ processed, 0 skipped, 0 failed, \d+ not finished/);
    const done = stdout.split('\n').filter((l) => l.includes('->')).map((l) => path.basename(l.split(':')[0] as string, '.mp4'));
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(done.length).toBeLessThan(4);
    for (const n of ['a', 'b', 'c', 'd']) {
      const dir = path.join(out, n);
      expect(existsSync(path.join(dir, 'manifest.json'))).toBe(done.includes(n));
      if (existsSync(dir)) expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
    }
  });
});

/** A view that keeps what reached it. */
function recorder(): ProgressView & { overalls: OverallProgress[]; videos: Array<[number, number, number]>; started: Array<[number, string, number]> } {
  const r = {
    overalls: [] as OverallProgress[], videos: [] as Array<[number, number, number]>, started: [] as Array<[number, string, number]>,
    videoStarted: (id: number, name: string, total: number) => { r.started.push([id, name, total]); },
    video: (id: number, done: number, total: number) => { r.videos.push([id, done, total]); },
    videoEnded: () => undefined,
    overall: (p: OverallProgress) => { r.overalls.push(p); },
    stop: (p: OverallProgress) => { r.overalls.push(p); },
  };
  return r;
}

describe('progress in frames', () => {
  it('the overall bar counts frames: estimates until a video starts, the engine\'s count after; skipped leave the total, failed keep what they did', () => {
    // Prepare
    const view = recorder();
    const p = new RunProgress(['a', 'b', 'c', 'd'], view);

    // Act + Assert
    p.estimate(0, 300);
    p.estimate(1, 500);
    p.estimate(2, 200);
    expect(p.overall()).toMatchObject({ done: 0, total: 1000, sized: 3, videos: 4 });
    p.start(0);
    expect(view.started.at(-1)).toEqual([0, 'a', 300]);
    p.update(0, 100, 310); // the engine's exact count replaces the estimate
    expect(view.videos.at(-1)).toEqual([0, 100, 310]);
    expect(view.overalls.at(-1)).toMatchObject({ done: 100, total: 1010 });
    p.end(0, 'done', 310);
    expect(p.overall()).toMatchObject({ done: 310, total: 1010, finished: 1 });
    p.end(1, 'skipped'); // costs no time: out of the total, so it cannot inflate the rate
    expect(p.overall()).toMatchObject({ done: 310, total: 510, skipped: 1 });
    p.start(2);
    p.update(2, 50, 200);
    p.end(2, 'failed'); // the 50 it decoded stay done, the other 150 leave the total
    expect(p.overall()).toMatchObject({ done: 360, total: 360, failed: 1, sized: 3 });
    p.estimate(3, undefined); // unreadable header: sized, counts 0 until the engine says
    p.start(3);
    p.update(3, 10, 40);
    p.end(3, 'done'); // without a count: the engine's last total
    p.stop();
    expect(view.overalls.at(-1)).toEqual({ done: 400, total: 400, videos: 4, finished: 2, skipped: 1, failed: 1, sized: 4 });
  });

  it('estimateFrames: duration x fps from the header, limited to the window; undefined for a non-video', async () => {
    expect(await estimateFrames(clip)).toBe(180);
    expect(await estimateFrames(clip, { start: 1, end: 3 })).toBe(60);
    expect(await estimateFrames(clip, { start: 5, end: 60 })).toBe(30);
    const junk = path.join(tmp, 'junk.mp4');
    await writeFile(junk, 'not a video');
    expect(await estimateFrames(junk)).toBeUndefined();
  });

  it('a folder run without a TTY prints the overall frames after each video and at the end (also on a resume and with a window)', async () => {
    // Prepare: two 6 s 30 fps clips (180 frames each) and one file that is no video
    const lib = path.join(tmp, 'progress');
    await mkdir(lib, { recursive: true });
    await copyFile(clip, path.join(lib, 'a.mp4'));
    await copyFile(clip, path.join(lib, 'b.mp4'));
    await writeFile(path.join(lib, 'z.mp4'), 'not a video');
    const out = path.join(tmp, 'progress-out');

    // Act
    const r = await frames('extract', lib, '-o', out, '--fps', '1');
    const again = await frames('extract', lib, '-o', out, '--fps', '1');
    const windowed = await frames('extract', lib, '-o', path.join(tmp, 'progress-window'), '--fps', '1', '--start', '1', '--end', '3');

    // Assert: frames, not videos (a bar of videos would say 1/3, 2/3, 3/3)
    const lines = (s: string | Buffer): string[] => s.toString().split('\n').filter((l) => l.startsWith('progress: '));
    expect(r.code).toBe(1);
    const first = lines(r.stderr);
    expect(first).toHaveLength(3);
    // (the header of z.mp4, which counts 0 frames, may still be unread: "sizing 2/3")
    expect(first[0]).toMatch(/^progress: 180\/360 frames, 1\/3 videos(, sizing 2\/3)?(, ETA \d+:\d\d)?$/);
    expect(first[1]).toMatch(/^progress: 360\/360 frames, 2\/3 videos(, sizing 2\/3)?$/);
    expect(first[2]).toMatch(/^progress: 360\/360 frames, 3\/3 videos \(0 skipped, 1 failed\) in \d+:\d\d$/);
    expect(lines(again.stderr)).toEqual([expect.stringMatching(/^progress: 0\/0 frames, 3\/3 videos \(2 skipped, 1 failed\) in /)]);
    expect(lines(windowed.stderr).at(-1)).toMatch(/^progress: 120\/120 frames, 3\/3 videos \(0 skipped, 1 failed\) in /);
  });
});
