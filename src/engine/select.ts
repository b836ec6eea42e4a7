/**
 * Choosing frames. Scene picks come from a bounded, decimating reservoir of full-resolution
 * candidates of the open scene; interval and fallback picks from slots that keep the nearest
 * candidate to a target time. Nothing here decodes or encodes.
 */
import type { CandidateFrame } from './analyze.js';
import { laplacianVariance } from './image.js';
import type { SceneSpan } from './scenes.js';
// Module-local copies: a global lookup per use is very slow inside vm contexts (jest).
const { abs, floor, max, round, sqrt } = Math;

/** Full-resolution frames below this luma standard deviation are near-uniform (black, white, flat). */
export const BLANK_STDEV = 6;

/**
 * Blank: near-uniform and near-black or near-white (a fade, a flash, an empty title). A flat
 * coloured frame (a solid blue screen) is content and is kept.
 */
export function isBlankCandidate(c: CandidateFrame): boolean {
  const st = frameStats(c);
  return st.sdY < BLANK_STDEV && (st.meanY < 40 || st.meanY > 215);
}

export interface FrameStats {
  meanY: number;
  sdY: number;
  meanU: number;
  meanV: number;
}

const statsCache = new WeakMap<CandidateFrame, FrameStats>();

/** Luma mean and deviation, chroma means, on a sparse grid (about 20k samples). */
export function frameStats(c: CandidateFrame): FrameStats {
  const cached = statsCache.get(c);
  if (cached) return cached;
  const st = c.pixels === 'rgb24' ? rgbStats(c) : yuvStats(c);
  statsCache.set(c, st);
  return st;
}

const sampleStep = (c: CandidateFrame): number => max(1, floor(sqrt((c.width * c.height) / 20000)));

function yuvStats(c: CandidateFrame): FrameStats {
  const step = sampleStep(c);
  const d = c.data;
  let sum = 0;
  let sum2 = 0;
  let n = 0;
  for (let y = 0; y < c.height; y += step) {
    const row = y * c.width;
    for (let x = 0; x < c.width; x += step) {
      const v = d[row + x] as number;
      sum += v;
      sum2 += v * v;
      n++;
    }
  }
  const cw = c.width >> 1;
  const ch = c.height >> 1;
  const uOff = c.width * c.height;
  const vOff = uOff + cw * ch;
  let su = 0;
  let sv = 0;
  let m = 0;
  for (let y = 0; y < ch; y += step) {
    for (let x = 0; x < cw; x += step) {
      su += d[uOff + y * cw + x] as number;
      sv += d[vOff + y * cw + x] as number;
      m++;
    }
  }
  const meanY = sum / max(1, n);
  return { meanY, sdY: sqrt(max(0, sum2 / max(1, n) - meanY * meanY)), meanU: su / max(1, m), meanV: sv / max(1, m) };
}

/** BT.601 limited-range chroma of an RGB pixel (the inverse of yuv420ToRgb). */
const uOfRgb = (r: number, g: number, b: number): number => ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
const vOfRgb = (r: number, g: number, b: number): number => ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;

/** The same figures from packed RGB, through BT.601 limited-range YUV (the inverse of yuv420ToRgb). */
function rgbStats(c: CandidateFrame): FrameStats {
  const step = sampleStep(c);
  const d = c.data;
  let sum = 0;
  let sum2 = 0;
  let su = 0;
  let sv = 0;
  let n = 0;
  for (let y = 0; y < c.height; y += step) {
    const row = y * c.width;
    for (let x = 0; x < c.width; x += step) {
      const o = (row + x) * 3;
      const r = d[o] as number;
      const g = d[o + 1] as number;
      const b = d[o + 2] as number;
      const v = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
      sum += v;
      sum2 += v * v;
      su += uOfRgb(r, g, b);
      sv += vOfRgb(r, g, b);
      n++;
    }
  }
  const meanY = sum / max(1, n);
  return { meanY, sdY: sqrt(max(0, sum2 / max(1, n) - meanY * meanY)), meanU: su / max(1, n), meanV: sv / max(1, n) };
}

/** Cells per side of chromaLayout's grid. */
export const CHROMA_GRID = 4;

/**
 * Mean U and V of each cell of a CHROMA_GRID x CHROMA_GRID grid (U of every cell, then V): where
 * the colours are, which dHash (luma only) and the global means cannot tell. Two slides of one
 * template, or a gradient test card with its colour channels rotated, share both.
 */
export function chromaLayout(c: CandidateFrame): Uint8Array {
  const n = CHROMA_GRID;
  const out = new Uint8Array(2 * n * n);
  if (c.pixels === 'gray') return out;
  const sum = new Float64Array(2 * n * n);
  const cnt = new Float64Array(n * n);
  const step = sampleStep(c);
  const d = c.data;
  if (c.pixels === 'rgb24') {
    for (let y = 0; y < c.height; y += step) {
      const cy = floor((y * n) / c.height);
      for (let x = 0; x < c.width; x += step) {
        const o = (y * c.width + x) * 3;
        const r = d[o] as number;
        const g = d[o + 1] as number;
        const b = d[o + 2] as number;
        const k = cy * n + floor((x * n) / c.width);
        sum[k] = (sum[k] as number) + uOfRgb(r, g, b);
        sum[n * n + k] = (sum[n * n + k] as number) + vOfRgb(r, g, b);
        cnt[k] = (cnt[k] as number) + 1;
      }
    }
  } else {
    const cw = c.width >> 1;
    const ch = c.height >> 1;
    const uOff = c.width * c.height;
    const vOff = uOff + cw * ch;
    for (let y = 0; y < ch; y += step) {
      const cy = floor((y * n) / ch);
      for (let x = 0; x < cw; x += step) {
        const k = cy * n + floor((x * n) / cw);
        sum[k] = (sum[k] as number) + (d[uOff + y * cw + x] as number);
        sum[n * n + k] = (sum[n * n + k] as number) + (d[vOff + y * cw + x] as number);
        cnt[k] = (cnt[k] as number) + 1;
      }
    }
  }
  for (let k = 0; k < n * n; k++) {
    const m = max(1, cnt[k] as number);
    out[k] = round((sum[k] as number) / m);
    out[n * n + k] = round((sum[n * n + k] as number) / m);
  }
  return out;
}

/** Mean absolute difference of two chroma layouts (0..255). */
export function chromaDistance(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += abs((a[i] as number) - (b[i] as number));
  return a.length ? s / a.length : 0;
}

export interface FramePick {
  candidate: CandidateFrame;
  sharpness: number;
  /** Why it was picked: for the manifest reader and for tests. */
  reason: 'scene' | 'interval' | 'fallback' | 'all';
}

/**
 * Candidates of the scene still open, spread evenly over it: past `capacity`, the one whose
 * neighbours are closest together goes (never the first or the newest), so the set stays full and
 * its gaps within about 2x of each other. Halving the set whenever it was full kept the later
 * candidates dense and the earlier ones ever sparser, and scene picks crowded the end of long
 * scenes (hybrid on the film: 6410, 6418, 6422, 6426 in a scene of 6344-6427).
 */
export class Reservoir {
  private items: CandidateFrame[] = [];
  constructor(readonly capacity = 16) {}

  add(c: CandidateFrame): void {
    c.hold();
    this.items.push(c);
    if (this.items.length <= Math.max(2, this.capacity)) return;
    let drop = 1;
    let span = Number.POSITIVE_INFINITY;
    for (let i = 1; i < this.items.length - 1; i++) {
      const s = (this.items[i + 1] as CandidateFrame).index - (this.items[i - 1] as CandidateFrame).index;
      if (s < span) { span = s; drop = i; }
    }
    (this.items[drop] as CandidateFrame).drop();
    this.items.splice(drop, 1);
  }

  /** Remove and return the candidates before `frame` (they belong to a closed scene; the caller drops them). */
  takeBefore(frame: number): CandidateFrame[] {
    const cut = this.items.findIndex((c) => c.index >= frame);
    const taken = cut < 0 ? this.items : this.items.slice(0, cut);
    this.items = cut < 0 ? [] : this.items.slice(cut);
    return taken;
  }

  get size(): number {
    return this.items.length;
  }
}

/**
 * Pick `n` frames from a closed scene: for each of n evenly spaced positions inside the scene's
 * stable part (outside transitions), the sharpest non-blank candidate near the position.
 */
export function pickFromScene(scene: SceneSpan, cands: CandidateFrame[], n: number): FramePick[] {
  const usable = cands.filter((c) => !isBlankCandidate(c));
  if (!usable.length) return [];
  const stable = usable.filter((c) => c.index >= scene.stableStart && c.index <= scene.stableEnd);
  const pool = stable.length ? stable : usable;
  const lo = scene.stableStart;
  const hi = max(scene.stableStart, scene.stableEnd);
  const picks: FramePick[] = [];
  const used = new Set<CandidateFrame>();
  const slot = (hi - lo + 1) / n;
  for (let j = 0; j < n; j++) {
    const target = lo + slot * (j + 0.5);
    const radius = max(1, slot * 0.3);
    const near = pool.filter((c) => !used.has(c) && abs(c.index - target) <= radius);
    let chosen: CandidateFrame | undefined;
    let best = -1;
    for (const c of near) {
      const s = laplacianVariance(c.data, c.width, c.height, c.pixels);
      if (s > best) { best = s; chosen = c; }
    }
    if (!chosen) {
      // Nothing near this position: the nearest candidate of the scene not yet taken.
      chosen = pool.filter((c) => !used.has(c)).sort((a, b) => abs(a.index - target) - abs(b.index - target))[0];
      if (!chosen) break;
      best = laplacianVariance(chosen.data, chosen.width, chosen.height, chosen.pixels);
    }
    used.add(chosen);
    picks.push({ candidate: chosen, sharpness: best, reason: 'scene' });
  }
  return picks.sort((a, b) => a.candidate.index - b.candidate.index);
}

/** Keeps, for each target time, the nearest non-blank candidate seen. */
export class TimeSlots {
  private readonly best: Array<CandidateFrame | undefined>;
  constructor(readonly targets: number[]) {
    this.best = targets.map(() => undefined);
  }

  offer(c: CandidateFrame): void {
    if (isBlankCandidate(c)) return;
    // Only the slots whose target is near this time can change.
    for (let k = 0; k < this.targets.length; k++) {
      const t = this.targets[k] as number;
      // A slot already taken (target set to Infinity) must not take a candidate again: it would
      // never be replaced or dropped, and one pixel buffer per interval stayed held (1.8 GB on a
      // 20-minute 1080p film in hybrid mode).
      if (!Number.isFinite(t)) continue;
      const cur = this.best[k];
      if (!cur || abs(c.time - t) < abs(cur.time - t)) {
        c.hold();
        cur?.drop();
        this.best[k] = c;
      }
    }
  }

  /** Slots whose target lies before `time` minus a margin are final: take them out (the caller drops them). */
  takeFinal(time: number, margin: number): Array<{ slot: number; candidate: CandidateFrame }> {
    const out: Array<{ slot: number; candidate: CandidateFrame }> = [];
    for (let k = 0; k < this.targets.length; k++) {
      const c = this.best[k];
      if (c && (this.targets[k] as number) + margin < time) {
        out.push({ slot: k, candidate: c });
        this.best[k] = undefined;
        this.targets[k] = Number.POSITIVE_INFINITY;
      }
    }
    return out;
  }

  takeAll(): Array<{ slot: number; candidate: CandidateFrame }> {
    const out: Array<{ slot: number; candidate: CandidateFrame }> = [];
    this.best.forEach((c, k) => { if (c && Number.isFinite(this.targets[k] as number)) out.push({ slot: k, candidate: c }); });
    this.best.fill(undefined);
    return out;
  }

  clear(): void {
    for (const c of this.best) c?.drop();
    this.best.fill(undefined);
  }
}

export function sharpnessOf(c: CandidateFrame): number {
  return laplacianVariance(c.data, c.dataWidth ?? c.width, c.dataHeight ?? c.height, c.pixels);
}
