/**
 * Writing one video's frames to a sink (a folder, an S3 prefix): each frame as it is encoded, under
 * the `--name` template, the manifest (with those names) last. Nothing is written in a dry run.
 */
import { buildManifest, extractFrames, type EncodedFrame, type ExtractionResult, type ExtractOptions, type Manifest } from '../engine/index.js';
import { DirectorySink } from './directory-sink.js';
import { parseNameTemplate, DEFAULT_NAME_TEMPLATE, type FrameNamer } from './frame-names.js';
import type { FrameSink } from './frame-sink.js';

export { MANIFEST } from './frame-sink.js';

export interface WriteResult {
  manifest: Manifest;
  /** Where the frames went (FrameSink.location). */
  dir: string;
  /** The engine's full result (with `scoreTrace` when asked for), frame files under their names. */
  result: ExtractionResult;
}

const defaultNamer = parseNameTemplate(DEFAULT_NAME_TEMPLATE);

export async function extractToSink(video: string, sink: FrameSink, options: ExtractOptions, o: { dryRun?: boolean; name?: FrameNamer } = {}): Promise<WriteResult> {
  const name = o.name ?? defaultNamer;
  const write = !o.dryRun;
  const names: string[] = [];
  const taken = new Set<string>();
  let r: IteratorResult<EncodedFrame, ExtractionResult>;
  let run: AsyncGenerator<EncodedFrame, ExtractionResult> | undefined;
  try {
    if (write) await sink.begin();
    run = extractFrames(video, write && sink.spool ? { ...options, spool: sink.spool } : options);
    r = await run.next();
    while (!r.done) {
      const f = r.value;
      const file = name(f);
      // The template rules make this impossible; a silent overwrite would lose a frame.
      if (taken.has(file)) throw new Error(`two frames named ${file}`);
      taken.add(file);
      names[f.index] = file;
      if (write) await sink.put(file, f);
      r = await run.next();
    }
  } catch (err) {
    // A sink that failed leaves the extraction suspended: end it (stops ffmpeg) before cleaning up.
    await run?.return(undefined as never).catch(() => undefined);
    if (write) await sink.abandon();
    throw err;
  }
  const frames = r.value.frames.map((rec) => ({ ...rec, file: names[rec.index] ?? rec.file }));
  const result: ExtractionResult = { ...r.value, frames };
  const manifest = buildManifest(result);
  if (write) {
    try {
      await sink.commit(manifest);
    } catch (err) {
      await sink.abandon();
      throw err;
    }
  }
  return { manifest, dir: sink.location, result };
}

/** One video's frames into a folder under the default names (`0.jpg`, ...). */
export function extractToDirectory(video: string, dir: string, options: ExtractOptions, dryRun = false, name?: FrameNamer): Promise<WriteResult> {
  return extractToSink(video, new DirectorySink(dir), options, { dryRun, ...(name ? { name } : {}) });
}
