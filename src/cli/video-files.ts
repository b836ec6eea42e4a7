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

/**
 * Each video's output folder, relative to the output root, for a folder input: its relative path
 * without the extension (`sub/clip`), unless another video would get the same folder (`clip.mp4`
 * and `clip.webm`, compared without case for case-insensitive file systems): then each of them
 * keeps its extension (`clip.mp4`, `clip.webm`), and should that still clash, `-2`, `-3`... in
 * sorted order. The rule depends only on the set of names, so a resume finds the same folders.
 */
export function outputNames(videos: string[], inputRoot: string): Map<string, string> {
  const rel = new Map(videos.map((v) => [v, path.relative(inputRoot, v)]));
  const stem = (r: string): string => r.slice(0, r.length - path.extname(r).length);
  const count = new Map<string, number>();
  const key = (r: string): string => r.toLowerCase();
  for (const r of rel.values()) count.set(key(stem(r)), (count.get(key(stem(r))) ?? 0) + 1);
  const out = new Map<string, string>();
  const used = new Set<string>();
  // Stems first, so a name with its extension never takes a folder a plain stem has.
  const sorted = [...videos].sort((a, b) => Number((count.get(key(stem(rel.get(a) as string))) ?? 0) > 1) - Number((count.get(key(stem(rel.get(b) as string))) ?? 0) > 1) || a.localeCompare(b));
  for (const v of sorted) {
    const r = rel.get(v) as string;
    let name = (count.get(key(stem(r))) ?? 0) > 1 ? r : stem(r);
    for (let n = 2; used.has(key(name)); n++) name = `${(count.get(key(stem(r))) ?? 0) > 1 ? r : stem(r)}-${n}`;
    used.add(key(name));
    out.set(v, name);
  }
  return out;
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
