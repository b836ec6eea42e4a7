/**
 * Streaming scene-boundary detector over tiny frame signatures: a window of recent analysed
 * frames and the named rules that judge it, each in its own module under `rules/`, all tuning
 * values in `rules/settings.ts`:
 *
 * - cut (`rules/cut.ts`): a content score of at least T that stands out from its neighbours, or a
 *   wholesale colour change that does;
 * - flash (`rules/flash.ts`): a jump whose picture comes back within 0.35 s is no cut, nor is the
 *   jump back;
 * - return (`rules/return.ts`): a jump onto a picture the scene showed 0.3 s or more before is no cut;
 * - gradual (`rules/gradual.ts`): dissolves over 0.5-2.1 s between steady pictures;
 * - fade/blank (`rules/blank.ts`): a blank stretch of 0.5 s or more after content starts a scene
 *   where content comes back; a cross-fade with a blank end is a fade, not a dissolve;
 * - minimum scene length (`rules/min-length.ts`): 0.6 s between scene starts.
 *
 * A cut is judged once `flash.lookahead` more frames have arrived; a dissolve once `steadySec`
 * of frames follow it. Memory is bounded: only `historySec` of signatures are kept.
 */
import { contentDistance, histogramDistance, isBlankSignature, type Signature } from './signature.js';
import { BlankRunRule } from './rules/blank.js';
import { confidenceOf } from './rules/confidence.js';
import { judgeContentCut } from './rules/cut.js';
import { FlashRule } from './rules/flash.js';
import { findDissolve } from './rules/gradual.js';
import { MinSceneLength } from './rules/min-length.js';
import { judgeReturn } from './rules/return.js';
import { resolveDetectorSettings, type DetectorSettings, type DetectorSettingsInput, type RuleName } from './rules/settings.js';
import { timeOfFrame, type Entry } from './rules/window.js';
import type { ScorePoint, TransitionKind } from './types.js';
// Module-local copies: a global lookup per use is very slow inside vm contexts (jest).
const { ceil, max, min, round } = Math;

export interface Boundary {
  /** First frame of the new scene. */
  frame: number;
  time: number;
  kind: TransitionKind;
  /** For gradual transitions: the frames the transition spans (inclusive). */
  span?: [number, number];
  /** How far the evidence cleared the rule's tests, in [0, 1] (see `rules/confidence.ts`). */
  confidence: number;
}

export interface DetectorOptions extends DetectorSettingsInput {
  /** Boundaries below this confidence are left out (their scenes merge); default 0: none. */
  minConfidence?: number;
  /** Keep every analysed frame's cut score (`scoreTrace`). */
  traceScores?: boolean;
}

const DEBUG = Boolean(process.env.FRAMES_DEBUG_DETECTOR);

export class SceneDetector {
  readonly settings: DetectorSettings;
  private readonly entries: Entry[] = [];
  /** Position in `entries` of the next entry to judge for a hard cut. */
  private next = 1;
  /** Every boundary found, including those below minConfidence (they still shape later judgements). */
  private readonly found: Boundary[] = [];
  private lastBoundaryFrame = 0;
  private lastBoundaryTime = 0;
  /** No gradual transition may start before this frame (the last boundary or transition end). */
  private gradualFloor = 0;
  private readonly flash: FlashRule;
  private readonly blank: BlankRunRule;
  private readonly minLength: MinSceneLength;
  private readonly off: ReadonlySet<RuleName>;
  private readonly minConfidence: number;
  /** The boundaries reported (confidence at least minConfidence). */
  readonly boundaries: Boundary[] = [];
  /** Every analysed frame's cut score, when asked for. */
  readonly scoreTrace: ScorePoint[] | null;
  /** Latest frame whose scene membership is final. */
  settledFrame = -1;

  constructor(opts: DetectorOptions = {}, private readonly onBoundary?: (b: Boundary) => void) {
    this.settings = resolveDetectorSettings(opts);
    const s = this.settings;
    this.off = new Set(s.disabled);
    this.flash = new FlashRule(s.threshold, s.flash, s.same);
    this.blank = new BlankRunRule(s.blank);
    this.minLength = new MinSceneLength(s.minSceneLenSec, !this.off.has('minLength'));
    this.minConfidence = opts.minConfidence ?? 0;
    this.scoreTrace = opts.traceScores ? [] : null;
  }

  /** `keyframe`: the frame is intra-coded (the encoder saw a cut there, or a GOP starts). */
  push(index: number, time: number, sig: Signature, keyframe = false): void {
    const prev = this.entries.at(-1);
    const entry: Entry = {
      index, time, sig, keyframe,
      c: prev ? contentDistance(prev.sig, sig) : 0,
      hd: prev ? histogramDistance(prev.sig, sig) : 0,
    };
    this.entries.push(entry);
    this.scoreTrace?.push({ frame: index, time: round(time * 1000) / 1000, score: round(entry.c * 1000) / 1000 });
    while (this.next <= this.entries.length - 1 - this.settings.flash.lookahead) {
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
    const s = this.settings;
    // Frames inside a dissolve already found belong to it.
    if (e.index <= this.gradualFloor && this.found.at(-1)?.kind === 'gradual') {
      this.settle(j);
      return;
    }
    if (!this.off.has('blank')) {
      const ended = this.blank.observe(e);
      if (ended && this.minLength.allows(e.time, this.lastBoundaryTime)) {
        this.emit({ frame: e.index, time: e.time, kind: 'gradual', span: [ended.run.index, e.index - 1], confidence: confidenceOf([ended.margin], s.confidence) });
        this.settle(j);
        return;
      }
    }
    const margins = this.off.has('cut') ? null : judgeContentCut(this.entries, j, this.lastBoundaryFrame, s.threshold, s.cut);
    if (margins && !this.off.has('flash')) {
      if (this.flash.covers(e.index)) margins.length = 0;
      else {
        const m = this.flash.judge(this.entries, j);
        if (m === null) margins.length = 0;
        else margins.push(m);
      }
    }
    if (margins?.length && !this.off.has('return')) {
      const m = judgeReturn(this.entries, j, this.lastBoundaryFrame, s.threshold, s.return, s.same);
      if (m === null) margins.length = 0;
      else margins.push(m);
    }
    if (margins?.length && this.minLength.allows(e.time, this.lastBoundaryTime)) {
      const prev = this.entries[j - 1] as Entry;
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
      if (DEBUG) console.error(`cut ${frame} margins ${margins.map((x) => x.toFixed(2)).join(' ')}`);
      this.emit({ frame, time, kind: 'cut', confidence: confidenceOf(margins, s.confidence) });
      if (isBlankSignature(e.sig)) this.blank.cutToBlank(e);
    }
    this.settle(j);
  }

  private judgeGradual(): void {
    if (this.off.has('gradual')) return;
    const s = this.settings;
    const d = findDissolve({
      entries: this.entries, floor: this.gradualFloor, sceneStart: this.lastBoundaryFrame,
      threshold: s.threshold, s: s.gradual, blank: s.blank, debug: DEBUG,
    });
    if (!d) return;
    const prev = this.found.at(-1);
    if (prev?.kind === 'gradual' && prev.span && this.minLength.joins(timeOfFrame(this.entries, prev.span[1]), d.first.time)) {
      // The same slow transition seen again: no steady scene in between, so extend the first.
      prev.span[1] = d.last.index;
      this.gradualFloor = d.end.index;
      return;
    }
    if (!this.minLength.allows(d.mid.time, this.lastBoundaryTime)) return;
    this.emit({ frame: d.mid.index, time: d.mid.time, kind: 'gradual', span: [d.first.index, d.last.index], confidence: confidenceOf(d.margins, s.confidence) });
    this.gradualFloor = d.end.index;
  }

  private emit(b: Boundary): void {
    this.found.push(b);
    this.lastBoundaryFrame = b.frame;
    this.lastBoundaryTime = b.time;
    this.gradualFloor = max(this.gradualFloor, b.span ? b.span[1] : b.frame);
    if (b.confidence < this.minConfidence) return;
    this.boundaries.push(b);
    this.onBoundary?.(b);
  }

  private settle(j: number): void {
    // Frames before the oldest entry a gradual transition could still start at are final.
    const e = this.entries[j] as Entry;
    const g = this.settings.gradual;
    const horizon = e.time - (g.spansSec.at(-1) ?? 0) - g.steadySec * 2;
    let settled = this.settledFrame;
    for (const x of this.entries) { if (x.time <= horizon) settled = x.index; else break; }
    this.settledFrame = max(this.settledFrame, settled, min(this.lastBoundaryFrame - 1, e.index));
  }

  private trim(): void {
    const newest = (this.entries.at(-1) as Entry).time;
    let drop = 0;
    while (drop < this.next - 3 && newest - (this.entries[drop] as Entry).time > this.settings.historySec) drop++;
    if (drop > 0) {
      this.entries.splice(0, drop);
      this.next -= drop;
    }
  }
}
