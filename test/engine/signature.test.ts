/**
 * makeSignature reads HSV from lookup tables: it must give what the direct computation gives
 * (OpenCV's 8-bit HSV, as PySceneDetect uses) for every colour, since the detector's thresholds
 * were tuned on those numbers.
 */
import { makeSignature, SIG_PIXELS, type Signature } from '../../src/engine/signature.js';

// Module-local copies: a global lookup per use is very slow inside jest's vm contexts.
const { floor, max: mathMax, min: mathMin, round, sqrt } = Math;

/** The direct computation, pixel by pixel (what makeSignature computed before its tables). */
function reference(rgb: Uint8Array): Pick<Signature, 'h' | 's' | 'v' | 'hist' | 'chroma' | 'meanV' | 'stdV'> {
  const h = new Uint8Array(SIG_PIXELS);
  const s = new Uint8Array(SIG_PIXELS);
  const v = new Uint8Array(SIG_PIXELS);
  const hist = new Float32Array(28);
  let sumS = 0;
  let sumV = 0;
  let sumV2 = 0;
  for (let p = 0; p < SIG_PIXELS; p++) {
    const r = rgb[3 * p] as number;
    const g = rgb[3 * p + 1] as number;
    const b = rgb[3 * p + 2] as number;
    const max = mathMax(r, g, b);
    const delta = max - mathMin(r, g, b);
    let hue = 0;
    if (delta > 0) {
      if (max === r) hue = (60 * (g - b)) / delta;
      else if (max === g) hue = 120 + (60 * (b - r)) / delta;
      else hue = 240 + (60 * (r - g)) / delta;
      if (hue < 0) hue += 360;
    }
    const sat = max === 0 ? 0 : (255 * delta) / max;
    h[p] = round(hue / 2) % 180;
    s[p] = round(sat);
    v[p] = max;
    sumS += sat * (max < 40 ? max / 40 : 1);
    sumV += max;
    sumV2 += max * max;
    if (sat >= 40 && max >= 40) hist[(floor(hue / 30) % 12) * 2 + (sat >= 128 ? 1 : 0)]! += 1;
    else hist[24 + (max >> 6)]! += 1;
  }
  for (let i = 0; i < 28; i++) hist[i] = (hist[i] as number) / SIG_PIXELS;
  const meanV = sumV / SIG_PIXELS;
  return { h, s, v, hist, chroma: sumS / SIG_PIXELS, meanV, stdV: sqrt(mathMax(0, sumV2 / SIG_PIXELS - meanV * meanV)) };
}

function sameBytes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe('makeSignature', () => {
  it('gives the direct computation\'s H, S, V, histogram and sums for all 2^24 colours', () => {
    const rgb = new Uint8Array(SIG_PIXELS * 3);
    let thumbnails = 0;
    let mismatches = 0;
    const first: string[] = [];
    // Thumbnails of 2304 consecutive colours (R, G, B as the digits of one 24-bit number).
    for (let base = 0; base < 1 << 24; base += SIG_PIXELS) {
      for (let p = 0; p < SIG_PIXELS; p++) {
        const c = (base + p) % (1 << 24);
        rgb[3 * p] = c >> 16;
        rgb[3 * p + 1] = (c >> 8) & 255;
        rgb[3 * p + 2] = c & 255;
      }
      const a = makeSignature(rgb);
      const b = reference(rgb);
      thumbnails++;
      const same = a.meanV === b.meanV && a.stdV === b.stdV && a.chroma === b.chroma
        && sameBytes(a.h, b.h) && sameBytes(a.s, b.s) && sameBytes(a.v, b.v) && sameBytes(a.hist, b.hist);
      if (!same) {
        mismatches++;
        if (first.length < 3) first.push(`colours from ${base.toString(16)}`);
      }
    }
    expect(thumbnails).toBe(Math.ceil((1 << 24) / SIG_PIXELS));
    expect(first).toEqual([]);
    expect(mismatches).toBe(0);
  }, 120_000);

  it('keeps the thumbnail it was made from and its mean colour', () => {
    const rgb = new Uint8Array(SIG_PIXELS * 3).map((_, i) => (i % 3 === 0 ? 200 : i % 3 === 1 ? 100 : 50));
    const sig = makeSignature(rgb);
    expect(sig.rgb).toBe(rgb);
    expect(sig.meanRgb).toEqual([200, 100, 50]);
    // Orange: max R, (G - B) / delta = 50 / 150 -> 20 degrees -> H 10; S 255 * 150 / 200.
    expect(sig.h[0]).toBe(10);
    expect(sig.s[0]).toBe(191);
    expect(sig.v[0]).toBe(200);
  });
});
