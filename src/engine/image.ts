/** Pixel work on full-resolution candidate frames: colour conversion, sharpness, blankness, dHash, encoding. */
import type { Sharp } from 'sharp';
import type { PixelLayout } from './filters.js';
import type { ImageFormat } from './types.js';
// Module-local copies: a global lookup per use is very slow inside vm contexts (jest).
const { floor, max, round } = Math;

/**
 * Planar YUV 4:2:0 (BT.601 limited range, as H.264 decoders output it) -> packed RGB24, in fixed point.
 * Works on 2x2 blocks, which share one chroma sample (its products are computed once), and writes
 * through a Uint8ClampedArray, which clamps to 0..255 itself: `--mode all` converts every frame on
 * the main thread (measured: 9 ms a 720p frame before, under heavy load).
 */
export function yuv420ToRgb(yuv: Buffer, width: number, height: number, into?: Buffer): Buffer {
  const out = into && into.length === width * height * 3 ? into : Buffer.allocUnsafe(width * height * 3);
  const o8 = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const src = new Uint8Array(yuv.buffer, yuv.byteOffset, yuv.length);
  const ySize = width * height;
  const cw = width >> 1;
  const uOff = ySize;
  const vOff = ySize + cw * (height >> 1);
  const stride = width * 3;
  for (let y = 0; y < height; y += 2) {
    const crow = (y >> 1) * cw;
    const y0 = y * width;
    const two = y + 1 < height;
    for (let x = 0; x < width; x += 2) {
      const ci = crow + (x >> 1);
      const u = (src[uOff + ci] as number) - 128;
      const v = (src[vOff + ci] as number) - 128;
      // 16.16 fixed-point BT.601 coefficients, shared by the pixels of a chroma sample.
      const rv = 104597 * v + 32768;
      const guv = -25675 * u - 53279 * v + 32768;
      const bu = 132201 * u + 32768;
      const pair = x + 1 < width;
      let o = y0 * 3 + x * 3;
      let c = 76309 * ((src[y0 + x] as number) - 16);
      o8[o] = (c + rv) >> 16; o8[o + 1] = (c + guv) >> 16; o8[o + 2] = (c + bu) >> 16;
      if (pair) {
        c = 76309 * ((src[y0 + x + 1] as number) - 16);
        o8[o + 3] = (c + rv) >> 16; o8[o + 4] = (c + guv) >> 16; o8[o + 5] = (c + bu) >> 16;
      }
      if (two) {
        o += stride;
        const y1 = y0 + width;
        c = 76309 * ((src[y1 + x] as number) - 16);
        o8[o] = (c + rv) >> 16; o8[o + 1] = (c + guv) >> 16; o8[o + 2] = (c + bu) >> 16;
        if (pair) {
          c = 76309 * ((src[y1 + x + 1] as number) - 16);
          o8[o + 3] = (c + rv) >> 16; o8[o + 4] = (c + guv) >> 16; o8[o + 5] = (c + bu) >> 16;
        }
      }
    }
  }
  return out;
}

/** Reads luma at a pixel index (y * width + x), whatever the buffer's layout. */
export type LumaReader = (i: number) => number;

/**
 * Luma of a frame buffer. Packed RGB is mapped back to BT.601 limited-range Y (the inverse of
 * yuv420ToRgb, to within rounding), so sharpness and hashes mean the same in every mode.
 */
export function lumaReader(data: Buffer, pixels: PixelLayout): LumaReader {
  if (pixels !== 'rgb24') return (i) => data[i] as number; // luma is the first plane
  return (i) => {
    const o = i * 3;
    return ((66 * (data[o] as number) + 129 * (data[o + 1] as number) + 25 * (data[o + 2] as number) + 128) >> 8) + 16;
  };
}

/**
 * Sharpness as the variance of the Laplacian of luma, sampled on a grid of at most ~320 px wide
 * so it costs about a millisecond on any frame size.
 */
export function laplacianVariance(data: Buffer, width: number, height: number, pixels: PixelLayout = 'yuv420p'): number {
  const step = max(1, floor(width / 320));
  if (pixels !== 'rgb24') return planarLaplacianVariance(data, width, height, step);
  const luma = lumaReader(data, pixels);
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let y = step; y < height - step; y += step) {
    const row = y * width;
    for (let x = step; x < width - step; x += step) {
      const i = row + x;
      const lap = 4 * luma(i) - luma(i - 1) - luma(i + 1) - luma(i - width) - luma(i + width);
      sum += lap;
      sum2 += lap * lap;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return round((sum2 / n - mean * mean) * 10) / 10;
}

/**
 * laplacianVariance on a luma plane (the first plane of the buffer), indexing the bytes directly:
 * the same sums as the general loop. At 640 wide as fast (0.17 against 0.18 ms); in the same
 * micro-benchmark the general loop ran 8-10 times slower at 321 and 1920 wide (not investigated),
 * this one did not. `--mode all` measures every frame. A row's sums are small integers (at most
 * 640 samples of |lap| <= 1020: under 2^31), kept in int32 and added to the totals once a row:
 * 0.15-0.20 against 0.23 ms a 640x360 plane, the same result.
 */
function planarLaplacianVariance(data: Uint8Array, width: number, height: number, step: number): number {
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  const perRow = width > 2 * step ? floor((width - step - 1) / step) : 0;
  for (let y = step; y < height - step; y += step) {
    const row = y * width;
    let rowSum = 0;
    let rowSum2 = 0;
    for (let i = row + step, end = row + width - step; i < end; i += step) {
      const lap = (4 * (data[i] as number) - (data[i - 1] as number) - (data[i + 1] as number) - (data[i - width] as number) - (data[i + width] as number)) | 0;
      rowSum = (rowSum + lap) | 0;
      rowSum2 = (rowSum2 + lap * lap) | 0;
    }
    sum += rowSum;
    sum2 += rowSum2;
    n += perRow;
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return round((sum2 / n - mean * mean) * 10) / 10;
}

/** 64-bit difference hash of luma (9x8 box averages), as a bigint. */
export function dHash(data: Buffer, width: number, height: number, pixels: PixelLayout = 'yuv420p'): bigint {
  const luma = lumaReader(data, pixels);
  const cells = new Float64Array(9 * 8);
  for (let cy = 0; cy < 8; cy++) {
    const y0 = floor((cy * height) / 8);
    const y1 = max(y0 + 1, floor(((cy + 1) * height) / 8));
    for (let cx = 0; cx < 9; cx++) {
      const x0 = floor((cx * width) / 9);
      const x1 = max(x0 + 1, floor(((cx + 1) * width) / 9));
      let s = 0;
      let n = 0;
      const sy = max(1, (y1 - y0) >> 3);
      const sx = max(1, (x1 - x0) >> 3);
      for (let y = y0; y < y1; y += sy) for (let x = x0; x < x1; x += sx) { s += luma(y * width + x); n++; }
      cells[cy * 9 + cx] = s / n;
    }
  }
  let h = 0n;
  for (let cy = 0; cy < 8; cy++) {
    for (let cx = 0; cx < 8; cx++) {
      h = (h << 1n) | ((cells[cy * 9 + cx] as number) > (cells[cy * 9 + cx + 1] as number) ? 1n : 0n);
    }
  }
  return h;
}

export function hamming(a: bigint, b: bigint): number {
  let x = a ^ b;
  let n = 0;
  while (x) { x &= x - 1n; n++; }
  return n;
}

let sharpModule: Promise<typeof import('sharp').default> | undefined;

/**
 * sharp, loaded once. Its libvips operation cache (50 MB by default) never hits for raw frames
 * that are each encoded once, and it grew resident memory with video length: it is turned off.
 */
function loadSharp(): Promise<typeof import('sharp').default> {
  sharpModule ??= import('sharp').then((m) => {
    m.default.cache(false);
    return m.default;
  });
  return sharpModule;
}

/**
 * Start loading the encoder (sharp) while other work runs. Its native library takes about 160 ms
 * to load, on node's main thread: during the probe that costs nothing, during the decode it
 * stalls ffmpeg's pipes. A failure is left to the first encode to report.
 */
export function preloadEncoder(): void {
  loadSharp().catch(() => undefined);
}

export const EXT: Record<ImageFormat, string> = { jpeg: 'jpg', webp: 'webp', png: 'png' };
export const CONTENT_TYPE: Record<ImageFormat, string> = { jpeg: 'image/jpeg', webp: 'image/webp', png: 'image/png' };

/**
 * Encodes frames, up to `parallel` at once (sharp runs each on a libuv worker thread), each through
 * an RGB buffer of its own that is reused, so a bounded amount of memory is ever in use whatever
 * the frame size. Frames start in the order they were queued; each promise resolves on its own.
 */
export class FrameEncoder {
  private readonly spare: Buffer[] = [];
  private readonly queue: Array<{ start: () => void; cancel: (err: Error) => void }> = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;

  /**
   * `bulk`: every frame of a video is encoded (`--mode all`). JPEG then uses the standard Huffman
   * tables, as ffmpeg's encoder does, instead of libjpeg's optimised ones: a few percent larger
   * files, but no second pass over a buffer of the whole image's coefficients (measured at 1080p:
   * about 30 MB less resident memory per encoding thread, and less CPU per frame).
   */
  constructor(private readonly format: ImageFormat, private readonly quality: number, private readonly parallel = 1, private readonly bulk = false) {}

  /**
   * Queue one frame. `done` is called once its pixels have been read (so a pooled buffer can be
   * recycled); until then the caller must keep `data` unchanged. YUV is converted into an RGB
   * buffer of the encoder's own at once; packed RGB is handed to sharp as it is and so is held
   * until its encode settles. `picture`: the part of the buffer to encode, from the top left (an
   * odd size in its even 4:2:0 buffer).
   */
  encode(frame: { data: Buffer; pixels: PixelLayout; width: number; height: number }, done?: () => void, picture?: { width: number; height: number }): Promise<Buffer> {
    return this.run(frame, done, picture, (img) => img.toBuffer());
  }

  /**
   * As encode, but libvips writes the image to `file` itself; resolves with its size in bytes.
   * Nothing of it passes through a node Buffer, whose memory only a garbage collection returns.
   */
  encodeToFile(frame: { data: Buffer; pixels: PixelLayout; width: number; height: number }, file: string, done?: () => void, picture?: { width: number; height: number }): Promise<number> {
    return this.run(frame, done, picture, async (img) => (await img.toFile(file)).size);
  }

  private run<T>(frame: { data: Buffer; pixels: PixelLayout; width: number; height: number }, done: (() => void) | undefined, picture: { width: number; height: number } | undefined, output: (img: Sharp) => Promise<T>): Promise<T> {
    const { data, pixels, width, height } = frame;
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        let own: Buffer | undefined;
        let converted: Promise<T>;
        try {
          if (pixels === 'gray') {
            throw new Error('FrameEncoder: a luma plane alone cannot be encoded in colour');
          } else if (pixels === 'rgb24') {
            converted = encodeRgb(data, width, height, this.format, this.quality, this.bulk, picture).then(output);
          } else {
            const size = width * height * 3;
            own = this.spare.pop();
            if (!own || own.length !== size) own = Buffer.allocUnsafeSlow(size);
            yuv420ToRgb(data, width, height, own);
            done?.();
            done = undefined;
            converted = encodeRgb(own, width, height, this.format, this.quality, this.bulk, picture).then(output);
          }
        } catch (err) {
          converted = Promise.reject(err as Error);
        }
        converted.then(resolve, reject).finally(() => {
          // sharp has read its input buffer only once the encode settled: then it may be reused.
          if (own) this.spare.push(own);
          done?.();
          this.running--;
          if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
          this.queue.shift()?.start();
        });
      };
      const cancel = (err: Error): void => { done?.(); reject(err); };
      if (this.stopped) cancel(new Error('FrameEncoder: stopped'));
      else if (this.running < this.parallel) start();
      else this.queue.push({ start, cancel });
    });
  }

  /**
   * Rejects the encodes not started yet, and any asked for later, and resolves once those running
   * have settled: after a failure nothing may still be writing a file the cleanup has looked for.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const q of this.queue.splice(0)) q.cancel(new Error('FrameEncoder: stopped'));
    while (this.running > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Frames queued or being encoded. */
  get backlog(): number {
    return this.running + this.queue.length;
  }
}

/**
 * ffmpeg's JPEG qscale (2 best .. 31, -q:v) for a libjpeg-style quality (1..100), so that
 * `--quality` means the same whichever encoder runs. libjpeg scales its base tables by
 * S = 5000 / q (q < 50) or 200 - 2q percent; ffmpeg's mjpeg encoder scales the same base tables
 * by its qscale. Matched by PSNR on three 720p frames of the bench video (sharp q60..95 against
 * ffmpeg -q:v 2..8): quality 85 (S 30) ~ qscale 5, 90 ~ 3.5, 95 ~ 2, 80 ~ 6, 70 ~ 8, which is
 * qscale = 1 + S / 7.5 to within half a step.
 */
export function jpegQscale(quality: number): number {
  const q = Math.min(100, Math.max(1, quality));
  const s = q < 50 ? 5000 / q : 200 - 2 * q;
  return Math.min(31, Math.max(1, Math.round(1 + s / 7.5)));
}

/** A sharp pipeline that encodes packed RGB. JPEG uses plain libjpeg-turbo (about 8x faster than mozjpeg here). */
async function encodeRgb(rgb: Buffer, width: number, height: number, format: ImageFormat, quality: number, bulk: boolean, picture?: { width: number; height: number }): Promise<Sharp> {
  // Loaded on first use: `frames detect` and the handler's cold start never pay for libvips.
  const sharp = await loadSharp();
  let img = sharp(rgb, { raw: { width, height, channels: 3 } });
  // An odd-sized picture sits in an even buffer (4:2:0): crop the padding off.
  if (picture && (picture.width < width || picture.height < height)) img = img.extract({ left: 0, top: 0, width: picture.width, height: picture.height });
  switch (format) {
    case 'jpeg':
      return img.jpeg({ quality, mozjpeg: false, chromaSubsampling: '4:2:0', optimiseCoding: !bulk });
    case 'webp':
      return img.webp({ quality, effort: 2 });
    case 'png':
      return img.png({ compressionLevel: 6 });
  }
}
