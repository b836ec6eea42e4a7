/**
 * The `frames` CLI: detect --json contract, folder extraction with resume / --force / --dry-run,
 * a corrupt video in a folder, option validation, --help. Extraction runs are spawned
 * (`node bin/frames.js`, the real launcher over dist/); detect and validation also run in-process.
 */
import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import type { Manifest } from '../../src/engine/index.js';
import { concatClip, exec, FPS, makeTmp, removeTmp, repoRoot, shot } from './helpers.js';

const BIN = path.join(repoRoot, 'bin/frames.js');
const frames = (...args: string[]) => exec(process.execPath, [BIN, ...args]);

let tmp: string;
let twoShots: string;
let cuts: number[] = [];

async function ensureBuilt(): Promise<void> {
  // bin/frames.js runs dist/: rebuild when any source is newer than the compiled CLI.
  const built = path.join(repoRoot, 'dist/src/cli/main.js');
  const newest = async (dir: string): Promise<number> => {
    let m = 0;
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      m = Math.max(m, e.isDirectory() ? await newest(p) : statSync(p).mtimeMs);
    }
    return m;
  };
  if (!existsSync(built) || (await newest(path.join(repoRoot, 'src'))) > statSync(built).mtimeMs) {
    const r = await exec(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
    if (r.code !== 0) throw new Error(`build failed: ${r.stdout.toString()} ${r.stderr}`);
  }
}

beforeAll(async () => {
  tmp = await makeTmp('cli');
  twoShots = path.join(tmp, 'two-shots.mp4');
  await Promise.all([
    ensureBuilt(),
    concatClip(twoShots, [shot('testsrc2=s=160x120:r=30', 1.2), shot('mandelbrot=s=160x120:r=30:maxiter=100', 1)]).then((c) => { cuts = c; }),
  ]);
  const lib = path.join(tmp, 'lib');
  await mkdir(path.join(lib, 'sub'), { recursive: true });
  await copyFile(twoShots, path.join(lib, 'a.mp4'));
  await copyFile(twoShots, path.join(lib, 'sub', 'b.mov'));
  await writeFile(path.join(lib, 'notes.txt'), 'not a video');
  const bad = path.join(tmp, 'with-corrupt');
  await mkdir(bad);
  await copyFile(twoShots, path.join(bad, 'good.mp4'));
  await writeFile(path.join(bad, 'bad.mp4'), 'garbage, not a video\n'.repeat(50));
}, 60_000);

afterAll(() => removeTmp(tmp));
afterEach(() => { process.exitCode = undefined; });

describe('frames detect --json', () => {
  it('prints exactly one JSON object with the contract shape', async () => {
    // Prepare
    const out: string[] = [];
    const err: string[] = [];
    // Act
    const code = await main(['node', 'frames', 'detect', twoShots, '--json'], { out: (s) => out.push(s), err: (s) => err.push(s) });
    // Assess
    expect([code, err]).toEqual([0, []]);
    expect(out).toHaveLength(1);
    const r = JSON.parse(out[0] as string) as { video: Record<string, unknown>; scenes: Array<Record<string, unknown>>; cuts: number[] };
    expect(Object.keys(r).sort()).toEqual(['cuts', 'scenes', 'video']);
    expect(Object.keys(r.video).sort()).toEqual(['durationSec', 'fps', 'frameCount', 'height', 'path', 'rotation', 'width']);
    expect(r.video).toMatchObject({ width: 160, height: 120, rotation: 0, frameCount: Math.round(2.2 * FPS) });
    expect(r.scenes).toHaveLength(2);
    expect(r.scenes[0]?.transitionIn).toBeNull();
    expect(r.scenes[1]?.transitionIn).toBe('cut');
    expect(r.cuts).toEqual(r.scenes.slice(1).map((s) => s.startFrame));
    expect(Math.abs((r.cuts[0] as number) - (cuts[0] as number))).toBeLessThanOrEqual(1);
    for (const s of r.scenes) expect(Object.keys(s).sort()).toEqual(['confidence', 'endFrame', 'endTime', 'index', 'startFrame', 'startTime', 'transitionIn']);
  });

  it('spawned: stdout is one parseable JSON line', async () => {
    // Act
    const r = await frames('detect', twoShots, '--json');
    // Assess
    expect(r.code).toBe(0);
    const lines = r.stdout.toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect((JSON.parse(lines[0] as string) as { cuts: number[] }).cuts).toHaveLength(1);
  });
});

describe('frames extract FOLDER', () => {
  const lib = () => path.join(tmp, 'lib');
  const out = () => path.join(tmp, 'out');
  const mtimes = async (dir: string): Promise<Record<string, number>> => {
    const m: Record<string, number> = {};
    for (const sub of ['a', path.join('sub', 'b')]) {
      for (const f of await readdir(path.join(dir, sub))) m[path.join(sub, f)] = (await stat(path.join(dir, sub, f))).mtimeMs;
    }
    return m;
  };

  it('processes every video into its own sub-folder with manifest.json and frames', async () => {
    // Act
    const r = await frames('extract', lib(), '--out', out());
    // Assess
    // stderr (not a TTY here) carries only the progress lines of a folder run
    const other = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('progress: '));
    expect({ code: r.code, other }).toEqual({ code: 0, other: [] });
    expect(r.stderr).toMatch(/^progress: \d+\/\d+ frames, 2\/2 videos in \d+:\d\d$/m);
    for (const sub of ['a', path.join('sub', 'b')]) {
      const dir = path.join(out(), sub);
      const m = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
      expect(m.frames.length).toBeGreaterThanOrEqual(1);
      expect((await readdir(dir)).sort()).toEqual(['manifest.json', ...m.frames.map((f) => f.file)].sort());
      for (const f of m.frames) expect((await stat(path.join(dir, f.file))).size).toBe(f.bytes);
    }
    expect(existsSync(path.join(out(), 'notes'))).toBe(false);
    expect(r.stdout.toString()).toMatch(/done: 2 processed, 0 skipped, 0 failed/);
  });

  it('a second run skips them (files untouched); --force redoes them', async () => {
    // Prepare: age the outputs so a rewrite is visible in mtimes.
    for (const [f] of Object.entries(await mtimes(out()))) await utimes(path.join(out(), f), new Date(1e12), new Date(1e12));
    const before = await mtimes(out());
    // Act
    const again = await frames('extract', lib(), '--out', out());
    const afterAgain = await mtimes(out());
    const forced = await frames('extract', lib(), '--out', out(), '--force');
    const afterForce = await mtimes(out());
    // Assess
    expect(again.code).toBe(0);
    expect(again.stdout.toString()).toMatch(/0 processed, 2 skipped/);
    expect(afterAgain).toEqual(before);
    expect(forced.code).toBe(0);
    expect(forced.stdout.toString()).toMatch(/2 processed, 0 skipped/);
    for (const [f, t] of Object.entries(afterForce)) expect({ f, rewritten: t > (before[f] ?? Infinity) }).toEqual({ f, rewritten: true });
  });

  it('--dry-run writes nothing', async () => {
    // Act
    const dry = path.join(tmp, 'dry');
    const r = await frames('extract', lib(), '--out', dry, '--dry-run');
    // Assess
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/would write \d+ frames/);
    expect(existsSync(dry)).toBe(false);
  });

  it('a folder with one corrupt video exits non-zero but completes the others', async () => {
    // Act
    const dest = path.join(tmp, 'out-corrupt');
    const r = await frames('extract', path.join(tmp, 'with-corrupt'), '--out', dest);
    // Assess
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.mp4.*not a (readable )?video/);
    expect(existsSync(path.join(dest, 'good', 'manifest.json'))).toBe(true);
    expect(existsSync(path.join(dest, 'bad', 'manifest.json'))).toBe(false);
    expect(r.stdout.toString()).toMatch(/1 processed, 0 skipped, 1 failed/);
  });
});

describe('options and help', () => {
  it.each([
    [['--quality', '0'], /--quality/],
    [['--mode', 'foo'], /--mode|foo/],
    [['--frames-per-scene', '1.5'], /--frames-per-scene/],
  ])('extract %p exits 2 with a message', async (bad, msg) => {
    // Act
    const spawned = await frames('extract', twoShots, '--out', path.join(tmp, 'never'), ...bad);
    const inProcess = await main(['node', 'frames', 'extract', twoShots, '--out', path.join(tmp, 'never'), ...bad], { out: () => undefined, err: () => undefined });
    // Assess
    expect(spawned.code).toBe(2);
    expect(spawned.stderr).toMatch(msg);
    expect(inProcess).toBe(2);
    expect(existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it('--quality 101 is refused (validation reaches the engine: one message, exit non-zero)', async () => {
    // Act
    const r = await frames('extract', twoShots, '--out', path.join(tmp, 'q101'), '--quality', '101');
    // Assess
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/quality/);
    expect(existsSync(path.join(tmp, 'q101', 'manifest.json'))).toBe(false);
  });

  it('`frames --help` lists detect and extract', async () => {
    // Act
    const r = await frames('--help');
    // Assess
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/detect/);
    expect(r.stdout.toString()).toMatch(/extract/);
  });

  it('in-process: a failed extract does not make the next successful command return non-zero', async () => {
    // Prepare
    const io = { out: () => undefined, err: () => undefined };
    // Act
    const failed = await main(['node', 'frames', 'extract', path.join(tmp, 'with-corrupt', 'bad.mp4'), '--out', path.join(tmp, 'o1')], io);
    const ok = await main(['node', 'frames', 'detect', twoShots, '--json'], io);
    // Assess
    expect(failed).toBe(1);
    expect(ok).toBe(0);
  });
});
