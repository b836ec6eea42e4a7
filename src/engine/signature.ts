/**
 * Tiny per-frame signatures for analysis: a 64x36 RGB thumbnail, its HSV planes and a coarse
 * colour histogram. Everything the detector compares is computed from these few kilobytes.
 */

// Module-local copies: a global lookup per use is very slow inside vm contexts (jest).
const { abs, max, min, round, sqrt } = Math;

export const SIG_W = 64;
export const SIG_H = 36;
export const SIG_PIXELS = SIG_W * SIG_H;
export const SIG_BYTES = SIG_PIXELS * 3;

const HUE_BINS = 12;
const HIST_BINS = HUE_BINS * 2 + 4;

export interface Signature {
  rgb: Uint8Array;
  h: Uint8Array;
  s: Uint8Array;
  v: Uint8Array;
  hist: Float32Array;
  /** Mean and standard deviation of V (0-255): near-uniform frames have a tiny stdev. */
  meanV: number;
  stdV: number;
  /** Mean R, G and B (0-255). */
  meanRgb: [number, number, number];
  /** Mean saturation of the pixels bright enough to show colour (0-255): near 0 for black-and-white video. */
  chroma: number;
}

/**
 * Frames whose `chroma` is below this are black-and-white: hue and saturation carry nothing, so the
 * content score compares brightness alone (PySceneDetect's luma-only mode, chosen per frame pair).
 */
export const ACHROMATIC_CHROMA = 4;

/**
 * Per-pixel HSV as lookup tables, built on first use (1.5 MB): the same numbers as the formulas
 * in buildTables, read instead of computed (two divisions and two roundings a pixel), which
 * halved makeSignature's time (65 -> 30 us a thumbnail; the detector makes one per frame).
 * Equal to the direct computation for every one of the 2^24 colours (test/engine/signature.test.ts).
 */
interface HsvTables {
  /** By max channel (R, G, B) and `delta * delta + diff + delta` (|diff| <= delta, diff the other two's difference): H 0-179. */
  hue: [Uint8Array, Uint8Array, Uint8Array];
  /** The same index: the hue's 30-degree histogram bin (0-11). */
  hueBin: [Uint8Array, Uint8Array, Uint8Array];
  /** By `max * 256 + delta`: S 0-255, rounded. */
  sat: Uint8Array;
  /** The same index: the unrounded saturation, weighted down below V 40 (for `chroma`). */
  satWeighted: Float64Array;
  /** The same index: 0 / 1 (low / high saturation) for a chromatic pixel, -1 for a grey one. */
  satBin: Int8Array;
}

let tables: HsvTables | undefined;

/** OpenCV's 8-bit HSV convention (H 0-179), as PySceneDetect uses, so thresholds carry over. */
function buildTables(): HsvTables {
  const n = 256 * 256;
  const hue: HsvTables['hue'] = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
  const hueBin: HsvTables['hueBin'] = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
  for (let delta = 1; delta < 256; delta++) {
    for (let diff = -delta; diff <= delta; diff++) {
      const k = delta * delta + diff + delta;
      for (let c = 0; c < 3; c++) {
        // max R: 60 (G - B) / delta; max G: 120 + 60 (B - R) / delta; max B: 240 + 60 (R - G) / delta.
        let h = c * 120 + (60 * diff) / delta;
        if (h < 0) h += 360;
        (hue[c] as Uint8Array)[k] = round(h / 2) % 180;
        (hueBin[c] as Uint8Array)[k] = ((h / 30) | 0) % HUE_BINS;
      }
    }
  }
  const sat = new Uint8Array(n);
  const satWeighted = new Float64Array(n);
  const satBin = new Int8Array(n);
  for (let mx = 0; mx < 256; mx++) {
    for (let delta = 0; delta <= mx; delta++) {
      const sv = mx === 0 ? 0 : (255 * delta) / mx;
      const k = mx * 256 + delta;
      sat[k] = round(sv);
      satWeighted[k] = sv * (mx < 40 ? mx / 40 : 1);
      satBin[k] = sv >= 40 && mx >= 40 ? (sv >= 128 ? 1 : 0) : -1;
    }
  }
  return { hue, hueBin, sat, satWeighted, satBin };
}

/** Build a signature from one packed RGB24 thumbnail of SIG_W x SIG_H. */
export function makeSignature(rgb: Uint8Array): Signature {
  const t = (tables ??= buildTables());
  const h = new Uint8Array(SIG_PIXELS);
  const s = new Uint8Array(SIG_PIXELS);
  const v = new Uint8Array(SIG_PIXELS);
  const hist = new Float32Array(HIST_BINS);
  let sumV = 0;
  let sumV2 = 0;
  let sumR = 0;
  let sumG = 0;
  let sumB = 0;
  let sumS = 0;
  for (let p = 0, o = 0; p < SIG_PIXELS; p++, o += 3) {
    const r = rgb[o] as number;
    const g = rgb[o + 1] as number;
    const b = rgb[o + 2] as number;
    sumR += r;
    sumG += g;
    sumB += b;
    const max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const min = r < g ? (r < b ? r : b) : g < b ? g : b;
    const delta = max - min;
    let hueBin = 0;
    if (delta > 0) {
      const c = max === r ? 0 : max === g ? 1 : 2;
      const k = delta * delta + (c === 0 ? g - b : c === 1 ? b - r : r - g) + delta;
      h[p] = (t.hue[c] as Uint8Array)[k] as number;
      hueBin = (t.hueBin[c] as Uint8Array)[k] as number;
    }
    const sk = max * 256 + delta;
    s[p] = t.sat[sk] as number;
    v[p] = max;
    sumS += t.satWeighted[sk] as number;
    sumV += max;
    sumV2 += max * max;
    // Histogram: chromatic pixels by hue x 2 saturation levels; greys by 4 brightness levels.
    const sb = t.satBin[sk] as number;
    if (sb >= 0) hist[hueBin * 2 + sb]! += 1;
    else hist[HUE_BINS * 2 + (max >> 6)]! += 1;
  }
  for (let i = 0; i < HIST_BINS; i++) hist[i] = (hist[i] as number) / SIG_PIXELS;
  const meanV = sumV / SIG_PIXELS;
  const stdV = sqrt(max(0, sumV2 / SIG_PIXELS - meanV * meanV));
  return { rgb, h, s, v, hist, meanV, stdV, meanRgb: [sumR / SIG_PIXELS, sumG / SIG_PIXELS, sumB / SIG_PIXELS], chroma: sumS / SIG_PIXELS };
}

/**
 * PySceneDetect's content score: mean of |dH|, |dS|, |dV| (hue taken around the circle), 0-255
 * scale; between two black-and-white frames, |dV| alone (there is no hue or saturation to differ).
 */
export function contentDistance(a: Signature, b: Signature): number {
  if (a.chroma < ACHROMATIC_CHROMA && b.chroma < ACHROMATIC_CHROMA) {
    let d = 0;
    for (let p = 0; p < SIG_PIXELS; p++) d += abs((a.v[p] as number) - (b.v[p] as number));
    return d / SIG_PIXELS;
  }
  let dh = 0;
  let ds = 0;
  let dv = 0;
  for (let p = 0; p < SIG_PIXELS; p++) {
    const va = a.v[p] as number;
    const vb = b.v[p] as number;
    const sa = a.s[p] as number;
    const sb = b.s[p] as number;
    // Hue and saturation are noise in near-black pixels (and hue in greys): weight them by how
    // much colour there really is, so fades and dark noise do not look like shot changes.
    const lightW = min(1, min(va, vb) / 40);
    const satW = min(1, min(sa, sb) / 40);
    let x = abs((a.h[p] as number) - (b.h[p] as number));
    if (x > 90) x = 180 - x;
    dh += x * lightW * satW;
    ds += abs(sa - sb) * min(1, max(va, vb) / 40) * (va < 24 || vb < 24 ? 0.5 : 1);
    dv += abs(va - vb);
  }
  // Hue spans 0-90 around the circle: scale it to 0-255 like the others.
  return ((dh * 255) / 90 + ds + dv) / (3 * SIG_PIXELS);
}

/** Half the L1 distance between colour histograms: 0 (same colours) to 1 (disjoint). Blind to motion. */
export function histogramDistance(a: Signature, b: Signature): number {
  let d = 0;
  for (let i = 0; i < a.hist.length; i++) d += abs((a.hist[i] as number) - (b.hist[i] as number));
  return d / 2;
}

/** Mean absolute RGB difference (0-255). */
export function rgbDistance(a: Signature, b: Signature): number {
  let d = 0;
  for (let i = 0; i < SIG_BYTES; i++) d += abs((a.rgb[i] as number) - (b.rgb[i] as number));
  return d / SIG_BYTES;
}

/**
 * How far `m` is from the cross-fade of `a` and `b` at weight `alpha` (mean absolute RGB error).
 * Small for a dissolve or fade, large for motion or a different shot.
 */
export function blendResidual(a: Signature, m: Signature, b: Signature, alpha: number): number {
  let d = 0;
  for (let i = 0; i < SIG_BYTES; i++) {
    const expected = (1 - alpha) * (a.rgb[i] as number) + alpha * (b.rgb[i] as number);
    d += abs((m.rgb[i] as number) - expected);
  }
  return d / SIG_BYTES;
}

/** Mean absolute difference of the average R, G and B (0-255): blind to texture, not to a fade. */
export function meanColourDistance(a: Signature, b: Signature): number {
  const [r1, g1, b1] = a.meanRgb;
  const [r2, g2, b2] = b.meanRgb;
  return (abs(r1 - r2) + abs(g1 - g2) + abs(b1 - b2)) / 3;
}

/** Near-uniform frame: black, white or a flat colour. */
export function isBlankSignature(sig: Signature): boolean {
  return sig.stdV < 6;
}

