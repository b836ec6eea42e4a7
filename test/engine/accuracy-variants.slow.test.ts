/**
 * Accuracy on the variant families of the hard cases (test/fixtures/synth-variants.ts): hard cuts
 * across libx264 presets, libx265 and libvpx-vp9 at CRF 18-30 and 360p-1080p with temporal noise;
 * black-and-white (format=gray) H.264 and HEVC cuts; flashes by gain and decaying flashes on moving
 * and fractal content; dissolves out of and into fast-changing content; slowly brightening dark
 * gradients and fractal zooms. Each family: micro-F1 >= 0.97 over its 12 evaluation seeds
 * (VARIANT_SEEDS, 1300-1311, chosen and committed before they were run), and no cut at any flash.
 *
 * A seed whose clip fails the generator's own truth check is replaced by a spare from
 * VARIANT_SPARE_FROM (1312) on, for that family only.
 *
 * Slow: the first run generates 60 clips (several minutes on 2 cores); later runs reuse the cache
 * ($SYNTH_DIR) and take about a minute. `npm run bench -- accuracy` prints the same figures per clip.
 */
import { detectScenes } from '../../src/engine/index.js';
import { microAverage, scoreCuts, type CutScore } from '../fixtures/score.js';
import { allVariantClips, VARIANT_FAMILIES, VARIANT_SEEDS, VARIANT_SPARE_FROM, type VariantFamily } from '../fixtures/synth-variants.js';
import type { SynthClip } from '../fixtures/synth.js';

const TARGET = 0.97;
const TIMEOUT_MS = 1_800_000;

let clips: SynthClip[] = [];
let found: number[][] = [];

beforeAll(async () => {
  clips = await allVariantClips(VARIANT_SEEDS, undefined, undefined, VARIANT_SPARE_FROM);
  found = [];
  for (const c of clips) found.push((await detectScenes(c.path)).cuts);
}, TIMEOUT_MS);

const familyOf = (name: VariantFamily): Array<{ clip: SynthClip; cuts: number[]; score: CutScore }> =>
  clips.flatMap((clip, i) => (clip.name === name ? [{ clip, cuts: found[i] ?? [], score: scoreCuts(found[i] ?? [], clip.truth.cuts) }] : []));

const describeMisses = (rows: ReturnType<typeof familyOf>): string =>
  rows.filter((r) => r.score.f1 < 1).map((r) => `seed ${r.clip.seed} (${String(r.clip.meta.codec)} ${String(r.clip.meta.preset)} crf ${String(r.clip.meta.crf)}): detected ${JSON.stringify(r.cuts)}, truth ${JSON.stringify(r.clip.truth.cuts)}`).join('\n');

/*
 * Every family meets the target on the fresh seeds 1300-1311 (first run, 2026-12-02): encoderCuts
 * 48/0/0, monochromeCuts 48/0/0, gainFlashes 36/0/0 with no cut at a flash, slowDrift 36/0/0, and
 * fastDissolves 0.979 (46 TP, 0 FP, 2 FN; seeds 1300, 1305 and 1308 fail the generator's truth
 * check, spares 1312-1314 stand in), with the speed-graded fast-end allowance of the blend test
 * tuned on 700-711, 900-911 and 1100-1123. fastDissolves was an `it.failing` until then (0.957 on
 * 700-711).
 */

const meetsTarget = (name: VariantFamily): void => {
  const rows = familyOf(name);
  expect(rows.length).toBe(VARIANT_SEEDS.length);
  const m = microAverage(rows.map((r) => r.score));
  if (m.f1 < TARGET) console.log(`${name}: F1 ${m.f1.toFixed(3)} (tp ${m.tp}, fp ${m.fp}, fn ${m.fn})\n${describeMisses(rows)}`);
  expect(m.f1).toBeGreaterThanOrEqual(TARGET);
};

describe('accuracy on the variant families', () => {
  const families = Object.keys(VARIANT_FAMILIES) as VariantFamily[];
  it.each(families)(`%s: micro-F1 >= ${TARGET} over its ${VARIANT_SEEDS.length} videos`, meetsTarget);

  it('reports no cut at a flash (within 5 frames), whatever the encoder and content', () => {
    const rows = familyOf('gainFlashes');
    expect(rows.length).toBe(VARIANT_SEEDS.length);
    const atFlash = rows.flatMap(({ clip, cuts }) => {
      const flashes = clip.meta.flashes ?? [];
      expect(flashes.length).toBeGreaterThan(0);
      return cuts.filter((d) => flashes.some(([a, b]) => d >= a - 5 && d <= b + 5)).map((d) => `seed ${clip.seed}: ${d}`);
    });
    expect(atFlash).toEqual([]);
  });
});
