/**
 * Boundary confidence, `minConfidence` / `--min-confidence` and the score trace through the real
 * engine and CLI (ffmpeg-generated clip: three shots, two cuts).
 */
import { main } from '../../src/cli/main.js';
import { collectFrames, detectScenes, type DetectionResult } from '../../src/engine/index.js';
import { ValidationError } from '../../src/errors.js';
import { concatClipInTmp, removeTmp, shot } from './helpers.js';

let tmp: string;
let clip: string;
let truth: number[] = [];

beforeAll(async () => {
  ({ dir: tmp, clip, cuts: truth } = await concatClipInTmp('confidence', 'three-shots.mp4', [
    shot('mandelbrot=s=160x120:r=30:maxiter=100', 1.2),
    shot('testsrc2=s=160x120:r=30', 1.2),
    // the same test card, hue turned by 50 degrees: a cut that clears its test by less
    shot('testsrc2=s=160x120:r=30,trim=start_frame=36,setpts=PTS-STARTPTS,hue=h=50', 1.2),
  ]));
}, 60_000);
afterAll(() => removeTmp(tmp));

describe('confidence', () => {
  let full: DetectionResult;
  beforeAll(async () => { full = await detectScenes(clip, { traceScores: true }); });

  it('every scene carries one: null for the first, in [0, 1] for the others; the weaker cut gets less', () => {
    expect(full.cuts.length).toBe(truth.length);
    expect(full.scenes[2]?.confidence as number).toBeLessThan(full.scenes[1]?.confidence as number);
    expect(full.scenes[0]?.confidence).toBeNull();
    for (const s of full.scenes.slice(1)) {
      expect(typeof s.confidence).toBe('number');
      expect(s.confidence as number).toBeGreaterThanOrEqual(0);
      expect(s.confidence as number).toBeLessThanOrEqual(1);
    }
  });

  it('minConfidence drops the boundaries below it and merges their scenes, in detect and extract alike', async () => {
    const confs = full.scenes.slice(1).map((s) => s.confidence as number);
    const lowest = Math.min(...confs);
    const cutoff = lowest + 1e-3;
    const kept = full.cuts.filter((_, i) => (confs[i] as number) >= cutoff);
    const filtered = await detectScenes(clip, { minConfidence: cutoff });
    expect(filtered.cuts).toEqual(kept);
    expect(filtered.scenes.length).toBe(kept.length + 1);
    expect(filtered.scenes.at(-1)?.endFrame).toBe(full.scenes.at(-1)?.endFrame);
    const { result } = await collectFrames(clip, { minConfidence: cutoff, minFrames: 0 });
    expect(result.cuts).toEqual(kept);
    expect(result.settings.minConfidence).toBe(cutoff);
    expect(result.scenes.slice(1).every((s) => (s.confidence as number) >= cutoff)).toBe(true);
  });

  it('a bad minConfidence is a validation error naming it', async () => {
    await expect(detectScenes(clip, { minConfidence: 1.5 })).rejects.toThrow(ValidationError);
    await expect(detectScenes(clip, { minConfidence: 1.5 })).rejects.toMatchObject({ issues: [expect.stringContaining('minConfidence')] });
  });

  it('frames detect --min-confidence filters; an out-of-range value exits 2', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: () => undefined };
    expect(await main(['node', 'frames', 'detect', clip, '--json', '--min-confidence', '1'], io)).toBe(0);
    const r = JSON.parse(out[0] as string) as { cuts: number[]; scenes: Array<{ confidence: number | null }> };
    expect(r.cuts).toEqual(full.cuts.filter((_, i) => full.scenes[i + 1]?.confidence === 1));
    expect(r.scenes.map((s) => s.confidence)).toEqual([null, ...r.cuts.map(() => 1)]);
    expect(await main(['node', 'frames', 'detect', clip, '--min-confidence', '2'], io)).not.toBe(0);
  });

  it('traceScores: one point per analysed frame with the threshold; the cuts are its peaks', () => {
    const trace = full.scoreTrace;
    expect(trace?.threshold).toBe(27);
    const points = trace?.points ?? [];
    expect(points.length).toBeGreaterThan(0.5 * full.video.frameCount);
    for (const c of full.cuts) {
      const near = points.filter((p) => Math.abs(p.frame - c) <= 2);
      expect(Math.max(...near.map((p) => p.score))).toBeGreaterThanOrEqual(27);
    }
    expect(points.every((p, i) => i === 0 || p.frame > (points[i - 1]?.frame ?? -1))).toBe(true);
  });
});
