/**
 * Detection accuracy targets (the same as `npm run bench -- accuracy`):
 * - development corpus (../shared/corpus or $CORPUS_DIR): micro-F1 >= 0.98 at +-2 frames; skipped
 *   with a note when the corpus is absent (a fresh clone), CI has it;
 * - each synthetic hard case (test/fixtures/synth.ts): F1 >= 0.95;
 * - camera flashes: no detection within 5 frames of any flash.
 */
import { detectScenes } from '../../src/engine/index.js';
import { loadCorpus, microAverage, scoreCuts, type CutScore } from '../fixtures/score.js';
import { allHardCases, type SynthClip } from '../fixtures/synth.js';

const CORPUS_TARGET = 0.98;
const HARD_CASE_TARGET = 0.95;
// About 35 s for the whole file on an idle 2-core machine (plus ~15 s the first time, to generate the
// clips); the timeouts leave room for a loaded CI runner.
const TIMEOUT_MS = 240_000;

/** Runs `fn` over `items`, two at a time (ffmpeg on these small clips leaves a core idle). */
async function mapTwoAtATime<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all([worker(), worker()]);
  return out;
}

const describeDetail = (name: string, detected: number[], truth: unknown, s: CutScore): string =>
  `${name}: F1 ${s.f1.toFixed(3)} (tp ${s.tp}, fp ${s.fp}, fn ${s.fn}); detected ${JSON.stringify(detected)}, truth ${JSON.stringify(truth)}`;

describe('accuracy on the development corpus', () => {
  it(`reaches micro-F1 >= ${CORPUS_TARGET}`, async () => {
    // Prepare
    const corpus = await loadCorpus(undefined, (m) => console.log(m));
    if (!corpus) {
      console.log('corpus absent: corpus accuracy NOT checked');
      return;
    }
    // Act
    const found = await mapTwoAtATime(corpus.items, async (item) => (await detectScenes(item.video)).cuts);
    // Clips without truth must simply not crash.
    for (const video of corpus.withoutTruth) await expect(detectScenes(video)).resolves.toBeDefined();
    const scores: CutScore[] = [];
    const details: string[] = [];
    for (const [i, item] of corpus.items.entries()) {
      const cuts = found[i] ?? [];
      const s = scoreCuts(cuts, item.cuts);
      scores.push(s);
      if (s.f1 < 1) details.push(describeDetail(item.name, cuts, item.cuts, s));
    }
    // Assess
    const micro = microAverage(scores);
    if (micro.f1 < CORPUS_TARGET) console.log(`corpus micro-F1 ${micro.f1.toFixed(3)}:\n${details.join('\n')}`);
    expect(micro.f1).toBeGreaterThanOrEqual(CORPUS_TARGET);
  }, TIMEOUT_MS);
});

describe('accuracy on synthetic hard cases', () => {
  let clips: SynthClip[] = [];
  const found = new Map<string, number[]>();

  beforeAll(async () => {
    clips = await allHardCases();
    const cuts = await mapTwoAtATime(clips, async (c) => (await detectScenes(c.path)).cuts);
    clips.forEach((c, i) => found.set(c.name, cuts[i] ?? []));
  }, TIMEOUT_MS);

  it.each(['hardCuts', 'dissolves', 'flashes', 'fastTexture', 'corruptFrames', 'keyframePumping', 'equalLumaColour'])(
    `%s: F1 >= ${HARD_CASE_TARGET}`,
    (name) => {
      const clip = clips.find((c) => c.name === name);
      const cuts = found.get(name);
      if (!clip || !cuts) throw new Error(`${name} was not generated or not detected`);
      const s = scoreCuts(cuts, clip.truth.cuts);
      if (s.f1 < HARD_CASE_TARGET) console.log(describeDetail(name, cuts, clip.truth.cuts, s));
      expect(s.f1).toBeGreaterThanOrEqual(HARD_CASE_TARGET);
    },
  );

  it('reports no cut at a camera flash', () => {
    const clip = clips.find((c) => c.name === 'flashes');
    const cuts = found.get('flashes') ?? [];
    const flashes = clip?.meta.flashes ?? [];
    expect(flashes.length).toBeGreaterThan(0);
    // within 5 frames of a flash (no real cut is closer than 10 frames to one)
    const atFlash = cuts.filter((d) => flashes.some(([a, b]) => d >= a - 5 && d <= b + 5));
    expect(atFlash).toEqual([]);
  });
});
