/**
 * Frames into a folder: written under temporary names as they arrive and moved into place only once
 * the whole extraction succeeded (a video that fails part-way, damage found late or an interrupt,
 * leaves no half set behind); `manifest.json` last and atomically; frames of an earlier, longer run
 * removed after success.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EncodedFrame, Manifest } from '../engine/index.js';
import { MANIFEST, type FrameSink } from './frame-sink.js';

/** Frame files under the default names (`0.jpg`, ...), which an earlier run may have left. */
const DEFAULT_FRAME_FILE = /^\d+\.(jpg|webp|png)$/;
/** `.<name>.<pid>.<time>.part`: what a killed run leaves before it could clean up. */
const STAGED_FILE = /^\..+\.\d+\.[0-9a-z]+\.part$/;

export class DirectorySink implements FrameSink {
  private readonly stage = `.${process.pid}.${Date.now().toString(36)}.part`;
  private readonly written: string[] = [];
  /** Frame files the earlier run's manifest listed (custom names are not recognisable otherwise). */
  private earlier = new Set<string>();

  constructor(readonly location: string) {}

  async isComplete(): Promise<boolean> {
    return readFile(path.join(this.location, MANIFEST)).then(() => true, () => false);
  }

  async begin(): Promise<void> {
    await mkdir(this.location, { recursive: true });
    try {
      const old = JSON.parse(await readFile(path.join(this.location, MANIFEST), 'utf8')) as Partial<Manifest>;
      for (const f of old.frames ?? []) if (typeof f.file === 'string' && path.basename(f.file) === f.file) this.earlier.add(f.file);
    } catch {
      this.earlier = new Set();
    }
    // An interrupted earlier run must not look complete while we overwrite its frames.
    await rm(path.join(this.location, MANIFEST), { force: true });
    for (const name of await readdir(this.location)) if (STAGED_FILE.test(name)) await rm(path.join(this.location, name), { force: true });
  }

  async put(name: string, frame: EncodedFrame): Promise<void> {
    this.written.push(name);
    await writeFile(this.staged(name), frame.data);
  }

  async commit(manifest: Manifest): Promise<void> {
    for (const name of this.written) await rename(this.staged(name), path.join(this.location, name));
    const now = new Set(this.written);
    for (const name of await readdir(this.location)) {
      if ((DEFAULT_FRAME_FILE.test(name) || this.earlier.has(name)) && !now.has(name)) await rm(path.join(this.location, name), { force: true });
    }
    const tmp = path.join(this.location, `.${MANIFEST}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
    await rename(tmp, path.join(this.location, MANIFEST));
  }

  async abandon(): Promise<void> {
    await Promise.all(this.written.map((name) => rm(this.staged(name), { force: true }).catch(() => undefined)));
  }

  private staged(name: string): string {
    return path.join(this.location, `.${name}${this.stage}`);
  }
}
