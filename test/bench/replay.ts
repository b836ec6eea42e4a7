/**
 * Replay bench: decode each clip once, keep its analysis pass on disk, then re-run only the
 * detector over it, with settings overrides, in well under a second per clip.
 *
 * `node --import tsx test/bench/replay.ts [options]` or `npm run bench -- replay [options]`:
 *
 * - `--seeds 900-911,1100-1123`: variant seeds (default TUNING_SEEDS; never the evaluation seeds
 *   before they have been run as evidence);
 * - `--families fastDissolves,gainFlashes`: variant families (default all);
 * - `--groups variants,hard,corpus`: which clips (default variants; `hard` = the synthetic hard
 *   cases of test/fixtures/synth.ts, `corpus` = ../shared/corpus or $CORPUS_DIR);
 * - `--set '{"gradual":{"maxBlend":0.4}}'` or `--set gradual.maxBlend=0.4` (repeatable): detector
 *   settings laid over the defaults (`DetectorSettingsInput`, src/engine/rules/settings.ts);
 * - `--only fastDissolves:901`: clips whose label contains this (with FRAMES_DEBUG_DETECTOR=1 the
 *   detector's reasons are printed for just those);
 * - `--all`: print every clip, not only those with a miss or false detection;
 * - `--check`: also run `detectScenes` afresh on every clip and fail unless the replay with default
 *   settings finds the very same cuts.
 *
 * A recording holds, per analysed frame, its index, time, keyframe flag and 64x36 RGB thumbnail (the
 * signature is rebuilt from it with the engine's `makeSignature`). It lives in `<synth dir>/replay/`,
 * keyed by the clip's path, size and mtime and the engine's analysis filter chain, and is written
 * only when the replay with default settings reproduces the cuts of the `detectScenes` run that
 * recorded it.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { detectorOptionsOf, detectScenesObserved } from '../../src/engine/detect-scenes.js';
import { SceneDetector, type DetectorOptions } from '../../src/engine/detector.js';
import { analysisChain } from '../../src/engine/filters.js';
import { detectScenes } from '../../src/engine/index.js';
import { resolveOptions } from '../../src/engine/options.js';
import type { DetectorSettingsInput } from '../../src/engine/rules/settings.js';
import { makeSignature, SIG_BYTES } from '../../src/engine/signature.js';
import { loadCorpus, microAverage, scoreCuts, type CutScore, type TruthEntry } from '../fixtures/score.js';
import { allVariantClips, TUNING_SEEDS, VARIANT_FAMILIES, type VariantFamily } from '../fixtures/synth-variants.js';
import { allHardCases, defaultSynthDir, type SynthClip } from '../fixtures/synth.js';
import { flashHits, TOLERANCE } from './accuracy.js';
import { fmt } from './util.js';

/** Bump when the recording layout changes. */
const FORMAT = 1;
/** Per frame: uint32 index, uint8 keyframe, 3 bytes padding, float64 time, then the thumbnail. */
const HEAD = 16;
const RECORD = HEAD + SIG_BYTES;

export interface RecordedFrame {
  index: number;
  time: number;
  keyframe: boolean;
  rgb: Uint8Array;
}

export interface Recording {
  frames: RecordedFrame[];
  /** The cuts of the `detectScenes` run that made the recording. */
  cuts: number[];
}

/** The detector `detectScenes` builds with default options, with `overrides` laid over its settings. */
export function replayDetector(overrides: DetectorSettingsInput = {}): SceneDetector {
  const base: DetectorOptions = detectorOptionsOf(resolveOptions({}));
  return new SceneDetector({ ...base, ...overrides });
}

/** Cuts the detector finds over a recording (as `detectScenes` reports them: first frames of new scenes). */
export function replayCuts(rec: Recording, overrides: DetectorSettingsInput = {}): number[] {
  const d = replayDetector(overrides);
  for (const f of rec.frames) d.push(f.index, f.time, makeSignature(f.rgb), f.keyframe);
  d.flush();
  return d.boundaries.map((b) => b.frame);
}

/** Decodes `file` once through `detectScenes` (default options), keeping every analysed frame. */
export async function recordClip(file: string): Promise<Recording> {
  const frames: RecordedFrame[] = [];
  const r = await detectScenesObserved(file, {}, (f) => frames.push({ index: f.index, time: f.time, keyframe: f.keyframe, rgb: Uint8Array.from(f.rgb) }));
  return { frames, cuts: r.cuts };
}

function encode(rec: Recording): Buffer {
  const json = Buffer.from(JSON.stringify({ format: FORMAT, cuts: rec.cuts, frames: rec.frames.length }));
  const out = Buffer.alloc(4 + json.length + rec.frames.length * RECORD);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  let o = 4 + json.length;
  for (const f of rec.frames) {
    out.writeUInt32LE(f.index, o);
    out.writeUInt8(f.keyframe ? 1 : 0, o + 4);
    out.writeDoubleLE(f.time, o + 8);
    out.set(f.rgb, o + HEAD);
    o += RECORD;
  }
  return out;
}

function decode(buf: Buffer): Recording | null {
  const n = buf.readUInt32LE(0);
  const head = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as { format: number; cuts: number[]; frames: number };
  if (head.format !== FORMAT || buf.length !== 4 + n + head.frames * RECORD) return null;
  const frames: RecordedFrame[] = [];
  for (let k = 0, o = 4 + n; k < head.frames; k++, o += RECORD) {
    frames.push({ index: buf.readUInt32LE(o), keyframe: buf.readUInt8(o + 4) === 1, time: buf.readDoubleLE(o + 8), rgb: new Uint8Array(buf.subarray(o + HEAD, o + RECORD)) });
  }
  return { frames, cuts: head.cuts };
}

/** Where the recording of `file` is kept: changes to the clip or to the analysis chain make a new one. */
async function recordingPath(file: string, dir: string): Promise<string> {
  const st = await stat(file);
  const key = JSON.stringify({ FORMAT, file: path.resolve(file), size: st.size, mtime: st.mtimeMs, chain: analysisChain() });
  return path.join(dir, `${path.basename(file).replace(/\.[^.]*$/, '')}-${createHash('sha1').update(key).digest('hex').slice(0, 10)}.sig`);
}

/** The recording of `file` from the cache, else decoded now and stored (checked against its own run first). */
export async function loadOrRecord(file: string, dir = path.join(defaultSynthDir(), 'replay')): Promise<Recording> {
  const at = await recordingPath(file, dir);
  const old = await readFile(at).then(decode, () => null);
  if (old) return old;
  const rec = await recordClip(file);
  const again = replayCuts(rec);
  if (JSON.stringify(again) !== JSON.stringify(rec.cuts)) throw new Error(`${file}: the replay finds ${JSON.stringify(again)}, detectScenes found ${JSON.stringify(rec.cuts)}`);
  await mkdir(dir, { recursive: true });
  const tmp = `${at}.${process.pid}`;
  await writeFile(tmp, encode(rec));
  await rename(tmp, at);
  return rec;
}

interface Clip {
  group: string;
  label: string;
  file: string;
  truth: TruthEntry[];
  flashes?: Array<[number, number]>;
}

/** `900-911,1100` -> [900, ..., 911, 1100]. */
export function parseSeeds(spec: string): number[] {
  return spec.split(',').flatMap((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad seed range "${part}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    return Array.from({ length: b - a + 1 }, (_, k) => a + k);
  });
}

/** `--set` values: JSON objects, or `group.key=value` (value parsed as JSON), merged one level deep. */
export function parseSettings(specs: readonly string[]): DetectorSettingsInput {
  const out: Record<string, unknown> = {};
  const merge = (o: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(o)) {
      const cur = out[k];
      out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' ? { ...cur, ...v } : v;
    }
  };
  for (const s of specs) {
    if (s.trim().startsWith('{')) { merge(JSON.parse(s) as Record<string, unknown>); continue; }
    const m = /^([\w.]+)=(.*)$/.exec(s);
    if (!m) throw new Error(`bad --set "${s}" (JSON, or group.key=value)`);
    const keys = (m[1] as string).split('.');
    const value = JSON.parse(m[2] as string) as unknown;
    merge(keys.length === 1 ? { [keys[0] as string]: value } : { [keys[0] as string]: { [keys[1] as string]: value } });
  }
  return out as DetectorSettingsInput;
}

async function gatherClips(groups: readonly string[], seeds: readonly number[], families: VariantFamily[]): Promise<Clip[]> {
  const clips: Clip[] = [];
  const fromSynth = (group: string, c: SynthClip, extra = ''): Clip => ({
    group, label: `${c.name}:${String(c.seed)}${extra}`, file: c.path, truth: c.truth.cuts, ...(c.meta.flashes ? { flashes: c.meta.flashes } : {}),
  });
  if (groups.includes('variants')) {
    for (const c of await allVariantClips(seeds, undefined, families)) clips.push(fromSynth(c.name, c, ` ${String(c.meta.codec)} ${String(c.meta.preset)} crf${String(c.meta.crf)}`));
  }
  if (groups.includes('hard')) for (const c of await allHardCases()) clips.push(fromSynth(`hard ${c.name}`, c));
  if (groups.includes('corpus')) {
    const corpus = await loadCorpus(undefined, (m) => console.log(m));
    if (!corpus) console.log('corpus: absent');
    for (const item of corpus?.items ?? []) clips.push({ group: 'corpus', label: `corpus:${item.name}`, file: item.video, truth: item.cuts });
  }
  return clips;
}

const show = (xs: readonly TruthEntry[]): string => xs.map((x) => (typeof x === 'number' ? String(x) : `${x[0]}-${x[1]}`)).join(',') || '-';

/** Runs the replay from command-line arguments; sets a non-zero exit code on a failed check. */
export async function run(argv: readonly string[] = []): Promise<void> {
  let seeds: readonly number[] = TUNING_SEEDS;
  let families = Object.keys(VARIANT_FAMILIES) as VariantFamily[];
  let groups = ['variants'];
  const sets: string[] = [];
  let only = '';
  let all = false;
  let check = false;
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--seeds') seeds = parseSeeds(value());
    else if (a === '--families') {
      families = value().split(',') as VariantFamily[];
      const bad = families.filter((f) => !(f in VARIANT_FAMILIES));
      if (bad.length) throw new Error(`unknown family ${bad.join(', ')} (choose from ${Object.keys(VARIANT_FAMILIES).join(', ')})`);
    } else if (a === '--groups') groups = value().split(',');
    else if (a === '--set') sets.push(value());
    else if (a === '--only') only = value();
    else if (a === '--all') all = true;
    else if (a === '--check') check = true;
    else throw new Error(`unknown argument ${a}`);
  }
  const overrides = parseSettings(sets);
  console.log(`== replay (groups ${groups.join(',')}; seeds ${seeds.join(',')}; settings ${JSON.stringify(overrides)})`);
  const clips = (await gatherClips(groups, seeds, families)).filter((c) => c.label.includes(only));
  const byGroup = new Map<string, CutScore[]>();
  let flashCuts = 0;
  let mismatches = 0;
  const t0 = performance.now();
  for (const c of clips) {
    const rec = await loadOrRecord(c.file);
    const cuts = replayCuts(rec, overrides);
    const score = scoreCuts(cuts, c.truth, TOLERANCE);
    const atFlash = c.flashes ? flashHits(cuts, c.flashes) : [];
    flashCuts += atFlash.length;
    byGroup.set(c.group, [...(byGroup.get(c.group) ?? []), score]);
    let note = '';
    if (check) {
      const fresh = (await detectScenes(c.file)).cuts;
      const plain = replayCuts(rec);
      if (JSON.stringify(fresh) !== JSON.stringify(plain)) {
        mismatches++;
        note = ` CHECK FAILED: detectScenes ${JSON.stringify(fresh)}, replay ${JSON.stringify(plain)}`;
      }
    }
    if (all || score.fp || score.fn || atFlash.length || note) {
      console.log(`${c.label}: tp ${score.tp} fp ${score.fp} fn ${score.fn}  detected ${show(cuts)}  truth ${show(c.truth)}${atFlash.length ? `  AT FLASH ${atFlash.join(',')}` : ''}${note}`);
    }
  }
  console.log('');
  for (const [group, scores] of byGroup) {
    const m = microAverage(scores);
    console.log(`${group}: micro-F1 ${fmt(m.f1)} over ${scores.length} clip(s) (tp ${m.tp}, fp ${m.fp}, fn ${m.fn})`);
  }
  console.log(`cuts at flashes: ${flashCuts}; replayed ${clips.length} clip(s) in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  if (check) console.log(`check against detectScenes: ${mismatches ? `FAIL (${mismatches} clip(s) differ)` : 'PASS'}`);
  if (mismatches) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  try {
    await run(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 2;
  }
}
