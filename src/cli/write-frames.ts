/**
 * Writing one video's frames to a folder: frames as they arrive, `manifest.json` last and
 * atomically (a folder with a manifest is complete; resume relies on that), stale frames from an
 * earlier, longer run removed after success.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildManifest, extractFrames, type ExtractionResult, type ExtractOptions, type Manifest } from '../engine/index.js';

export const MANIFEST = 'manifest.json';
const FRAME_FILE = /^\d+\.(jpg|webp|png)$/;

export interface WriteResult {
  manifest: Manifest;
  dir: string;
  /** The engine's full result (with `scoreTrace` when asked for). */
  result: ExtractionResult;
}

export async function extractToDirectory(video: string, dir: string, options: ExtractOptions, dryRun = false): Promise<WriteResult> {
  if (!dryRun) await mkdir(dir, { recursive: true });
  // An interrupted earlier run must not look complete while we overwrite its frames.
  if (!dryRun) await rm(path.join(dir, MANIFEST), { force: true });
  const written = new Set<string>();
  const run = extractFrames(video, options);
  let r = await run.next();
  while (!r.done) {
    const f = r.value;
    const name = `${f.index}.${f.ext}`;
    if (!dryRun) await writeFile(path.join(dir, name), f.data);
    written.add(name);
    r = await run.next();
  }
  const manifest = buildManifest(r.value);
  if (!dryRun) {
    for (const name of await readdir(dir)) {
      if (FRAME_FILE.test(name) && !written.has(name)) await rm(path.join(dir, name), { force: true });
    }
    const tmp = path.join(dir, `.${MANIFEST}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
    await rename(tmp, path.join(dir, MANIFEST));
  }
  return { manifest, dir, result: r.value };
}
