/** The opt-in score trace (DetectOptions.traceScores) from detect and extract, on a generated clip with 2 hard cuts. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collectFrames, detectScenes } from '../../src/engine/index.js';
import { makeCutsVideo } from '../fixtures/videos.js';

describe('score trace', () => {
  let dir: string;
  let clip: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'frames-trace-'));
    clip = await makeCutsVideo(dir, { seconds: 6, width: 320, height: 180, cuts: 2 });
  }, 120_000);
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  it('is absent unless asked for, and asking changes no decision', async () => {
    const plain = await detectScenes(clip);
    const traced = await detectScenes(clip, { traceScores: true, threshold: 30 });
    expect(plain.scoreTrace).toBeUndefined();
    expect(traced.scenes).toEqual((await detectScenes(clip, { threshold: 30 })).scenes);
    expect(traced.scoreTrace?.threshold).toBe(30);
  });

  it('detect: one point per analysed frame in time order, the cut frames the peaks above the threshold', async () => {
    const r = await detectScenes(clip, { traceScores: true });
    const pts = r.scoreTrace!.points;
    // detect skips B-frames where it can, so fewer frames than decoded are analysed
    expect(pts.length).toBeGreaterThan(r.video.frameCount / 5);
    expect(pts.every((p, i) => i === 0 || (p.frame > pts[i - 1]!.frame && p.time >= pts[i - 1]!.time))).toBe(true);
    const top2 = [...pts].sort((a, b) => b.score - a.score).slice(0, 2).map((p) => p.frame).sort((a, b) => a - b);
    expect(top2).toEqual(r.cuts);
    for (const c of r.cuts) expect(pts.find((p) => p.frame === c)!.score).toBeGreaterThan(r.scoreTrace!.threshold);
    const others = pts.filter((p) => !r.cuts.includes(p.frame));
    expect(Math.max(...others.map((p) => p.score))).toBeLessThan(r.scoreTrace!.threshold);
  });

  it('extract returns it too', async () => {
    const { result } = await collectFrames(clip, { traceScores: true });
    expect(result.scoreTrace?.points.length).toBeGreaterThan(result.video.frameCount / 2);
    expect(result.scoreTrace?.points.some((p) => p.frame === result.cuts[0] && p.score > 27)).toBe(true);
  });
});
