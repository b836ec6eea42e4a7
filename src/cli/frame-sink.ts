/**
 * Where one video's frames go (a folder, an S3 prefix). The writer calls begin, put for each frame
 * as it is encoded, then commit with the manifest, or abandon when the extraction failed or was
 * interrupted. A place with a manifest is a finished run (resume skips it): a sink writes the
 * manifest last and removes an earlier one before it writes anything.
 */
import type { EncodedFrame, Manifest } from '../engine/index.js';

export const MANIFEST = 'manifest.json';

export interface FrameSink {
  /** For messages: the folder, or `s3://bucket/prefix/`. */
  readonly location: string;
  /** A finished earlier run is there (its manifest). */
  isComplete(): Promise<boolean>;
  /** Before the first frame: create the place, make an earlier run there look unfinished. */
  begin(): Promise<void>;
  /**
   * A local folder may let the encoder (ffmpeg, sharp) write frames into it itself
   * (ExtractOptions.spool): put then gets frames with `spooled` set, and commit / abandon remove
   * that pattern's files they do not keep.
   */
  readonly spool?: { dir: string; tag: string };
  /** One frame, as soon as it is encoded; may wait while the sink is behind (bounded memory). */
  put(name: string, frame: EncodedFrame): Promise<void>;
  /** Every frame was put: make them final, remove stale ones of an earlier run, write the manifest last. */
  commit(manifest: Manifest): Promise<void>;
  /** Remove what this run wrote; never throws. */
  abandon(): Promise<void>;
}
