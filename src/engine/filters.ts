/**
 * The decode pass's filter chains, built in one place: the analysis thumbnails (the same in
 * `detect` and `extract`, so both find the same scenes) and the full-resolution candidates.
 */
import { SIG_H, SIG_W } from './signature.js';

/**
 * Pixel layout of the full-resolution candidates on pipe 3. Planar YUV 4:2:0 is half the bytes of
 * RGB and what scene selection keeps many of; `--mode all` encodes every frame, so there ffmpeg's
 * own (SIMD) conversion to packed RGB replaces a conversion in JavaScript on node's main thread,
 * which was the largest cost of that mode (5.3 s of a 20 s 720p run).
 */
export type PixelLayout = 'yuv420p' | 'rgb24' | 'gray';
// 'gray': the luma plane alone, when ffmpeg encodes the frames itself (JPEG in `--mode all`) and
// node needs the pixels only to measure sharpness.

/** Bytes of one candidate frame in its buffer. */
export function frameBytes(width: number, height: number, pixels: PixelLayout): number {
  return pixels === 'rgb24' ? width * height * 3 : pixels === 'gray' ? width * height : width * height * 1.5;
}

/** Frame times to pick: `firstSec + k * everySec` (k >= 0), in seconds. */
export interface FrameTargets {
  firstSec: number;
  everySec: number;
}

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
  /**
   * Instead of one every stepSec: the first frame from each of `firstSec + k * everySec` on
   * (seconds on the filter's clock), and the first frame the process decodes.
   */
  targets?: FrameTargets;
  /** Deinterlace (the probe saw a field order): combing would otherwise show in the output frames. */
  deinterlace: boolean;
  /** Default yuv420p. */
  pixels?: PixelLayout;
  /** `gray`: the luma plane's size (downscaled from the picture's where smaller). */
  luma?: { width: number; height: number };
  /** The decoded frames are full range (`yuvj420p`, `pc`): the JPEG branch converts with swscale, not the LUT. */
  fullRange?: boolean;
}

/**
 * Limited (TV) to full (JPEG) range for 8-bit YUV as per-plane lookup tables: the BT.601
 * expansion, rounded half down, which gives exactly swscale's `format=yuvj420p` output for every
 * value (jpeg-range.test.ts checks this on the installed ffmpeg), at a third of its cost. That
 * conversion was ffmpeg's largest single cost in `--mode all` (1.4 of 5.7 CPU s on 20 s of 720p; the
 * table 0.5 s). `setparams` marks the result full range, so the JPEG encoder takes it as it is.
 */
export function tvToJpegRange(): string {
  const y = "clip(ceil((val-16)*255/219-0.5),0,255)";
  const c = "clip(ceil((val-128)*255/224+128-0.5),0,255)";
  return `lutyuv=y='${y}':u='${c}':v='${c}',setparams=range=pc`;
}

/**
 * The analysis chain: `showinfo@ana` first, so its line carries the decoded picture's own size
 * (a mid-stream size change is reported); then the 64x36 RGB thumbnail.
 */
export function analysisChain(): string {
  return `showinfo@ana=checksum=0,scale=${SIG_W}:${SIG_H}:flags=area,format=rgb24`;
}

/**
 * The candidate chain, from the split's output to the labelled outputs: `[bo]` (the pixels, pipe 3)
 * and, for `gray`, `[jo]` (the same frames for ffmpeg's JPEG encoder, pipe 4). The scale is always there: it passes frames of the target size through
 * untouched, and scales a picture that changed size mid-stream back to the first size, so every
 * buffer has the size the reader expects (without it, 720p frames after a 360p start were read as
 * 360p buffers and came out black). Deinterlacing comes before the decimating `select`: bwdif needs
 * the neighbouring fields.
 */
export function candidateChain(g: CandidateGeometry): string {
  const deint = g.deinterlace ? 'bwdif=mode=send_frame:parity=auto:deint=all,' : '';
  const select = g.targets ? `select='${targetSelect(g.targets.firstSec, g.targets.everySec)}',`
    : g.stepSec > 0 ? `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${g.stepSec})',` : '';
  const dx = g.bufferWidth - g.width;
  const dy = g.bufferHeight - g.height;
  // RGB holds any size as it is. 4:2:0 with odd sizes: pad in 4:4:4 (pad on 4:2:0 would drop the odd column) with the edge pixels repeated,
  // so the chroma of the last column is not mixed with black; the encoder crops the pad off again.
  const base = `${deint}${select}scale=${g.width}:${g.height}:flags=bicubic,setsar=1`;
  if (g.pixels === 'gray') {
    // One showinfo line per frame, before the split; the encoder gets full-range 4:2:0, as in
    // ffmpeg's own JPEG output (so the frames are those of `ffmpeg -i v out/%05d.jpg`), and node
    // the decoded luma plane untouched.
    const l = g.luma ?? { width: g.width, height: g.height };
    const scaled = l.width !== g.width || l.height !== g.height;
    const lumaScale = scaled ? `,scale=${l.width}:${l.height}:flags=area` : '';
    // A split's outputs share one pixel format, so the branches cannot differ in it: full-range
    // input stays full range for the encoder (no narrowing and widening again) and its luma
    // plane is narrowed with a table, so sharpness reads the same scale as for other videos.
    if (g.fullRange) {
      return `${base},format=yuvj420p,showinfo@cand=checksum=0,split=2[cg][jo];[cg]extractplanes=y,lut=c0='16+val*219/255'${lumaScale}[bo]`;
    }
    // Downscaled, swscale reads the luma plane itself and writes gray (the same bytes as
    // extractplanes then scale, checked at 720p and 1080p): extractplanes would first copy the
    // whole plane, 0.9 MB a 720p frame on ffmpeg's one filter thread.
    const luma = scaled ? `scale=${l.width}:${l.height}:flags=area:out_range=tv,format=gray` : 'extractplanes=y';
    return `${base},format=yuv420p,showinfo@cand=checksum=0,split=2[cg][cj];[cg]${luma}[bo];[cj]${tvToJpegRange()}[jo]`;
  }
  const fmt = g.pixels === 'rgb24'
    ? 'format=rgb24'
    : dx || dy
    ? `format=yuv444p,pad=${g.bufferWidth}:${g.bufferHeight}:0:0,fillborders=right=${dx}:bottom=${dy}:mode=smear,format=yuv420p`
    : 'format=yuv420p';
  return `${base},${fmt},showinfo@cand=checksum=0[bo]`;
}

/**
 * A `select` expression passing the first frame at or after each of `first + k * every` (k >= 0),
 * and the first frame of all (a chunk's first frame may be nearer its target than the last frame
 * of the chunk before). Target k is crossed when floor((t - first) / every) goes past the value it
 * had for the frame selected last.
 */
function targetSelect(first: number, every: number): string {
  const k = (t: string): string => `floor((${t}-(${first.toFixed(6)}))/${every.toFixed(6)})`;
  return `isnan(prev_selected_t)+gte(t\\,${first.toFixed(6)})*gt(${k('t')}\\,${k('prev_selected_t')})`;
}

/** The buffer size that holds a picture of this size: even for 4:2:0, the picture itself for RGB. */
export function bufferSize(width: number, height: number, pixels: PixelLayout = 'yuv420p'): { bufferWidth: number; bufferHeight: number } {
  if (pixels !== 'yuv420p') return { bufferWidth: width, bufferHeight: height };
  return { bufferWidth: width + (width % 2), bufferHeight: height + (height % 2) };
}
