/** Finding the videos in a folder, and where each one's frames go. */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export const VIDEO_EXTENSIONS = new Set(['.mp4', '.mov', '.m4v', '.mkv', '.webm', '.avi', '.flv', '.ts', '.mts', '.mpg', '.mpeg', '.3gp', '.wmv', '.ogv']);

/** Video files under `dir`, recursively, sorted for a stable order. Hidden folders are skipped. */
export async function findVideos(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && VIDEO_EXTENSIONS.has(path.extname(e.name).toLowerCase())) out.push(p);
    }
  }
  await walk(dir);
  return out.sort();
}

/** For folder input: `out/<relative path without extension>/`; for a single file: `out/`. */
export function outputDirFor(video: string, inputRoot: string | null, outRoot: string): string {
  if (!inputRoot) return outRoot;
  const rel = path.relative(inputRoot, video);
  return path.join(outRoot, rel.slice(0, rel.length - path.extname(rel).length));
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
