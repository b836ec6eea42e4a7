/**
 * The detector's named rules (src/engine/rules/*.ts), each on hand-made signature sequences at
 * 30 fps. Every rule's test also runs with that rule disabled (`disabled: [rule]`) and expects the
 * wrong answer, so each test shows the rule is what gets it right. Plus confidence, the
 * minConfidence filter and the score trace.
 */
import { SceneDetector, type Boundary, type DetectorOptions } from '../../src/engine/detector.js';
import { DEFAULT_DETECTOR_SETTINGS, type RuleName } from '../../src/engine/rules/settings.js';
import { contentDistance, makeSignature, SIG_H, SIG_PIXELS, SIG_W, type Signature } from '../../src/engine/signature.js';

const FPS = 30;

/** A picture from a per-pixel colour function of (x, y) on the 64x36 signature grid. */
const picture = (f: (x: number, y: number) => [number, number, number]): Signature => {
  const rgb = new Uint8Array(SIG_PIXELS * 3);
  for (let y = 0; y < SIG_H; y++) {
    for (let x = 0; x < SIG_W; x++) {
      const [r, g, b] = f(x, y);
      rgb.set([r, g, b].map((v) => Math.max(0, Math.min(255, Math.round(v)))), (y * SIG_W + x) * 3);
    }
  }
  return makeSignature(rgb);
};
/** Pseudo-random texture (a different one per seed). */
const noise = (seed: number): Signature => {
  const rgb = new Uint8Array(SIG_PIXELS * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (Math.imul(i + 1, seed * 2654435761) >>> 24) & 0xff;
  return makeSignature(rgb);
};
const flat = (v: number): Signature => picture(() => [v, v, v]);
/** Linear mix of two pictures: w = 0 is `a`, 1 is `b`. */
const mix = (a: Signature, b: Signature, w: number): Signature => makeSignature(a.rgb.map((x, i) => Math.round(x * (1 - w) + (b.rgb[i] as number) * w)));
/** Over-exposure by gain (not white): every channel times `g`, clipped. */
const gain = (a: Signature, g: number): Signature => makeSignature(a.rgb.map((x) => Math.min(255, Math.round(x * g + 20))));

// Two pictures with different structure and colour distribution (a warm and a cold scene).
const WARM = picture((x, y) => [150 + 90 * Math.sin(x / 5), 70 + 40 * Math.cos(y / 4), 40 + 20 * Math.sin((x + y) / 7)]);
const COLD = picture((x, y) => [30 + 20 * Math.sin(y / 3), 90 + 60 * Math.cos(x / 6), 170 + 70 * Math.sin((x - y) / 5)]);
const rep = (s: Signature, n: number): Signature[] => Array.from({ length: n }, () => s);

function detect(sigs: Signature[], opts: DetectorOptions = {}): Boundary[] {
  const d = new SceneDetector(opts);
  sigs.forEach((s, i) => d.push(i, i / FPS, s));
  d.flush();
  return d.boundaries;
}
const frames = (sigs: Signature[], opts: DetectorOptions = {}): number[] => detect(sigs, opts).map((b) => b.frame);
const without = (rule: RuleName, sigs: Signature[], opts: DetectorOptions = {}): number[] => frames(sigs, { ...opts, disabled: [rule] });

describe('cut rule', () => {
  const sigs = [...rep(WARM, 40), ...rep(COLD, 40)];
  it('a hard cut between two pictures is a cut, at the first frame of the new one', () => {
    expect(detect(sigs).map((b) => [b.frame, b.kind])).toEqual([[40, 'cut']]);
    expect(without('cut', sigs)).toEqual([]);
  });
  it('uniformly high scores (fast motion, moving texture) are no cut: a cut must stand out from its neighbours', () => {
    const motion = Array.from({ length: 60 }, (_, k) => noise(k + 3));
    expect(frames(motion)).toEqual([]);
    expect(frames(motion, { cut: { standOut: 0 } }).length).toBeGreaterThan(1);
  });
});

describe('cut rule on black-and-white pictures', () => {
  // Two different grey pictures: mean |dV| about 50, which the three-channel mean (hue and
  // saturation both 0) would score a third of, under T.
  const G1 = picture((x, y) => { const v = 110 + 60 * Math.sin(x / 4) * Math.cos(y / 5); return [v, v, v]; });
  const G2 = picture((x, y) => { const v = 120 + 55 * Math.cos((x + 2 * y) / 6); return [v, v, v]; });
  it('the content score between grey frames is their brightness difference alone, and the cut is found', () => {
    let dv = 0;
    for (let p = 0; p < SIG_PIXELS; p++) dv += Math.abs((G1.v[p] as number) - (G2.v[p] as number));
    dv /= SIG_PIXELS;
    expect(dv / 3).toBeLessThan(DEFAULT_DETECTOR_SETTINGS.threshold);
    expect(contentDistance(G1, G2)).toBeCloseTo(dv, 6);
    expect(frames([...rep(G1, 40), ...rep(G2, 40)])).toEqual([40]);
  });
});

describe('flash rule', () => {
  it('a 2-frame white flash is no cut', () => {
    const sigs = [...rep(WARM, 40), flat(250), flat(250), ...rep(WARM, 40)];
    expect(frames(sigs)).toEqual([]);
    expect(without('flash', sigs)).not.toEqual([]);
  });
  it('an over-exposure by gain for 1-3 frames, and a decaying one, is no cut', () => {
    for (const n of [1, 2, 3]) {
      const sigs = [...rep(COLD, 40), ...rep(gain(COLD, 2.2), n), ...rep(COLD, 40)];
      expect({ n, found: frames(sigs) }).toEqual({ n, found: [] });
      expect(without('flash', sigs)).not.toEqual([]);
    }
    const decaying = [...rep(WARM, 40), gain(WARM, 2.4), gain(WARM, 1.8), gain(WARM, 1.35), ...rep(WARM, 40)];
    expect(frames(decaying)).toEqual([]);
    expect(without('flash', decaying)).not.toEqual([]);
  });
});

describe('flash rule on moving content', () => {
  // A pattern panning 0.8 px a frame, every third frame analysed (as when the decoder skips
  // B-frames), over-exposed by gain on frames 40-41: when the flash is over the pattern has moved
  // on (the frame after differs from the frame before by more than 0.6 T), but its brightness is back.
  const pan = (k: number): Signature => picture((x, y) => [128 + 100 * Math.sin((x + 0.8 * k) / 6), 90 + 80 * Math.cos((y + 0.32 * k) / 5), 120 + 70 * Math.sin((x - y + 0.8 * k) / 7)]);
  const shown = Array.from({ length: 80 }, (_, k) => k).filter((k) => k % 3 === 0 || k === 40 || k === 41);
  const run = (opts: DetectorOptions): number[] => {
    const d = new SceneDetector(opts);
    for (const k of shown) d.push(k, k / FPS, k === 40 || k === 41 ? gain(pan(k), 1.9) : pan(k));
    d.flush();
    return d.boundaries.map((b) => b.frame);
  };
  it('an over-exposure by gain is no cut though the picture has moved on when it ends', () => {
    expect(run({})).toEqual([]);
    // without its over-exposure test (no lift is enough), the jump out of the flash is a cut
    expect(run({ flash: { minLift: 256 } })).toEqual([42]);
  });
});

describe('return rule', () => {
  it('a glitch that builds up and clears at once (a damaged frame until the next keyframe) is no cut', () => {
    const junk = noise(11);
    const glitch = Array.from({ length: 20 }, (_, k) => mix(WARM, junk, (0.6 * (k + 1)) / 20));
    const sigs = [...rep(WARM, 40), ...glitch, ...rep(WARM, 40)];
    expect(frames(sigs)).toEqual([]);
    expect(without('return', sigs)).toEqual([60]);
  });
});

describe('gradual rule', () => {
  it('a 1 s cross-fade between steady pictures is one gradual boundary in its middle, spanning the fade', () => {
    const fade = Array.from({ length: 29 }, (_, k) => mix(WARM, COLD, (k + 1) / 30));
    const sigs = [...rep(WARM, 60), ...fade, ...rep(COLD, 60)];
    const found = detect(sigs);
    expect(found.map((b) => b.kind)).toEqual(['gradual']);
    const b = found[0] as Boundary;
    expect(Math.abs(b.frame - 75)).toBeLessThanOrEqual(5);
    expect(b.span?.[0]).toBeGreaterThanOrEqual(58);
    expect(b.span?.[1]).toBeLessThanOrEqual(91);
    expect(without('gradual', sigs)).toEqual([]);
  });
  it('a 1 s cross-fade out of content that changes fast on its own is found (the ends\' own change is allowed for), not without that allowance', () => {
    // three colour waves moving by about 18 content points a frame: the mixed frames are no
    // cross-fade of the two end pictures, but of the moving one and the steady one
    const fast = (k: number): Signature => picture((x, y) => [150 + 90 * Math.sin(x / 3 + 0.35 * k), 70 + 50 * Math.cos(y / 2 - 0.245 * k), 60 + 40 * Math.sin((x + y) / 4 + 0.455 * k)]);
    expect(contentDistance(fast(1), fast(2))).toBeGreaterThan(DEFAULT_DETECTOR_SETTINGS.threshold * DEFAULT_DETECTOR_SETTINGS.gradual.fastEndsOfThreshold);
    const sigs = [...Array.from({ length: 45 }, (_, k) => fast(k)), ...Array.from({ length: 29 }, (_, j) => mix(fast(45 + j), COLD, (j + 1) / 30)), ...rep(COLD, 45)];
    const found = detect(sigs);
    expect(found.map((b) => b.kind)).toEqual(['gradual']);
    expect(Math.abs((found[0] as Boundary).frame - 60)).toBeLessThanOrEqual(5);
    expect(frames(sigs, { gradual: { ownChangeAllowance: 0 } })).toEqual([]);
  });
  it('a 1 s cross-fade out of content moving at 0.45 T a frame is placed at its middle (a part of the allowance from 0.3 T), not 8 frames late as with the allowance only from 0.5 T', () => {
    // fine colour waves, moving between 0.3 T and 0.5 T a frame (the dissolves this recovered on the tuning seeds: 0.37-0.40 T)
    const moving = (k: number): Signature => picture((x, y) => [140 + 100 * Math.sin(x / 1.2 + 0.18 * k), 110 + 90 * Math.cos(y / 1.1 - 0.14 * k), 90 + 80 * Math.sin((x + y) / 1.5 + 0.22 * k)]);
    const { threshold: T, gradual: g } = DEFAULT_DETECTOR_SETTINGS;
    const speed = contentDistance(moving(1), moving(2));
    expect(speed).toBeGreaterThan(T * g.fastEndsFromOfThreshold);
    expect(speed).toBeLessThan(T * g.fastEndsOfThreshold);
    const sigs = [...Array.from({ length: 45 }, (_, k) => moving(k)), ...Array.from({ length: 29 }, (_, j) => mix(moving(45 + j), COLD, (j + 1) / 30)), ...rep(COLD, 45)];
    const found = detect(sigs);
    expect(found.map((b) => b.kind)).toEqual(['gradual']);
    expect(Math.abs((found[0] as Boundary).frame - 60)).toBeLessThanOrEqual(2);
    const late = frames(sigs, { gradual: { fastEndsFromOfThreshold: g.fastEndsOfThreshold } });
    expect(late).toHaveLength(1);
    expect(Math.abs((late[0] as number) - 60)).toBeGreaterThan(5);
  });
  it('a picture that changes at one rate throughout (a slow hue drift) is no dissolve', () => {
    const drift = Array.from({ length: 150 }, (_, k) => mix(WARM, COLD, k / 150));
    expect(frames(drift)).toEqual([]);
  });
});

describe('fade/blank rule', () => {
  const out = Array.from({ length: 15 }, (_, k) => mix(WARM, flat(0), (k + 1) / 15));
  const inn = Array.from({ length: 15 }, (_, k) => mix(flat(0), COLD, (k + 1) / 15));
  it('a fade out to black and in to another shot (0.7 s of black) starts a scene where the picture comes back', () => {
    const sigs = [...rep(WARM, 40), ...out, ...rep(flat(0), 20), ...inn, ...rep(COLD, 40)];
    const found = detect(sigs);
    expect(found.map((b) => b.kind)).toEqual(['gradual']);
    // the first non-blank frame of the fade in
    expect(Math.abs((found[0] as Boundary).frame - 75)).toBeLessThanOrEqual(2);
    expect(without('blank', sigs)).toEqual([]);
  });
  it('faint texture moving across a flat-looking field is one blank stretch (its mean colour holds), and the cut out of it is found', () => {
    // spread 4 (a blank by its spread) and the same mean colour throughout, while the pattern
    // drifts away from the first frame's (20 more pixels flipped each frame)
    const field = (k: number): Signature => {
      const rgb = new Uint8Array(SIG_PIXELS * 3);
      for (let p = 0; p < SIG_PIXELS; p++) rgb.fill((p + (p < k * 20 ? 1 : 0)) % 2 ? 194 : 186, p * 3, p * 3 + 3);
      return makeSignature(rgb);
    };
    const sigs = [...rep(WARM, 40), ...Array.from({ length: 90 }, (_, k) => field(k)), ...rep(COLD, 40)];
    expect(frames(sigs)).toEqual([40, 130]);
  });
  it('a black lead-in that fades in belongs to the scene it introduces', () => {
    expect(frames([...rep(flat(0), 30), ...inn, ...rep(COLD, 40)])).toEqual([]);
  });
});

describe('minimum scene length rule', () => {
  it('no scene shorter than minSceneLenSec: a second cut 10 frames after the first is dropped', () => {
    const sigs = [...rep(WARM, 40), ...rep(COLD, 10), ...rep(WARM, 40)];
    expect(frames(sigs)).toEqual([40]);
    expect(without('minLength', sigs)).toEqual([40, 50]);
  });
  it('the first scene counts from the start of the video', () => {
    const sigs = [...rep(WARM, 10), ...rep(COLD, 60)];
    expect(frames(sigs)).toEqual([]);
    expect(without('minLength', sigs)).toEqual([10]);
  });
});

describe('confidence and minConfidence', () => {
  // A strong cut (WARM to COLD: content score about 106 against T = 27) and a weak one (COLD to
  // a picture a quarter of the way back to WARM: about 37).
  const weak = mix(COLD, WARM, 0.25);
  const sigs = [...rep(WARM, 40), ...rep(COLD, 50), ...rep(weak, 40)];
  it('each boundary has a confidence in [0, 1]; the cut that clears its test by more gets the higher one', () => {
    const found = detect(sigs);
    expect(found.map((b) => b.frame)).toEqual([40, 90]);
    const [strong, faint] = found.map((b) => b.confidence) as [number, number];
    for (const c of [strong, faint]) expect(c >= 0 && c <= 1).toBe(true);
    expect(strong).toBeGreaterThan(faint);
  });
  it('minConfidence leaves out the boundaries below it, so their scenes merge', () => {
    const [strong, faint] = detect(sigs).map((b) => b.confidence) as [number, number];
    const between = (strong + faint) / 2;
    expect(frames(sigs, { minConfidence: between })).toEqual([40]);
    expect(frames(sigs, { minConfidence: Math.min(1, strong + 1e-3) })).toEqual(strong < 1 ? [] : [40]);
  });
});

describe('score trace', () => {
  it('one point per analysed frame: the content score against the previous one, highest at the cut', () => {
    const d = new SceneDetector({ traceScores: true });
    const sigs = [...rep(WARM, 40), ...rep(COLD, 40)];
    sigs.forEach((s, i) => d.push(i, i / FPS, s));
    d.flush();
    const trace = d.scoreTrace ?? [];
    expect(trace.map((p) => p.frame)).toEqual(sigs.map((_, i) => i));
    const top = trace.reduce((a, b) => (b.score > a.score ? b : a));
    expect(top.frame).toBe(40);
    expect(top.score).toBeGreaterThan(DEFAULT_DETECTOR_SETTINGS.threshold);
    expect(new SceneDetector({}).scoreTrace).toBeNull();
  });
});
