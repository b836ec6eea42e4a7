/**
 * Streaming scene-boundary detector over tiny frame signatures.
 *
 * Hard cuts: PySceneDetect's content score (mean |dH|,|dS|,|dV|) above the threshold, that also
 * stands out from its neighbours (so fast motion and fine moving texture do not fire), that is not
 * a flash (the picture comes back within a few frames), and at least minSceneLen after the last cut.
 * Gradual transitions (dissolves): over 0.4-2 s the picture changes a lot, the frames in between
 * are cross-fades of the two ends (blend residual small), and the picture is steady before and
 * after: its colours do not change, or (over spans up to ~1.3 s) not in the direction of the
 * transition, so a shot drifting in colour can still dissolve into the next while a hue rotation
 * is no dissolve. Fades to or from a blank frame are not shot changes (as in PySceneDetect).
 *
 * Memory is bounded: only the last few seconds of signatures are kept.
 */
import {
  blendResidual, contentDistance, histogramDistance, isBlankSignature, meanColourDistance, rgbDistance, SIG_PIXELS, type Signature,
} from './signature.js';
import type { TransitionKind } from './types.js';
// Module-local copies: a global lookup per use is very slow inside vm contexts (jest).
const { ceil, max, min, round } = Math;

export interface Boundary {
  /** First frame of the new scene. */
  frame: number;
  time: number;
  kind: TransitionKind;
  /** For gradual transitions: the frames the transition spans (inclusive). */
  span?: [number, number];
}

export interface DetectorOptions {
  threshold: number;
  minSceneLenSec: number;
}

interface Entry {
  index: number;
  time: number;
  sig: Signature;
  /** Content score against the previous entry. */
  c: number;
  /** Histogram distance against the previous entry. */
  hd: number;
  keyframe: boolean;
}

const LOOKAHEAD = 3;
const HISTORY_SEC = 3.8;
const GRADUAL_SPANS_SEC = [0.5, 0.75, 1.0, 1.3, 1.7, 2.1];
const STEADY_SEC = 0.3;
const BLANK_RUN_SEC = 0.5;
/** A cut that returns to a picture of its own scene this much older is no cut (see returnsToScene). */
const RETURN_GAP_SEC = 0.3;
const GRADUAL_MIN_HIST = 0.35;
/** Colour change per second around a dissolve, at most this fraction of the rate inside it. */
const GRADUAL_RATE_RATIO = 0.6;
/**
 * Spans up to this long are judged by the direction of the change before them rather than by its
 * rate: over longer stretches evolving content (a zoom, a pan) loses any one direction.
 */
const GRADUAL_DIRECTIONAL_SEC = 1.35;
/** Before a dissolve, the picture heads towards its end at most this fraction of the rate inside it... */
const GRADUAL_ALONG_RATIO = 0.25;
/** ...and has covered at most this fraction of the change in the STEADY_SEC before it. */
const GRADUAL_STEADY_ALONG = 0.3;
/** Longer spans: a change before it this aligned is drift whatever its rate. */
const GRADUAL_LONG_ALONG_RATIO = 0.5;
/** Frames inside a dissolve differ from the best cross-fade of its ends by at most this fraction of the change. */
const GRADUAL_MAX_BLEND = 0.35;
const DEBUG = Boolean(process.env.FRAMES_DEBUG_DETECTOR);

export class SceneDetector {
  private readonly entries: Entry[] = [];
  /** Position in `entries` of the next entry to judge for a hard cut. */
  private next = 1;
  private lastBoundaryFrame = 0;
  private lastBoundaryTime = 0;
  /** No gradual transition may start before this frame (the last boundary or transition end). */
  private gradualFloor = 0;
  /** A run of blank frames (black, white, flat) in progress: where it began. */
  private blankRun: Entry | null = null;
  /** The current scene has shown something other than blank frames. */
  private sceneHasContent = false;
  /** Last frame of the most recent flash: cuts up to it are the flash going away. */
  private flashEnd = -1;
  readonly boundaries: Boundary[] = [];
  /** Latest frame whose scene membership is final. */
  settledFrame = -1;

  constructor(private readonly opts: DetectorOptions, private readonly onBoundary?: (b: Boundary) => void) {}

  /** `keyframe`: the frame is intra-coded (the encoder saw a cut there, or a GOP starts). */
  push(index: number, time: number, sig: Signature, keyframe = false): void {
    const prev = this.entries.at(-1);
    const entry: Entry = {
      index, time, sig, keyframe,
      c: prev ? contentDistance(prev.sig, sig) : 0,
      hd: prev ? histogramDistance(prev.sig, sig) : 0,
    };
    this.entries.push(entry);
    while (this.next <= this.entries.length - 1 - LOOKAHEAD) {
      this.judgeCut(this.next);
      this.next++;
    }
    this.judgeGradual();
    this.trim();
  }

  /** Judge the remaining entries with whatever lookahead exists. */
  flush(): void {
    while (this.next < this.entries.length) {
      this.judgeCut(this.next);
      this.next++;
    }
    this.judgeGradual();
    const last = this.entries.at(-1);
    if (last) this.settledFrame = last.index;
  }

  private judgeCut(j: number): void {
    const e = this.entries[j] as Entry;
    const prev = this.entries[j - 1] as Entry;
    const T = this.opts.threshold;
    if (e.index <= this.gradualFloor && this.boundaries.length > 0 && this.boundaries.at(-1)?.kind === 'gradual') {
      this.settle(j);
      return;
    }
    if (this.judgeBlankRun(e)) {
      this.settle(j);
      return;
    }
    let isCut = e.c >= T;
    if (isCut) {
      // Stand out from the neighbours: fast motion gives uniformly high scores.
      const nb: number[] = [];
      for (const k of [j - 2, j - 1, j + 1, j + 2]) {
        const n = this.entries[k];
        if (n && k >= 1 && n.index > this.lastBoundaryFrame) nb.push(n.c);
      }
      const mean = nb.length ? nb.reduce((a, b) => a + b, 0) / nb.length : 0;
      if (e.c < 2 * mean) {
        // Still a cut if the colours change wholesale while the neighbours do not (moving texture keeps its colours).
        const nbh: number[] = [];
        for (const k of [j - 2, j - 1, j + 1, j + 2]) { const n = this.entries[k]; if (n && k >= 1) nbh.push(n.hd); }
        const meanH = nbh.length ? nbh.reduce((a, b) => a + b, 0) / nbh.length : 0;
        isCut = e.hd >= 0.25 && e.hd >= 3 * meanH;
      }
    }
    if (isCut && e.index <= this.flashEnd) isCut = false;
    if (isCut && this.isFlash(j)) isCut = false;
    if (isCut && this.returnsToScene(j)) isCut = false;
    if (isCut && e.time - this.lastBoundaryTime < this.opts.minSceneLenSec && this.boundaries.length > 0) isCut = false;
    if (isCut && this.boundaries.length === 0 && e.time < this.opts.minSceneLenSec) isCut = false;
    if (isCut) {
      const blankNow = isBlankSignature(e.sig);
      // With frames skipped between the two entries the cut lies somewhere in (prev, e]. An
      // encoder that saw the cut made `e` a keyframe; otherwise the middle of the gap is never
      // more than two frames off (x264 puts at most three B-frames in a row).
      let frame = e.index;
      let time = e.time;
      const gap = e.index - prev.index;
      if (gap > 1 && !e.keyframe) {
        frame = prev.index + ceil(gap / 2);
        time = prev.time + ((e.time - prev.time) * (frame - prev.index)) / gap;
      }
      this.emit({ frame, time, kind: 'cut' }, blankNow);
      if (blankNow) this.blankRun = e;
    }
    this.settle(j);
  }

  /**
   * Blank runs: a fade-in after a blank run of at least BLANK_RUN_SEC starts a new scene at its
   * first non-blank frame, but only if the current scene already showed content: a blank lead-in
   * (cut to black, then fade in) belongs to the scene it introduces.
   * @returns true when a boundary was emitted for `e`.
   */
  private judgeBlankRun(e: Entry): boolean {
    // The run lasts while the average colour holds: a fade-in ends it as soon as it brightens, but
    // faint texture moving across a flat-looking field (a blank by its spread) does not.
    const blank = isBlankSignature(e.sig) && (!this.blankRun || meanColourDistance(this.blankRun.sig, e.sig) < 1);
    if (blank) {
      if (!this.blankRun) this.blankRun = e;
      return false;
    }
    const run = this.blankRun;
    this.blankRun = null;
    const hadContent = this.sceneHasContent;
    this.sceneHasContent = true;
    if (run && hadContent && e.time - run.time >= BLANK_RUN_SEC && e.time - this.lastBoundaryTime >= this.opts.minSceneLenSec) {
      this.emit({ frame: e.index, time: e.time, kind: 'gradual', span: [run.index, e.index - 1] });
      return true;
    }
    return false;
  }

  /** A flash: within ~0.25 s the picture returns close to the frame before the jump. */
  private isFlash(j: number): boolean {
    const before = this.entries[j - 1] as Entry;
    const e = this.entries[j] as Entry;
    for (let k = 1; k <= LOOKAHEAD; k++) {
      const after = this.entries[j + k];
      if (!after || after.time - before.time > 0.35) break;
      const back = contentDistance(before.sig, after.sig);
      if (back < this.opts.threshold * 0.6 && back < e.c * 0.45) {
        // The jump back out of the flash is not a cut either.
        this.flashEnd = after.index;
        return true;
      }
    }
    return false;
  }

  /**
   * The jump lands on a picture this scene already showed, more than RETURN_GAP_SEC ago: the end
   * of something transient (a decoder glitch cleared at the next keyframe, an occlusion), no cut.
   */
  private returnsToScene(j: number): boolean {
    const e = this.entries[j] as Entry;
    const T = this.opts.threshold;
    for (let k = j - 1; k >= 0; k--) {
      const old = this.entries[k] as Entry;
      if (old.index < this.lastBoundaryFrame) break;
      if (e.time - old.time < RETURN_GAP_SEC) continue;
      const back = contentDistance(old.sig, e.sig);
      if (back < T * 0.6 && back < e.c * 0.45) return true;
    }
    return false;
  }

  private judgeGradual(): void {
    const n = this.entries.length;
    if (n < 4) return;
    // Judge the entry `b` that has STEADY_SEC of frames after it.
    const lastTime = (this.entries[n - 1] as Entry).time;
    let bi = n - 1;
    while (bi > 0 && lastTime - (this.entries[bi] as Entry).time < STEADY_SEC) bi--;
    const b = this.entries[bi] as Entry;
    if (b.index <= this.gradualFloor || isBlankSignature(b.sig)) return;
    const after = this.entries[n - 1] as Entry;
    if (after.time - b.time < STEADY_SEC * 0.8) return;
    for (const span of GRADUAL_SPANS_SEC) {
      const ai = this.indexAtTime(b.time - span, bi);
      if (ai < 0) break;
      const a = this.entries[ai] as Entry;
      if (a.index < this.gradualFloor || bi - ai < 3) continue;
      if (isBlankSignature(a.sig)) continue;
      // The histogram test first: it is the cheapest (28 bins against 2304 pixels) and turns away
      // most candidates, in every frame's judgement, for each span.
      const H = histogramDistance(a.sig, b.sig);
      let D = NaN;
      let C = NaN;
      const why = (r: string): void => { if (DEBUG) console.error(`gradual a=${a.index} b=${b.index} D=${D.toFixed(1)} C=${C.toFixed(1)} H=${H.toFixed(2)}: ${r}`); };
      // A dissolve changes the colour distribution (motion and moving texture do not)...
      if (H < GRADUAL_MIN_HIST) { why('hist'); continue; }
      D = rgbDistance(a.sig, b.sig);
      C = contentDistance(a.sig, b.sig);
      // ...by a large accumulated change (twin comparison) made of small steps...
      if (C < this.opts.threshold * 0.9 || D < 12) { why('small'); continue; }
      // ...between two pictures whose colours are steady before and after (judged on histograms,
      // which motion does not disturb)...
      if (!this.steadyAfter(bi, H)) { why('not steady after'); continue; }
      const directional = b.time - a.time <= GRADUAL_DIRECTIONAL_SEC;
      const pi = this.indexAtTime(a.time - STEADY_SEC, ai);
      // A transition needs a picture to come from: none that starts with the video.
      if (pi < 0) { why('no picture before'); continue; }
      // Colours that change before `a` but not the way the transition goes are a shot drifting on
      // its own, not the transition begun early; no such excuse across the previous boundary.
      const p = this.entries[pi] as Entry;
      if (histogramDistance(p.sig, a.sig) > 0.3 * H && (!directional || p.index < this.gradualFloor || alongFraction(p.sig, a.sig, a.sig, b.sig) > GRADUAL_STEADY_ALONG)) { why('not steady before'); continue; }
      // ...and the colours change much faster inside than just before it: slow pans and zooms
      // drift at one rate throughout. (Judged over up to a second: histogram noise dominates
      // shorter stretches.)
      // The stretch before `a`, within the current scene (not across the previous cut).
      let wi = this.indexAtTime(a.time - min(span, 1), ai);
      while (wi >= 0 && wi < ai && (this.entries[wi] as Entry).index < this.lastBoundaryFrame) wi++;
      if (wi < 0) wi = 0;
      if (wi < ai && a.time - (this.entries[wi] as Entry).time >= 0.2) {
        const w = this.entries[wi] as Entry;
        const rateIn = H / max(1e-3, b.time - a.time);
        const rateBefore = histogramDistance(w.sig, a.sig) / max(1e-3, a.time - w.time);
        // Over a short span the direction of the change tells more than its rate: a shot drifting
        // in colour on its own may run into a dissolve (it heads elsewhere), while a hue rotation
        // goes on the way it went. Over longer spans evolving content loses its direction, so the
        // rate decides, unless the change before is plainly the same one.
        const along = this.alongBefore(wi, ai, b);
        // (and the same after `b`: a transition does not go on past its end)
        const z = this.entries[this.entries.length - 1] as Entry;
        const alongAfter = (alongFraction(b.sig, z.sig, a.sig, b.sig) / max(1e-3, z.time - b.time)) * (b.time - a.time);
        const drifts = directional && along !== undefined
          ? along > GRADUAL_ALONG_RATIO || alongAfter > GRADUAL_ALONG_RATIO
          : rateBefore > GRADUAL_RATE_RATIO * rateIn || (along ?? 0) > GRADUAL_LONG_ALONG_RATIO;
        if (drifts) {
          why(`rate in ${rateIn.toFixed(2)} vs before ${rateBefore.toFixed(2)}, along ${along?.toFixed(2)}`);
          continue;
        }
      }
      // ...that is not a fade to or from black or white...
      if (isFadeLike(a.sig, b.sig)) { why('fade'); continue; }
      // ...and whose frames in between look like cross-fades of the two ends, with no cut inside.
      let ok = true;
      for (let k = ai + 1; k < bi; k++) {
        const m = this.entries[k] as Entry;
        // One step carrying much of the change is a cut (judged by the cut test), not a dissolve.
        if (m.c >= this.opts.threshold * 1.5 || rgbDistance((this.entries[k - 1] as Entry).sig, m.sig) > 0.4 * D) { ok = false; why(`big step at ${m.index}`); break; }
        const r = blendResidual(a.sig, m.sig, b.sig, this.bestAlpha(a.sig, m.sig, b.sig));
        if (r > GRADUAL_MAX_BLEND * D) { ok = false; why(`blend ${(r / D).toFixed(2)} at ${m.index}`); break; }
      }
      if (!ok) continue;
      if (rgbDistance((this.entries[bi - 1] as Entry).sig, b.sig) > 0.4 * D) { why('big last step'); continue; }
      // Tighten to the frames that actually change.
      let first = ai + 1;
      while (first < bi && rgbDistance(a.sig, (this.entries[first] as Entry).sig) < 0.15 * D) first++;
      let last = bi - 1;
      while (last > first && rgbDistance((this.entries[last] as Entry).sig, b.sig) < 0.15 * D) last--;
      const fs = this.entries[first] as Entry;
      const ls = this.entries[last] as Entry;
      if (ls.index - fs.index < 3) continue; // that is a cut, judged elsewhere
      const prev = this.boundaries.at(-1);
      if (prev?.kind === 'gradual' && prev.span && fs.time - this.timeOfFrame(prev.span[1]) < this.opts.minSceneLenSec) {
        // The same slow transition seen again: no steady scene in between, so extend the first.
        prev.span[1] = ls.index;
        this.gradualFloor = b.index;
        return;
      }
      const mid = this.entries[round((first + last) / 2)] as Entry;
      if (mid.time - this.lastBoundaryTime < this.opts.minSceneLenSec && this.boundaries.length > 0) return;
      why('accepted');
      this.emit({ frame: mid.index, time: mid.time, kind: 'gradual', span: [fs.index, ls.index] });
      this.gradualFloor = b.index;
      return;
    }
  }

  /**
   * How far the picture moves towards `b` before entry `ai` (from `wi` on, after the previous
   * transition), per second, as a fraction of its rate from `ai` to `b`; undefined when that
   * stretch is too short to tell.
   */
  private alongBefore(wi: number, ai: number, b: Entry): number | undefined {
    let k = wi;
    while (k < ai && (this.entries[k] as Entry).index < this.gradualFloor) k++;
    const w = this.entries[k] as Entry;
    const a = this.entries[ai] as Entry;
    if (a.time - w.time < 0.2) return undefined;
    return (alongFraction(w.sig, a.sig, a.sig, b.sig) / (a.time - w.time)) * (b.time - a.time);
  }

  /** The colours stop changing after entry `bi`: the transition is over, not still going. */
  private steadyAfter(bi: number, H: number): boolean {
    const b = this.entries[bi] as Entry;
    for (let k = bi + 1; k < this.entries.length; k++) {
      if (histogramDistance(b.sig, (this.entries[k] as Entry).sig) > 0.3 * H) return false;
    }
    return true;
  }

  /** Least-squares cross-fade weight of m between a and b, clamped to [0, 1]. */
  private bestAlpha(a: Signature, m: Signature, b: Signature): number {
    let num = 0;
    let den = 0;
    for (let i = 0; i < SIG_PIXELS * 3; i += 3) {
      const d = (b.rgb[i + 1] as number) - (a.rgb[i + 1] as number);
      num += ((m.rgb[i + 1] as number) - (a.rgb[i + 1] as number)) * d;
      den += d * d;
    }
    if (den === 0) return 0.5;
    return min(1, max(0, num / den));
  }

  private timeOfFrame(frame: number): number {
    for (const e of this.entries) if (e.index >= frame) return e.time;
    return Number.NEGATIVE_INFINITY;
  }

  private indexAtTime(t: number, before: number): number {
    for (let k = before - 1; k >= 0; k--) if ((this.entries[k] as Entry).time <= t + 1e-6) return k;
    return -1;
  }

  private emit(b: Boundary, startsBlank = false): void {
    this.boundaries.push(b);
    if (startsBlank) this.sceneHasContent = false;
    this.lastBoundaryFrame = b.frame;
    this.lastBoundaryTime = b.time;
    this.gradualFloor = max(this.gradualFloor, b.span ? b.span[1] : b.frame);
    this.onBoundary?.(b);
  }

  private settle(j: number): void {
    // Frames before the oldest entry a gradual transition could still start at are final.
    const e = this.entries[j] as Entry;
    const horizon = e.time - (GRADUAL_SPANS_SEC.at(-1) as number) - STEADY_SEC * 2;
    let settled = this.settledFrame;
    for (const x of this.entries) { if (x.time <= horizon) settled = x.index; else break; }
    this.settledFrame = max(this.settledFrame, settled, min(this.lastBoundaryFrame - 1, e.index));
  }

  private trim(): void {
    const newest = (this.entries.at(-1) as Entry).time;
    let drop = 0;
    while (drop < this.next - 3 && newest - (this.entries[drop] as Entry).time > HISTORY_SEC) drop++;
    if (drop > 0) {
      this.entries.splice(0, drop);
      this.next -= drop;
    }
  }
}

/** One end has lost most of its structure and is dark or bright: a fade, not a dissolve. */
function isFadeLike(a: Signature, b: Signature): boolean {
  const [lo, hi] = a.stdV < b.stdV ? [a, b] : [b, a];
  return lo.stdV < 0.45 * hi.stdV && (lo.meanV < 50 || lo.meanV > 225);
}

/**
 * How far the change from `p` to `q` goes in the direction of the change from `a` to `b`, as a
 * fraction of the latter (RGB thumbnails as vectors): about 1 for the same change, 0 for an
 * unrelated one (a shot drifting in colour while it dissolves into another).
 */
function alongFraction(p: Signature, q: Signature, a: Signature, b: Signature): number {
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < SIG_PIXELS * 3; i++) {
    const d = (b.rgb[i] as number) - (a.rgb[i] as number);
    dot += ((q.rgb[i] as number) - (p.rgb[i] as number)) * d;
    norm += d * d;
  }
  return norm === 0 ? 0 : dot / norm;
}
