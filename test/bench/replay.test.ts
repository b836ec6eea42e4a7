/**
 * The replay bench (test/bench/replay.ts) finds the same cuts as `detectScenes` on the same clip,
 * from a fresh recording and from the one stored on disk, and its settings overrides reach the
 * detector.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { detectScenes } from '../../src/engine/index.js';
import { dissolves, flashes, type SynthClip } from '../fixtures/synth.js';
import { loadOrRecord, parseSeeds, parseSettings, recordClip, replayCuts } from './replay.js';

let dir = '';
let clips: SynthClip[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'replay-test-'));
  clips = [await dissolves({ seed: 2 }), await flashes({ seed: 3 })];
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('replay bench', () => {
  it('replays a recording to the cuts detectScenes finds (dissolves and flashes), also from disk', async () => {
    for (const clip of clips) {
      const expected = (await detectScenes(clip.path)).cuts;
      expect(expected.length).toBeGreaterThan(0);
      const rec = await recordClip(clip.path);
      expect(rec.cuts).toEqual(expected);
      expect(replayCuts(rec)).toEqual(expected);
      expect(replayCuts(await loadOrRecord(clip.path, dir))).toEqual(expected);
      // the second load reads the stored file
      expect(replayCuts(await loadOrRecord(clip.path, dir))).toEqual(expected);
    }
    expect((await readdir(dir)).filter((f) => f.endsWith('.sig'))).toHaveLength(clips.length);
  });

  it('lays settings overrides over the defaults', async () => {
    const rec = await loadOrRecord((clips[0] as SynthClip).path, dir);
    const all = replayCuts(rec);
    expect(replayCuts(rec, parseSettings(['{"disabled":["gradual"]}'])).length).toBeLessThan(all.length);
    expect(replayCuts(rec, parseSettings(['gradual.minHist=2']))).not.toEqual(all);
  });

  it('parses seed ranges and dotted settings', () => {
    expect(parseSeeds('900-902,1100')).toEqual([900, 901, 902, 1100]);
    expect(parseSettings(['gradual.maxBlend=0.4', '{"gradual":{"minFrames":4},"threshold":30}'])).toEqual({ gradual: { maxBlend: 0.4, minFrames: 4 }, threshold: 30 });
  });
});
