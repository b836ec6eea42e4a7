/**
 * The folder sink's parallel writes (they keep up with `--mode all`, where ffmpeg encodes): every
 * frame in place when commit returns, and a failed write fails the run without a manifest.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DirectorySink } from '../../src/cli/directory-sink.js';
import type { EncodedFrame, Manifest } from '../../src/engine/index.js';

describe('DirectorySink with writes in flight', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'sink-')); });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const frame = (i: number): EncodedFrame => ({
    index: i, frame: i, time: i / 30, scene: 0, width: 2, height: 2, format: 'jpeg', ext: 'jpg', contentType: 'image/jpeg',
    data: Buffer.from(`frame ${i}`), sharpness: 1,
  });
  const manifest = { frames: [] } as unknown as Manifest;

  it('every frame put is in place, with its bytes, once commit returns', async () => {
    const sink = new DirectorySink(path.join(dir, 'out'));
    await sink.begin();
    for (let i = 0; i < 50; i++) await sink.put(`${i}.jpg`, frame(i));
    await sink.commit(manifest);
    const names = (await readdir(path.join(dir, 'out'))).sort();
    expect(names).toHaveLength(51);
    for (const i of [0, 17, 49]) expect(await readFile(path.join(dir, 'out', `${i}.jpg`), 'utf8')).toBe(`frame ${i}`);
  });

  it('a write that fails fails the run (no manifest), and abandon leaves nothing staged', async () => {
    const out = path.join(dir, 'out');
    const sink = new DirectorySink(out);
    await sink.begin();
    await rm(out, { recursive: true }); // the folder vanishes under the run: every write fails
    let err: unknown;
    try {
      for (let i = 0; i < 50; i++) await sink.put(`${i}.jpg`, frame(i));
      await sink.commit(manifest);
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/ENOENT/);
    await sink.abandon();
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });
});
