/** Pixel work on full-resolution candidate frames: colour conversion, sharpness, blankness, dHash, encoding. */
import type { ImageFormat } from './types.js';
// Module-local copies: a global lookup per use is very slow inside vm contexts (jest).
const { floor, max, round } = Math;

/** Planar YUV 4:2:0 (BT.601 limited range, as H.264 decoders output it) -> packed RGB24, in fixed point. */
export function yuv420ToRgb(yuv: Buffer, width: number, height: number, into?: Buffer): Buffer {
  const out = into && into.length === width * height * 3 ? into : Buffer.allocUnsafe(width * height * 3);
  const ySize = width * height;
  const cw = width >> 1;
  const uOff = ySize;
  const vOff = ySize + cw * (height >> 1);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const crow = (y >> 1) * cw;
    const yrow = y * width;
    for (let x = 0; x < width; x += 2) {
      const ci = crow + (x >> 1);
      const u = (yuv[uOff + ci] as number) - 128;
      const v = (yuv[vOff + ci] as number) - 128;
      // 16.16 fixed-point BT.601 coefficients, shared by the two pixels of a chroma sample.
      const rv = 104597 * v;
      const guv = -25675 * u - 53279 * v;
      const bu = 132201 * u;
      for (let k = 0; k < 2 && x + k < width; k++) {
        const c = 76309 * ((yuv[yrow + x + k] as number) - 16) + 32768;
        const r = (c + rv) >> 16;
        const g = (c + guv) >> 16;
        const b = (c + bu) >> 16;
        out[o++] = r < 0 ? 0 : r > 255 ? 255 : r;
        out[o++] = g < 0 ? 0 : g > 255 ? 255 : g;
        out[o++] = b < 0 ? 0 : b > 255 ? 255 : b;
      }
    }
  }
  return out;
}

/**
 * Sharpness as the variance of the Laplacian of luma, sampled on a grid of at most ~320 px wide
 * so it costs about a millisecond on any frame size.
 */
export function laplacianVariance(yuv: Buffer, width: number, height: number): number {
  const step = max(1, floor(width / 320));
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let y = step; y < height - step; y += step) {
    const row = y * width;
    for (let x = step; x < width - step; x += step) {
      const c = yuv[row + x] as number;
      const lap = 4 * c - (yuv[row + x - 1] as number) - (yuv[row + x + 1] as number) - (yuv[row - width + x] as number) - (yuv[row + width + x] as number);
      sum += lap;
      sum2 += lap * lap;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return round((sum2 / n - mean * mean) * 10) / 10;
}

/** 64-bit difference hash of luma (9x8 box averages), as a bigint. */
export function dHash(yuv: Buffer, width: number, height: number): bigint {
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
      for (let y = y0; y < y1; y += sy) for (let x = x0; x < x1; x += sx) { s += yuv[y * width + x] as number; n++; }
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

export const EXT: Record<ImageFormat, string> = { jpeg: 'jpg', webp: 'webp', png: 'png' };
export const CONTENT_TYPE: Record<ImageFormat, string> = { jpeg: 'image/jpeg', webp: 'image/webp', png: 'image/png' };

/**
 * Encodes frames one at a time through a single reused RGB buffer, so a bounded amount of memory
 * is ever in use whatever the frame size.
 */
export class FrameEncoder {
  private rgb: Buffer | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly format: ImageFormat, private readonly quality: number) {}

  /**
   * Queue one frame. `done` is called once the YUV pixels have been read (so a pooled buffer can
   * be recycled); until then the caller must keep `yuv` unchanged. `picture`: the part of the
   * buffer to encode, from the top left (an odd size in its even buffer).
   */
  encode(yuv: Buffer, width: number, height: number, done?: () => void, picture?: { width: number; height: number }): Promise<Buffer> {
    const result = this.chain.then(async () => {
      const size = width * height * 3;
      if (!this.rgb || this.rgb.length !== size) this.rgb = Buffer.allocUnsafeSlow(size);
      try {
        yuv420ToRgb(yuv, width, height, this.rgb);
      } finally {
        done?.();
      }
      return encodeRgb(this.rgb, width, height, this.format, this.quality, picture);
    });
    this.chain = result.catch(() => undefined);
    return result;
  }
}

/** Encode packed RGB. JPEG uses plain libjpeg-turbo (about 8x faster than mozjpeg here). */
async function encodeRgb(rgb: Buffer, width: number, height: number, format: ImageFormat, quality: number, picture?: { width: number; height: number }): Promise<Buffer> {
  // Loaded on first use: `frames detect` and the handler's cold start never pay for libvips.
  const sharp = await loadSharp();
  let img = sharp(rgb, { raw: { width, height, channels: 3 } });
  // An odd-sized picture sits in an even buffer (4:2:0): crop the padding off.
  if (picture && (picture.width < width || picture.height < height)) img = img.extract({ left: 0, top: 0, width: picture.width, height: picture.height });
  switch (format) {
    case 'jpeg':
      return img.jpeg({ quality, mozjpeg: false, chromaSubsampling: '4:2:0' }).toBuffer();
    case 'webp':
      return img.webp({ quality, effort: 2 }).toBuffer();
    case 'png':
      return img.png({ compressionLevel: 6 }).toBuffer();
  }
}
