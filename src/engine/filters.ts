/**
 * The decode pass's filter chains, built in one place: the analysis thumbnails (the same in
 * `detect` and `extract`, so both find the same scenes) and the full-resolution candidates.
 */
import { SIG_H, SIG_W } from './signature.js';

/** What the candidate chain must produce. */
export interface CandidateGeometry {
  /** Picture size of the output frames (may be odd). */
  width: number;
  height: number;
  /** Buffer size (even: 4:2:0 needs it): the picture padded by one row/column where odd. */
  bufferWidth: number;
  bufferHeight: number;
  /** Seconds between candidates; 0 = every decoded frame. */
  stepSec: number;
  /** Deinterlace (the probe saw a field order): combing would otherwise show in the output frames. */
  deinterlace: boolean;
}

/**
 * The analysis chain: `showinfo@ana` first, so its line carries the decoded picture's own size
 * (a mid-stream size change is reported); then the 64x36 RGB thumbnail.
 */
export function analysisChain(): string {
  return `showinfo@ana=checksum=0,scale=${SIG_W}:${SIG_H}:flags=area,format=rgb24`;
}

/**
 * The candidate chain. The scale is always there: it passes frames of the target size through
 * untouched, and scales a picture that changed size mid-stream back to the first size, so every
 * buffer has the size the reader expects (without it, 720p frames after a 360p start were read as
 * 360p buffers and came out black). Deinterlacing comes before the decimating `select`: bwdif needs
 * the neighbouring fields.
 */
export function candidateChain(g: CandidateGeometry): string {
  const deint = g.deinterlace ? 'bwdif=mode=send_frame:parity=auto:deint=all,' : '';
  const select = g.stepSec > 0 ? `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${g.stepSec})',` : '';
  const dx = g.bufferWidth - g.width;
  const dy = g.bufferHeight - g.height;
  // Odd sizes: pad in 4:4:4 (pad on 4:2:0 would drop the odd column) with the edge pixels repeated,
  // so the chroma of the last column is not mixed with black; the encoder crops the pad off again.
  const fmt = dx || dy
    ? `format=yuv444p,pad=${g.bufferWidth}:${g.bufferHeight}:0:0,fillborders=right=${dx}:bottom=${dy}:mode=smear,format=yuv420p`
    : 'format=yuv420p';
  return `${deint}${select}scale=${g.width}:${g.height}:flags=bicubic,setsar=1,${fmt},showinfo@cand=checksum=0`;
}

/** The even buffer size that holds a picture of this size. */
export function bufferSize(width: number, height: number): { bufferWidth: number; bufferHeight: number } {
  return { bufferWidth: width + (width % 2), bufferHeight: height + (height % 2) };
}
