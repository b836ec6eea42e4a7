/**
 * `frames report` / `frames extract --report`: a self-contained HTML page per video (facts, scene
 * timeline, the change-score plot, every chosen frame), a contact-sheet JPEG beside it, and an
 * index page for a folder. Reads what the extraction wrote (frames and manifest) plus the optional
 * score trace; imports only the engine.
 *
 * @example
 * ```ts
 * const { manifest, result } = await extractToDirectory('clip.mp4', 'out', { traceScores: true });
 * await writeReport('out', manifest, result.scoreTrace, 'clip.mp4');
 * ```
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import type { DetectionResult, Manifest } from '../engine/types.js';
import { contactSheet } from './contact-sheet.js';
import { renderIndex, renderReport, type IndexEntry } from './html.js';

export { renderIndex, renderReport, type IndexEntry, type ReportPage } from './html.js';
export { contactSheet } from './contact-sheet.js';

export const REPORT_FILE = 'report.html';
export const CONTACT_SHEET_FILE = 'contact-sheet.jpg';
export const INDEX_FILE = 'index.html';

/** A JPEG thumbnail of an image as a data: URI. */
export async function thumbnailUri(data: Buffer, width = 320): Promise<string> {
  const jpg = await sharp(data).resize({ width, withoutEnlargement: true }).jpeg({ quality: 72 }).toBuffer();
  return `data:image/jpeg;base64,${jpg.toString('base64')}`;
}

/** A link from `fromDir` to `file`: relative where possible, as a URL. */
export function relativeHref(fromDir: string, file: string): string {
  const rel = path.relative(path.resolve(fromDir), path.resolve(file));
  if (path.isAbsolute(rel)) return pathToFileURL(path.resolve(file)).href;
  return rel.split(path.sep).map(encodeURIComponent).join('/');
}

/**
 * Writes `report.html` and `contact-sheet.jpg` into `dir`, the folder holding the manifest's
 * frames. Returns the two paths and what an index page needs.
 */
export async function writeReport(dir: string, manifest: Manifest, scoreTrace: DetectionResult['scoreTrace'], video: string): Promise<{ html: string; contactSheet: string; entry: Omit<IndexEntry, 'href' | 'video'> }> {
  const datas = await Promise.all(manifest.frames.map((f) => readFile(path.join(dir, f.file))));
  const thumbs = await Promise.all(datas.map((d) => thumbnailUri(d)));
  const sheetFile = path.join(dir, CONTACT_SHEET_FILE);
  if (datas.length > 0) {
    await writeFile(sheetFile, await contactSheet(manifest.frames.map((f, i) => ({ data: datas[i] as Buffer, index: f.index, time: f.time }))));
  }
  const html = renderReport({
    manifest,
    scoreTrace,
    frames: manifest.frames.map((record, i) => ({ record, thumbnail: thumbs[i] as string })),
    videoHref: relativeHref(dir, video),
    contactSheet: datas.length > 0 ? CONTACT_SHEET_FILE : null,
  });
  const htmlFile = path.join(dir, REPORT_FILE);
  await writeFile(htmlFile, html);
  return {
    html: htmlFile,
    contactSheet: sheetFile,
    entry: { scenes: manifest.scenes.length, frames: manifest.frames.length, durationSec: manifest.video.durationSec, ...(datas[0] ? { thumbnail: await thumbnailUri(datas[0], 160) } : {}) },
  };
}

/** The index entry of a video finished earlier (resume): from its manifest, linking its report if it has one. */
export async function indexEntryOf(video: string, dir: string, indexDir: string): Promise<IndexEntry> {
  try {
    const m = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const report = path.join(dir, REPORT_FILE);
    const first = m.frames[0] ? await readFile(path.join(dir, m.frames[0].file)).catch(() => null) : null;
    return {
      video, href: existsSync(report) ? relativeHref(indexDir, report) : null, scenes: m.scenes.length, frames: m.frames.length, durationSec: m.video.durationSec,
      ...(first ? { thumbnail: await thumbnailUri(first, 160) } : {}),
      ...(existsSync(report) ? {} : { error: 'extracted earlier without --report (use --force to redo)' }),
    };
  } catch (err) {
    return { video, href: null, error: `unreadable manifest: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Writes `index.html` in `outRoot` linking each video's report. */
export async function writeIndex(outRoot: string, title: string, entries: IndexEntry[]): Promise<string> {
  const file = path.join(outRoot, INDEX_FILE);
  await writeFile(file, renderIndex(title, entries));
  return file;
}
