/**
 * Spooled JPEGs (ExtractOptions.spool): with a folder output, ffmpeg writes `--mode all` and
 * `--mode interval` JPEGs into the folder itself and node only renames them. The files must be the
 * exact frames ffmpeg's own dump gives, numbered as without spooling, with nothing left under spool
 * names after success, failure or a killed run.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DirectorySink } from '../../src/cli/directory-sink.js';
import { extractToDirectory } from '../../src/cli/write-frames.js';
import { collectFrames } from '../../src/engine/extract.js';
import { resolveFfmpeg } from '../../src/engine/ffmpeg.js';
import { SpoolQueue } from '../../src/engine/frame-buffers.js';
import { FrameEncoder, jpegQscale } from '../../src/engine/image.js';
import { concatClip, exec, makeTmp, removeTmp, shot } from './helpers.js';

const W = 320;
const H = 240;

describe('spooled JPEGs (ffmpeg writes the frames into the output folder)', () => {
  let dir: string;
  let clip: string;
  let ref: string;
  beforeAll(async () => {
    dir = await makeTmp('spool');
    clip = path.join(dir, 'clip.mp4');
    // 14 s, a closed GOP every 2 s, a cut at 7 s.
    await concatClip(clip, [shot(`testsrc2=s=${W}x${H}:r=30`, 7), shot(`mandelbrot=s=${W}x${H}:r=30:maxiter=60`, 7)], '', ['-preset', 'veryfast', '-g', '60', '-sc_threshold', '0']);
    ref = path.join(dir, 'ref');
    await mkdir(ref);
    const r = await exec(resolveFfmpeg(), ['-v', 'error', '-i', clip, '-an', '-q:v', String(jpegQscale(85)), '-y', path.join(ref, '%d.jpg')]);
    expect(r.code).toBe(0);
  }, 120_000);
  afterAll(() => removeTmp(dir));

  /** Names in `out` that are not final frames or the manifest (spool or staging leftovers). */
  const leftovers = async (out: string): Promise<string[]> => (await readdir(out)).filter((n) => n.startsWith('.'));

  it('--mode all: every frame is ffmpeg\'s own JPEG of that frame, in order, sizes in the manifest, nothing left under spool names', async () => {
    const out = path.join(dir, 'all');
    const { manifest } = await extractToDirectory(clip, out, { mode: 'all', quality: 85 });
    expect(manifest.frames).toHaveLength(420);
    for (const k of [0, 1, 209, 210, 333, 419]) {
      const f = manifest.frames[k] as (typeof manifest.frames)[number];
      expect(f.frame).toBe(k);
      const bytes = await readFile(path.join(out, f.file));
      expect(bytes.equals(await readFile(path.join(ref, `${k + 1}.jpg`)))).toBe(true);
      expect(f.bytes).toBe(bytes.length);
    }
    expect(manifest.frames.every((f) => f.sharpness > 0)).toBe(true);
    // The cut at 7 s numbers the frames after it with the second scene, as without spooling.
    expect(manifest.frames[209]?.scene).toBe(0);
    expect(manifest.frames[210]?.scene).toBe(1);
    expect(await leftovers(out)).toEqual([]);
    expect((await readdir(out)).length).toBe(421);
  }, 120_000);

  it('--mode all with a window (seeked decode): exactly the window\'s frames, each ffmpeg\'s JPEG of that frame', async () => {
    const out = path.join(dir, 'window');
    const { manifest } = await extractToDirectory(clip, out, { mode: 'all', quality: 85, start: 3, end: 9 });
    expect(manifest.frames.map((f) => f.frame)).toEqual(Array.from({ length: 180 }, (_, i) => 90 + i));
    for (const k of [0, 119, 120, 179]) {
      const f = manifest.frames[k] as (typeof manifest.frames)[number];
      expect((await readFile(path.join(out, f.file))).equals(await readFile(path.join(ref, `${f.frame + 1}.jpg`)))).toBe(true);
    }
    expect(await leftovers(out)).toEqual([]);
  }, 120_000);

  it('--mode interval: the same frames and bytes as without spooling; the unpicked candidates\' files are removed', async () => {
    const out = path.join(dir, 'interval');
    const opts = { mode: 'interval' as const, interval: 2, quality: 85 };
    const { manifest } = await extractToDirectory(clip, out, opts);
    const { frames } = await collectFrames(clip, opts);
    expect(manifest.frames.map((f) => f.frame)).toEqual(frames.map((f) => f.frame));
    expect(frames.length).toBe(7);
    for (const [i, f] of frames.entries()) {
      expect(f.data.length).toBeGreaterThan(0);
      expect((await readFile(path.join(out, `${i}.jpg`))).equals(f.data)).toBe(true);
      expect((await readFile(path.join(out, `${i}.jpg`))).equals(await readFile(path.join(ref, `${f.frame + 1}.jpg`)))).toBe(true);
    }
    expect(await leftovers(out)).toEqual([]);
    expect((await readdir(out)).sort()).toEqual([...frames.map((_, i) => `${i}.jpg`), 'manifest.json'].sort());
  }, 120_000);

  it('a folder whose path ffmpeg would read as syntax (`%`, `|`, `:`) gets the same frames through the pipe', async () => {
    const out = path.join(dir, 'odd 50%|x:y');
    const { manifest } = await extractToDirectory(clip, out, { mode: 'all', quality: 85, start: 0, end: 1 });
    expect(manifest.frames).toHaveLength(30);
    expect((await readFile(path.join(out, '29.jpg'))).equals(await readFile(path.join(ref, '30.jpg')))).toBe(true);
    expect(await leftovers(out)).toEqual([]);
  }, 120_000);

  it('files announced short of the frames fail the run, naming it; no manifest, nothing left under spool names', async () => {
    // Fault injection: after 50 lines the frame list stops reaching the queue, as if ffmpeg had
    // stopped writing files; the frames announced on stderr then have no image.
    const push = SpoolQueue.prototype.push;
    let calls = 0;
    SpoolQueue.prototype.push = function (this: SpoolQueue, b: Buffer) {
      if (++calls <= 50) push.call(this, b);
    };
    const out = path.join(dir, 'fault');
    try {
      await expect(extractToDirectory(clip, out, { mode: 'all' })).rejects.toThrow(/JPEG files ended early: \d+ announced frame\(s\) without an image/);
    } finally {
      SpoolQueue.prototype.push = push;
    }
    expect(calls).toBeGreaterThan(50);
    const names = await readdir(out);
    expect(names).not.toContain('manifest.json');
    expect(names.filter((n) => n.endsWith('.jpg'))).toEqual([]);
  }, 120_000);

  it('a killed run\'s spool files are removed by the next run into that folder', async () => {
    const out = path.join(dir, 'killed');
    await mkdir(out, { recursive: true });
    const stale = [path.join(out, '.spool.12345.abc123-0-00000007.jpg'), path.join(out, '.spool.12345.abc123-e-00000003.png'), path.join(out, '.spool.12345.abc123-e-00000004.webp')];
    for (const f of stale) await writeFile(f, 'half an image');
    const keep = path.join(out, '.notes');
    await writeFile(keep, 'the user\'s');
    const sink = new DirectorySink(out);
    await sink.begin();
    for (const f of stale) await expect(stat(f)).rejects.toThrow(/ENOENT/);
    expect((await stat(keep)).isFile()).toBe(true);
    await sink.abandon();
  });
});

describe('spooled WebP and PNG (sharp writes `--mode all` frames into the output folder)', () => {
  let dir: string;
  let clip: string;
  beforeAll(async () => {
    dir = await makeTmp('spool-sharp');
    clip = path.join(dir, 'clip.mp4');
    // 4 s, a cut at 2 s.
    await concatClip(clip, [shot(`testsrc2=s=${W}x${H}:r=30`, 2), shot(`mandelbrot=s=${W}x${H}:r=30:maxiter=60`, 2)], '', ['-preset', 'veryfast', '-g', '30']);
  }, 120_000);
  afterAll(() => removeTmp(dir));

  it.each(['png', 'webp'] as const)('%s: each file is the image the library yields without spooling, in order, scenes and sizes in the manifest, nothing left under spool names', async (format) => {
    const out = path.join(dir, format);
    const opts = { mode: 'all' as const, format, quality: 80 };
    const { manifest } = await extractToDirectory(clip, out, opts);
    const { frames } = await collectFrames(clip, opts);
    expect(manifest.frames).toHaveLength(120);
    expect(frames).toHaveLength(120);
    for (const [k, f] of frames.entries()) {
      const m = manifest.frames[k] as (typeof manifest.frames)[number];
      expect(m.frame).toBe(k);
      expect(m.file).toBe(`${k}.${format}`);
      const bytes = await readFile(path.join(out, m.file));
      expect(f.data.length).toBeGreaterThan(0);
      expect(bytes.equals(f.data)).toBe(true);
      expect(m.bytes).toBe(bytes.length);
      expect(m.scene).toBe(k < 60 ? 0 : 1);
    }
    expect((await readdir(out)).filter((n) => n.startsWith('.'))).toEqual([]);
    expect((await readdir(out)).length).toBe(121);
  }, 120_000);

  it('an encode that fails part-way fails the run, naming the error; no manifest, no frames, nothing left under spool names', async () => {
    // Fault injection: the 40th file cannot be written (as with a full disk).
    const encodeToFile = FrameEncoder.prototype.encodeToFile;
    let calls = 0;
    FrameEncoder.prototype.encodeToFile = function (this: FrameEncoder, ...a: Parameters<FrameEncoder['encodeToFile']>) {
      if (++calls === 40) return Promise.reject(new Error('ENOSPC: no space left on device, write'));
      return encodeToFile.apply(this, a);
    };
    const out = path.join(dir, 'fault');
    try {
      await expect(extractToDirectory(clip, out, { mode: 'all', format: 'png' })).rejects.toThrow(/ENOSPC/);
    } finally {
      FrameEncoder.prototype.encodeToFile = encodeToFile;
    }
    expect(calls).toBeGreaterThanOrEqual(40);
    expect(await readdir(out)).toEqual([]);
  }, 120_000);
});
