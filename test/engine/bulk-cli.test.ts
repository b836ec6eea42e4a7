/**
 * The CLI for bulk runs: --name templates (frame-names.ts), --fps, distinct output folders for
 * videos with the same base name (also with --concurrency 2), and an interrupted folder run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { NameTemplateError, parseNameTemplate } from '../../src/cli/frame-names.js';
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

describe('an interrupted folder run', () => {
  it('SIGINT: prints the summary, exits 130, leaves no unfinished folder with a manifest', async () => {
    // Prepare
    const lib = path.join(tmp, 'many');
    await mkdir(lib, { recursive: true });
    for (const n of ['a', 'b', 'c', 'd']) await copyFile(clip, path.join(lib, `${n}.mp4`));
    const out = path.join(tmp, 'many-out');

    // Act
    const child = spawn(process.execPath, [BIN, 'extract', lib, '-o', out, '--mode', 'all', '--format', 'png'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
      if (existsSync(dir)) expect((await readdir(dir)).filter((f) => f.endsWith('.part'))).toEqual([]);
    }
  });
});
