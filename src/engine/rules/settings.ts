/**
 * Every tuning value of the scene detector, in one typed object. Each rule module
 * (`src/engine/rules/*.ts`) reads only its own group; the defaults below are the values the
 * accuracy bench was tuned with, and each is explained here once.
 *
 * Scores are on PySceneDetect's 0-255 content scale unless named otherwise; "T" is `threshold`.
 */

export interface CutSettings {
  /** A cut's score must be at least this many times the mean score of its neighbours (fast motion scores high everywhere). */
  standOut: number;
  /** Frames either side whose scores are the neighbourhood. */
  neighbours: number;
  /** A cut that does not stand out still counts when the colour histogram jumps by at least this (0-1)... */
  colourJump: number;
  /** ...and by this many times its neighbours' histogram steps (moving texture keeps its colours). */
  colourStandOut: number;
}

export interface SimilaritySettings {
  /** "The same picture again": content distance below this fraction of T... */
  ofThreshold: number;
  /** ...and below this fraction of the jump being judged. */
  ofJump: number;
}

export interface FlashSettings {
  /** The picture must come back within this many seconds of the frame before the jump. */
  maxSec: number;
  /** Analysed frames after the jump looked at (also the cut rule's lookahead). */
  lookahead: number;
  /**
   * Over-exposure (a camera flash that brightens by gain, on content that moves on meanwhile): the
   * jump lifts mean brightness (V, 0-255) by at least this...
   */
  minLift: number;
  /** ...a frame after comes back to within this fraction of the lift of the brightness before... */
  liftReturn: number;
  /** ...and differs from the frame before by less than this fraction of the jump (a cut: about all of it). */
  liftOfJump: number;
}

export interface ReturnSettings {
  /** The earlier picture landed on must be at least this many seconds old (younger is the flash rule's). */
  minGapSec: number;
}

export interface GradualSettings {
  /** Candidate spans, seconds, tried shortest first. */
  spansSec: number[];
  /** The colours must hold this long after a dissolve (and this long before it, see `steadyBefore`). */
  steadySec: number;
  /** Fraction of `steadySec` that must already be analysed after the candidate's end. */
  minSteadyAfterFraction: number;
  /** Fewest analysed frames from one end to the other. */
  minFrames: number;
  /** Histogram distance between the ends at least this (0-1): motion and moving texture keep their colours. */
  minHist: number;
  /** Content distance between the ends at least this fraction of T... */
  minContentOfThreshold: number;
  /** ...and mean RGB distance at least this (0-255). */
  minRgb: number;
  /** Histogram change after the end (and before the start) at most this fraction of the change inside. */
  steadyHistFraction: number;
  /** Spans up to this long are judged by the direction of the change before them, longer ones by its rate. */
  directionalSec: number;
  /** Short spans: the change before and after heads towards the ends at most this fraction of the rate inside. */
  alongRatio: number;
  /** Short spans: over `steadySec` before the start, at most this fraction of the change already covered. */
  steadyAlong: number;
  /** Long spans: the colours change before the start at most this fraction of the rate inside... */
  rateRatio: number;
  /** ...and no change before that is this aligned with the transition. */
  longAlongRatio: number;
  /** The stretch before the start looked at for rate and direction, at most this many seconds... */
  beforeMaxSec: number;
  /** ...and at least this many, else the test is skipped (histogram noise dominates shorter stretches). */
  beforeMinSec: number;
  /** Frames inside differ from the best cross-fade of the ends by at most this fraction of the change... */
  maxBlend: number;
  /**
   * ...plus this fraction of the most that the ends' own change over the same time could add
   * (content that changes fast by itself, measured before the start and after the end; 0: none).
   */
  ownChangeAllowance: number;
  /**
   * The allowance applies in full when an end's mean cut score per analysed step (just before the
   * start or after the end) reaches this fraction of T...
   */
  fastEndsOfThreshold: number;
  /** ...not at all up to this fraction of T, and in proportion in between. */
  fastEndsFromOfThreshold: number;
  /** No step inside carries more than this fraction of the change (that is a cut)... */
  maxStepFraction: number;
  /** ...or scores above this multiple of T. */
  maxStepOfThreshold: number;
  /** The span is tightened to frames that differ from the ends by more than this fraction of the change. */
  tightenFraction: number;
  /** A tightened span of fewer frames than this is a cut, judged by the cut rule. */
  minTightFrames: number;
}

export interface BlankSettings {
  /** A blank (near-uniform) stretch this long followed by content starts a scene (a fade through black). */
  minRunSec: number;
  /** The stretch lasts while its mean colour stays within this (0-255) of its first frame. */
  maxColourDrift: number;
  /** A dissolve end with less than this fraction of the other end's V spread... */
  fadeSpreadRatio: number;
  /** ...and is darker than this (0-255 V)... */
  fadeDark: number;
  /** ...or brighter than this, is a fade, not a dissolve. */
  fadeBright: number;
}

export interface ConfidenceSettings {
  /**
   * A test cleared by this relative margin gives confidence 1: a score twice its limit (margin 1)
   * is certain, one just at its limit is 0. See `rules/confidence.ts`.
   */
  fullMargin: number;
}

/** The named rules; `disabled` turns one off (tests show each rule is needed this way). */
export type RuleName = 'cut' | 'flash' | 'return' | 'gradual' | 'blank' | 'minLength';

export interface DetectorSettings {
  /** Content threshold (T): a cut scores at least this (PySceneDetect's default 27). */
  threshold: number;
  /** Minimum scene length in seconds (PySceneDetect's 0.6 s), see `rules/min-length.ts`. */
  minSceneLenSec: number;
  /** Seconds of signatures kept: the longest span plus its steady stretches and some slack. */
  historySec: number;
  cut: CutSettings;
  /** Shared by the flash and return rules. */
  same: SimilaritySettings;
  flash: FlashSettings;
  return: ReturnSettings;
  gradual: GradualSettings;
  blank: BlankSettings;
  confidence: ConfidenceSettings;
  /** Rules switched off (none by default). */
  disabled: readonly RuleName[];
}

export const DEFAULT_DETECTOR_SETTINGS: DetectorSettings = {
  threshold: 27,
  minSceneLenSec: 0.6,
  historySec: 3.8,
  cut: { standOut: 2, neighbours: 2, colourJump: 0.25, colourStandOut: 3 },
  same: { ofThreshold: 0.6, ofJump: 0.45 },
  flash: { maxSec: 0.35, lookahead: 3, minLift: 15, liftReturn: 0.35, liftOfJump: 0.75 },
  return: { minGapSec: 0.3 },
  gradual: {
    spansSec: [0.5, 0.75, 1.0, 1.3, 1.7, 2.1],
    steadySec: 0.3,
    minSteadyAfterFraction: 0.8,
    minFrames: 3,
    minHist: 0.35,
    minContentOfThreshold: 0.9,
    minRgb: 12,
    steadyHistFraction: 0.3,
    directionalSec: 1.35,
    alongRatio: 0.25,
    steadyAlong: 0.3,
    rateRatio: 0.6,
    longAlongRatio: 0.5,
    beforeMaxSec: 1,
    beforeMinSec: 0.2,
    maxBlend: 0.35,
    ownChangeAllowance: 0.25,
    fastEndsOfThreshold: 0.5,
    fastEndsFromOfThreshold: 0.3,
    maxStepFraction: 0.4,
    maxStepOfThreshold: 1.5,
    tightenFraction: 0.15,
    minTightFrames: 3,
  },
  blank: { minRunSec: 0.5, maxColourDrift: 1, fadeSpreadRatio: 0.45, fadeDark: 50, fadeBright: 225 },
  confidence: { fullMargin: 1 },
  disabled: [],
};

/** Overrides for some values; nested groups are merged one level deep. */
export type DetectorSettingsInput = Partial<Omit<DetectorSettings, 'cut' | 'same' | 'flash' | 'return' | 'gradual' | 'blank' | 'confidence'>> & {
  cut?: Partial<CutSettings>;
  same?: Partial<SimilaritySettings>;
  flash?: Partial<FlashSettings>;
  return?: Partial<ReturnSettings>;
  gradual?: Partial<GradualSettings>;
  blank?: Partial<BlankSettings>;
  confidence?: Partial<ConfidenceSettings>;
};

/** The defaults with `input` laid over them. */
export function resolveDetectorSettings(input: DetectorSettingsInput = {}): DetectorSettings {
  const d = DEFAULT_DETECTOR_SETTINGS;
  return {
    threshold: input.threshold ?? d.threshold,
    minSceneLenSec: input.minSceneLenSec ?? d.minSceneLenSec,
    historySec: input.historySec ?? d.historySec,
    cut: { ...d.cut, ...input.cut },
    same: { ...d.same, ...input.same },
    flash: { ...d.flash, ...input.flash },
    return: { ...d.return, ...input.return },
    gradual: { ...d.gradual, ...input.gradual, spansSec: [...(input.gradual?.spansSec ?? d.gradual.spansSec)] },
    blank: { ...d.blank, ...input.blank },
    confidence: { ...d.confidence, ...input.confidence },
    disabled: [...(input.disabled ?? d.disabled)],
  };
}
