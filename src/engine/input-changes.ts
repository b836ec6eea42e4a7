/**
 * Facts about the decoded stream that the result reports as warnings: a picture size that changes
 * mid-stream (concatenated or spliced streams, adaptive-bitrate recordings) and decode damage.
 */

/** Records where the decoded picture size changes. */
export class SizeChanges {
  private first: { width: number; height: number } | undefined;
  private last = '';
  private readonly changes: Array<{ frame: number; size: string }> = [];

  /** One analysed frame (width/height 0 = unknown, ignored). */
  push(frame: number, width: number, height: number): void {
    if (!width || !height) return;
    const size = `${width}x${height}`;
    if (!this.first) this.first = { width, height };
    else if (size !== this.last) this.changes.push({ frame, size });
    this.last = size;
  }

  /** One warning naming every change (at most the first 5), or none. */
  warnings(): string[] {
    if (!this.first || !this.changes.length) return [];
    const first = `${this.first.width}x${this.first.height}`;
    const list = this.changes.slice(0, 5).map((c) => `${c.size} from frame ${c.frame}`).join(', ');
    const more = this.changes.length > 5 ? ` and ${this.changes.length - 5} more` : '';
    return [`the picture size changes mid-stream (${first} at the start, then ${list}${more}): every output frame is scaled to the video's first size`];
  }
}

/** Decode errors ffmpeg concealed (damaged or missing data), from the decode's stderr. */
export function decodeWarnings(stderr: string): string[] {
  const n = stderr.match(/error while decoding|concealing \d+ DC/gi)?.length ?? 0;
  return n > 0 ? [`the decoder reported ${n} damaged picture region(s) and concealed them: the frames around them may show artefacts`] : [];
}
