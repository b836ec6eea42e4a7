/** `frames detect --export FORMAT [--export ...] [--out DIR]`: the scene list in editors' and players' formats. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { EXPORT_EXTENSIONS, EXPORT_FORMATS, formatScenes, type ExportFormat, type SceneList } from '../engine/export/index.js';

export interface ExportCliOptions {
  export?: ExportFormat[];
  out?: string;
}

function collectFormat(v: string, prev: ExportFormat[] | undefined): ExportFormat[] {
  const f = v.trim().toLowerCase() as ExportFormat;
  if (!EXPORT_FORMATS.includes(f)) throw new InvalidArgumentError(`--export must be one of ${EXPORT_FORMATS.join(', ')} (got "${v}")`);
  return prev?.includes(f) ? prev : [...(prev ?? []), f];
}

/** Adds `--export` (repeatable) and `--out` to a command. */
export function addExportOptions(cmd: Command): Command {
  return cmd
    .option('--export <format>', `write the scenes as ${EXPORT_FORMATS.join('|')} (repeatable; with --out, one file per format)`, collectFormat)
    .option('-o, --out <dir>', 'folder for the --export files (<video name>.<format>); without it a single --export prints to stdout');
}

/** A usage problem with the export options (checked before the video is read), or null. */
export function exportOptionsProblem(opts: ExportCliOptions): string | null {
  const formats = opts.export ?? [];
  if (formats.length > 1 && !opts.out) return `--export ${formats.join(', ')}: several formats need --out DIR (one file each)`;
  if (opts.out && formats.length === 0) return '--out is for --export files: add --export FORMAT';
  return null;
}

/**
 * Writes `<out>/<video stem>.<ext>` for each format, or prints the one format when there is no
 * --out (see exportOptionsProblem for the combinations refused). Returns the files written.
 */
export async function writeExports(list: SceneList, opts: ExportCliOptions, io: { out: (s: string) => void }): Promise<string[]> {
  const formats = opts.export ?? [];
  if (formats.length === 0) return [];
  if (!opts.out) {
    io.out(formatScenes(list, formats[0] as ExportFormat).replace(/\n$/, ''));
    return [];
  }
  await mkdir(opts.out, { recursive: true });
  const stem = path.basename(list.video.path).replace(/\.[^.]+$/, '');
  const files: string[] = [];
  for (const f of formats) {
    const file = path.join(opts.out, `${stem}.${EXPORT_EXTENSIONS[f]}`);
    await writeFile(file, formatScenes(list, f));
    files.push(file);
  }
  return files;
}
