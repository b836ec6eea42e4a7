/**
 * The gradual rule (dissolves, cross-fades): a twin comparison judged on colour histograms, which
 * motion does not disturb. Over one of `spansSec` the two ends differ a lot (content, RGB and
 * histogram), in small steps, the frames in between are cross-fades of the two ends, neither end
 * is blank (that is a fade: the blank rule's), and the change is not part of a longer one: the
 * colours hold for `steadySec` before and after, and before the start the picture does not already
 * head the same way. Short spans (up to `directionalSec`) are judged by that direction (a shot
 * drifting in colour on its own may still dissolve into the next; a hue rotation goes on the way
 * it went), longer ones by the rate of change, since evolving content loses any one direction.
 */
import { blendResidual, contentDistance, histogramDistance, isBlankSignature, rgbDistance, SIG_PIXELS, type Signature } from '../signature.js';
import { isFadeLike } from './blank.js';
import { above } from './confidence.js';
import type { BlankSettings, GradualSettings } from './settings.js';
import { indexAtTime, type Entry } from './window.js';

const { max, min, round } = Math;

export interface GradualContext {
  entries: readonly Entry[];
  /** No transition may start before this frame (the last boundary or transition end). */
  floor: number;
  /** First frame of the current scene. */
  sceneStart: number;
  threshold: number;
  s: GradualSettings;
  blank: BlankSettings;
  debug: boolean;
}

export interface Dissolve {
  /** First and last frames that change (the span reported). */
  first: Entry;
  last: Entry;
  /** Where the new scene starts: the middle of the span. */
  mid: Entry;
  /** The steady end the span was judged to (no transition before it afterwards). */
  end: Entry;
  /** Margins by which the accumulated change cleared its tests (for the confidence). */
  margins: number[];
}

/**
 * Looks for a dissolve ending at the newest entry that has `steadySec` of frames after it.
 * @returns the shortest span that passes every test, or null.
 */
export function findDissolve(ctx: GradualContext): Dissolve | null {
  const { entries, s, threshold: T } = ctx;
  const n = entries.length;
  if (n < 4) return null;
  const lastTime = (entries[n - 1] as Entry).time;
  let bi = n - 1;
  while (bi > 0 && lastTime - (entries[bi] as Entry).time < s.steadySec) bi--;
  const b = entries[bi] as Entry;
  if (b.index <= ctx.floor || isBlankSignature(b.sig)) return null;
  const z = entries[n - 1] as Entry;
  if (z.time - b.time < s.steadySec * s.minSteadyAfterFraction) return null;
  for (const span of s.spansSec) {
    const ai = indexAtTime(entries, b.time - span, bi);
    if (ai < 0) break;
    const a = entries[ai] as Entry;
    if (a.index < ctx.floor || bi - ai < s.minFrames) continue;
    if (isBlankSignature(a.sig)) continue;
    // The histogram test first: it is the cheapest (28 bins against 2304 pixels) and turns away
    // most candidates, in every frame's judgement, for each span.
    const H = histogramDistance(a.sig, b.sig);
    let D = NaN;
    let C = NaN;
    const why = (r: string): void => { if (ctx.debug) console.error(`gradual a=${a.index} b=${b.index} D=${D.toFixed(1)} C=${C.toFixed(1)} H=${H.toFixed(2)}: ${r}`); };
    // A dissolve changes the colour distribution (motion and moving texture do not)...
    if (H < s.minHist) { why('hist'); continue; }
    D = rgbDistance(a.sig, b.sig);
    C = contentDistance(a.sig, b.sig);
    // ...by a large accumulated change made of small steps...
    if (C < T * s.minContentOfThreshold || D < s.minRgb) { why('small'); continue; }
    // ...between two pictures whose colours are steady after...
    let afterHist = 0;
    for (let k = bi + 1; k < n; k++) afterHist = max(afterHist, histogramDistance(b.sig, (entries[k] as Entry).sig));
    if (afterHist > s.steadyHistFraction * H) { why('not steady after'); continue; }
    const directional = b.time - a.time <= s.directionalSec;
    const pi = indexAtTime(entries, a.time - s.steadySec, ai);
    // ...and before: a transition needs a picture to come from, none that starts with the video.
    if (pi < 0) { why('no picture before'); continue; }
    // Colours that change before `a` but not the way the transition goes are a shot drifting on
    // its own, not the transition begun early; no such excuse across the previous boundary.
    const p = entries[pi] as Entry;
    if (histogramDistance(p.sig, a.sig) > s.steadyHistFraction * H && (!directional || p.index < ctx.floor || alongFraction(p.sig, a.sig, a.sig, b.sig) > s.steadyAlong)) { why('not steady before'); continue; }
    // The colours change much faster inside than just before (slow pans and zooms drift at one
    // rate throughout), judged over the stretch before `a` within the current scene.
    let wi = indexAtTime(entries, a.time - min(span, s.beforeMaxSec), ai);
    while (wi >= 0 && wi < ai && (entries[wi] as Entry).index < ctx.sceneStart) wi++;
    if (wi < 0) wi = 0;
    if (wi < ai && a.time - (entries[wi] as Entry).time >= s.beforeMinSec) {
      const w = entries[wi] as Entry;
      const rateIn = H / max(1e-3, b.time - a.time);
      const rateBefore = histogramDistance(w.sig, a.sig) / max(1e-3, a.time - w.time);
      const along = alongBefore(ctx, wi, ai, b);
      // (and the same after `b`: a transition does not go on past its end)
      const alongAfter = (alongFraction(b.sig, z.sig, a.sig, b.sig) / max(1e-3, z.time - b.time)) * (b.time - a.time);
      const drifts = directional && along !== undefined
        ? along > s.alongRatio || alongAfter > s.alongRatio
        : rateBefore > s.rateRatio * rateIn || (along ?? 0) > s.longAlongRatio;
      if (drifts) { why(`rate in ${rateIn.toFixed(2)} vs before ${rateBefore.toFixed(2)}, along ${along?.toFixed(2)}`); continue; }
    }
    // ...that is not a fade to or from black or white...
    if (isFadeLike(a.sig, b.sig, ctx.blank)) { why('fade'); continue; }
    // ...and whose frames in between look like cross-fades of the two ends, with no cut inside.
    // Ends that change on their own (a zoom, evolving texture) leave a residual in the cross-fade
    // of the two end pictures: a frame (1-w) A(t) + w B(t) differs from (1-w) a + w b by at most
    // (1-w) |A(t) - a| + w |B(t) - b|, and each end's change over that time is measured on the
    // end itself, before `a` and after `b` (steady ends: about 0, so the test is as strict).
    // The allowance grows with the ends' speed (mean cut score per step just before `a` or after
    // `b`): none up to `fastEndsFromOfThreshold` T, all of it from `fastEndsOfThreshold` T.
    const speed = max(meanC(entries, pi + 1, ai), meanC(entries, bi + 1, n - 1)) / T;
    const allowance = s.ownChangeAllowance * min(1, max(0, (speed - s.fastEndsFromOfThreshold) / max(1e-6, s.fastEndsOfThreshold - s.fastEndsFromOfThreshold)));
    const fast = allowance > 0;
    const ownA = fast ? ownChange(entries, ai, -1, max(ctx.floor, ctx.sceneStart)) : () => 0;
    const ownB = fast ? ownChange(entries, bi, 1, Number.POSITIVE_INFINITY) : () => 0;
    let ok = true;
    for (let k = ai + 1; k < bi; k++) {
      const m = entries[k] as Entry;
      const step = rgbDistance((entries[k - 1] as Entry).sig, m.sig);
      // One step carrying much of the change is a cut (judged by the cut rule), not a dissolve.
      if (m.c >= T * s.maxStepOfThreshold || step > s.maxStepFraction * D) { ok = false; why(`big step at ${m.index}`); break; }
      const w = bestAlpha(a.sig, m.sig, b.sig);
      const r = blendResidual(a.sig, m.sig, b.sig, w);
      const own = (1 - w) * ownA(m.time - a.time) + w * ownB(b.time - m.time);
      if (r > s.maxBlend * D + allowance * own) { ok = false; why(`blend ${(r / D).toFixed(2)} (own ${(own / D).toFixed(2)}) at ${m.index}`); break; }
    }
    if (!ok) continue;
    if (rgbDistance((entries[bi - 1] as Entry).sig, b.sig) > s.maxStepFraction * D) { why('big last step'); continue; }
    // Tighten to the frames that actually change.
    let first = ai + 1;
    while (first < bi && rgbDistance(a.sig, (entries[first] as Entry).sig) < s.tightenFraction * D) first++;
    let last = bi - 1;
    while (last > first && rgbDistance((entries[last] as Entry).sig, b.sig) < s.tightenFraction * D) last--;
    const fs = entries[first] as Entry;
    const ls = entries[last] as Entry;
    if (ls.index - fs.index < s.minTightFrames) continue; // that is a cut, judged elsewhere
    why('accepted');
    // The confidence grades the accumulated change (the twin comparison's score) against its
    // limits; the shape tests above only gate.
    const margins = [above(H, s.minHist), above(C, T * s.minContentOfThreshold)];
    if (ctx.debug) console.error(`gradual ${fs.index}-${ls.index} margins ${margins.map((x) => x.toFixed(2)).join(' ')}`);
    return { first: fs, last: ls, mid: entries[round((first + last) / 2)] as Entry, end: b, margins };
  }
  return null;
}

/**
 * The RGB distance an end picture (entry `at`) covers on its own over a lag (seconds): from the
 * entry that lag before it (`dir` -1, not before frame `floor`) or after it (`dir` 1); the
 * farthest entry there is when the window holds less.
 */
function ownChange(entries: readonly Entry[], at: number, dir: -1 | 1, floor: number): (lag: number) => number {
  const e = entries[at] as Entry;
  return (lag) => {
    let k = at;
    while (true) {
      const j = k + dir;
      const x = entries[j];
      if (!x || (dir < 0 && x.index < floor)) break;
      k = j;
      if (Math.abs(x.time - e.time) >= lag - 1e-6) break;
    }
    return k === at ? 0 : rgbDistance((entries[k] as Entry).sig, e.sig);
  };
}

/**
 * How far the picture moves towards `b` before entry `ai` (from `wi` on, after the previous
 * transition), per second, as a fraction of its rate from `ai` to `b`; undefined when that
 * stretch is too short to tell.
 */
function alongBefore(ctx: GradualContext, wi: number, ai: number, b: Entry): number | undefined {
  const { entries } = ctx;
  let k = wi;
  while (k < ai && (entries[k] as Entry).index < ctx.floor) k++;
  const w = entries[k] as Entry;
  const a = entries[ai] as Entry;
  if (a.time - w.time < ctx.s.beforeMinSec) return undefined;
  return (alongFraction(w.sig, a.sig, a.sig, b.sig) / (a.time - w.time)) * (b.time - a.time);
}

/** Least-squares cross-fade weight of m between a and b (green channel), clamped to [0, 1]. */
function bestAlpha(a: Signature, m: Signature, b: Signature): number {
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

/**
 * How far the change from `p` to `q` goes in the direction of the change from `a` to `b`, as a
 * fraction of the latter (RGB thumbnails as vectors): about 1 for the same change, 0 for an
 * unrelated one (a shot drifting in colour while it dissolves into another).
 */
export function alongFraction(p: Signature, q: Signature, a: Signature, b: Signature): number {
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < SIG_PIXELS * 3; i++) {
    const d = (b.rgb[i] as number) - (a.rgb[i] as number);
    dot += ((q.rgb[i] as number) - (p.rgb[i] as number)) * d;
    norm += d * d;
  }
  return norm === 0 ? 0 : dot / norm;
}

/** Mean cut-rule score per analysed step of entries `from` to `to` (0 when none). */
function meanC(entries: readonly Entry[], from: number, to: number): number {
  let sum = 0;
  for (let k = from; k <= to; k++) sum += (entries[k] as Entry).c;
  return to >= from ? sum / (to - from + 1) : 0;
}
