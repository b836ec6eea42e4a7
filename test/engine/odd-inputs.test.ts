/**
 * Inputs real feeds contain that no one here generated on purpose (issue 14, items 2 and 3), each
 * made with plain ffmpeg commands in the test: start offsets and edit lists, MPEG-TS damage and
 * concatenation, mid-stream size changes, interlaced video, odd sizes, and `detect` = `extract`
 * across codecs. Frame counts are checked against what ffmpeg itself decodes.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { extractToDirectory } from '../../src/cli/write-frames.js';
import { collectFrames, detectScenes, probeVideo, type DetectionResult } from '../../src/engine/index.js';
import { parseProbe } from '../../src/engine/probe.js';
import { InvalidVideoError } from '../../src/errors.js';
import { decodedFrameCount, ff, makeTmp, removeTmp } from './helpers.js';

const FPS = 25;
const SHOT_FRAMES = 50;
/** Distinct moving content, one 2 s shot each. */
const SHOTS = [
  'testsrc2=s=192x144',
  'smptebars=s=192x144,hue=H=0.6*t',
  'rgbtestsrc=s=192x144,scroll=v=0.006',
  'cellauto=s=192x144:rule=110:seed=3:random_fill_ratio=0.4,gblur=sigma=1.5,format=yuv420p,lutyuv=u=150:v=90',
  'testsrc=s=192x144,hue=h=140',
  'life=s=96x72:ratio=0.3:mold=10:seed=5:life_color=#ffd040:death_color=#183070,scale=192:144:flags=neighbor,tmix=frames=6',
  'pal75bars=s=192x144,scroll=h=0.01',
];
const TRUTH_CUTS = SHOTS.slice(1).map((_, i) => (i + 1) * SHOT_FRAMES);
const TOTAL = SHOTS.length * SHOT_FRAMES;

let tmp: string;
const p = (n: string) => path.join(tmp, n);

/** The shots joined by hard cuts, encoded with `codec` (an output file name decides the container). */
async function cutClip(out: string, codec: string[], frames = TOTAL, shots = SHOTS): Promise<void> {
  const parts = shots.map((s, i) => `${s},noise=alls=3:allf=t,format=yuv420p,setsar=1,fps=${FPS},trim=end_frame=${SHOT_FRAMES},setpts=N/(${FPS}*TB)[v${i}]`);
  const graph = `${parts.join(';')};${shots.map((_, i) => `[v${i}]`).join('')}concat=n=${shots.length}:v=1:a=0[out]`;
  await ff(['-filter_complex', graph, '-map', '[out]', '-frames:v', String(frames), ...codec, '-an', out]);
}

const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'];

const sceneSpans = (r: DetectionResult) => r.scenes.map((s) => [s.startFrame, s.endFrame]);

beforeAll(async () => {
  tmp = await makeTmp('odd-inputs');
  await cutClip(p('o.mkv'), X264);
}, 60_000);
afterAll(() => removeTmp(tmp));

describe('start offsets and edit lists: frame numbers as a full decode gives them', () => {
  let base: DetectionResult;
  beforeAll(async () => {
    base = await detectScenes(p('o.mkv'));
  }, 60_000);

  it('the plain clip is detected exactly (the reference for the shifted files)', () => {
    expect(base.video.frameCount).toBe(TOTAL);
    expect(base.cuts).toEqual(TRUTH_CUTS);
  });

  it.each([
    ['-itsoffset 2 ... -c copy', (src: string, out: string) => ff(['-itsoffset', '2', '-i', src, '-c', 'copy', out])],
    ['-c copy -output_ts_offset 2', (src: string, out: string) => ff(['-i', src, '-c', 'copy', '-output_ts_offset', '2', out])],
  ])('a 2 s start offset (%s): frameCount, fps and cuts unchanged, in detect and extract', async (_name, make) => {
    const out = p(`offset-${_name.length}.mp4`);
    await make(p('o.mkv'), out);
    expect((await probeVideo(out)).packetTimes.length).toBe(TOTAL);
    const d = await detectScenes(out);
    expect(d.video.frameCount).toBe(TOTAL);
    expect(d.video.fps).toBeCloseTo(FPS, 2);
    expect(d.cuts).toEqual(TRUTH_CUTS);
    expect(sceneSpans(d).at(-1)).toEqual([TRUTH_CUTS.at(-1), TOTAL - 1]);
    const { result } = await collectFrames(out);
    expect(result.cuts).toEqual(TRUTH_CUTS);
    const all = await collectFrames(out, { mode: 'all', dedupe: false });
    expect(all.frames.map((f) => f.frame)).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
  }, 90_000);

  it('an edit list that starts mid-GOP (-ss 1.3 -c copy): indices count from the first shown frame', async () => {
    const out = p('edit-list.mp4');
    await ff(['-ss', '1.3', '-i', p('o.mkv'), '-c', 'copy', out]);
    const decoded = await decodedFrameCount(out);
    const shift = TOTAL - decoded; // frames before the edit list's start are decoded, never shown
    expect(shift).toBeGreaterThan(0);
    const d = await detectScenes(out);
    expect(d.video.frameCount).toBe(decoded);
    expect(d.cuts).toEqual(TRUTH_CUTS.filter((c) => c > shift).map((c) => c - shift));
    const { result } = await collectFrames(out);
    expect(result.cuts).toEqual(d.cuts);
    expect(result.video.frameCount).toBe(decoded);
  }, 90_000);
});

describe('detect and extract find the same scenes, across codecs', () => {
  const codecs: Array<[string, string, string[]]> = [
    ['H.264 with B-frames (mp4)', 'h264.mp4', X264],
    ['HEVC 10-bit (mp4)', 'hevc10.mp4', ['-c:v', 'libx265', '-preset', 'fast', '-crf', '24', '-pix_fmt', 'yuv420p10le', '-x265-params', 'log-level=error']],
    ['VP9 (webm)', 'vp9.webm', ['-c:v', 'libvpx-vp9', '-deadline', 'good', '-cpu-used', '4', '-crf', '30', '-b:v', '0']],
    ['MPEG-4 part 2 with B-frames (MPEG-TS)', 'mpeg4.ts', ['-c:v', 'mpeg4', '-q:v', '4', '-bf', '2']],
    ['MPEG-2 (MPEG-TS)', 'mpeg2.ts', ['-c:v', 'mpeg2video', '-q:v', '4', '-bf', '2']],
  ];
  it.each(codecs)('%s', async (_name, file, codec) => {
    await cutClip(p(file), codec);
    const decoded = await decodedFrameCount(p(file));
    const d = await detectScenes(p(file));
    const { result } = await collectFrames(p(file));
    expect(d.video.frameCount).toBe(decoded);
    expect(result.video.frameCount).toBe(decoded);
    expect(result.cuts).toEqual(d.cuts);
    expect(sceneSpans(result)).toEqual(sceneSpans(d));
    expect(d.cuts).toEqual(TRUTH_CUTS);
    expect(d.warnings).toEqual([]);
  }, 120_000);
});

describe('MPEG-TS damage and concatenation decode through, with a warning', () => {
  beforeAll(async () => {
    await cutClip(p('clean.ts'), [...X264, '-f', 'mpegts']);
  }, 60_000);

  it('one lost 188-byte packet: all frames, the cuts, a warning naming the damage', async () => {
    const ts = await readFile(p('clean.ts'));
    const k = Math.floor(ts.length / 188 / 2);
    await writeFile(p('lost.ts'), Buffer.concat([ts.subarray(0, k * 188), ts.subarray((k + 1) * 188)]));
    const d = await detectScenes(p('lost.ts'));
    expect(d.video.frameCount).toBe(await decodedFrameCount(p('lost.ts')));
    expect(d.cuts).toEqual(TRUTH_CUTS);
    expect(d.warnings.join(' ')).toMatch(/damaged or incomplete packet/);
    const { result, frames } = await collectFrames(p('lost.ts'));
    expect(frames.length).toBeGreaterThan(0);
    expect(result.cuts).toEqual(d.cuts);
    expect(result.warnings).toEqual(d.warnings);
  }, 90_000);

  it('two TS files joined with `cat`: both halves numbered on, a cut at the join', async () => {
    const ts = await readFile(p('clean.ts'));
    await writeFile(p('cat.ts'), Buffer.concat([ts, ts]));
    const d = await detectScenes(p('cat.ts'));
    expect(d.video.frameCount).toBe(2 * TOTAL);
    expect(d.cuts).toEqual([...TRUTH_CUTS, TOTAL, ...TRUTH_CUTS.map((c) => c + TOTAL)]);
    const { result } = await collectFrames(p('cat.ts'));
    expect(result.cuts).toEqual(d.cuts);
  }, 90_000);

  it('a size change inside TS (240p then 360p): decoded through, real pictures, the change named', async () => {
    await ff(['-f', 'lavfi', '-i', `testsrc2=s=320x240:r=${FPS}:d=2`, ...X264, '-f', 'mpegts', p('r1.ts')]);
    await ff(['-f', 'lavfi', '-i', `smptehdbars=s=640x360:r=${FPS}:d=2`, ...X264, '-f', 'mpegts', p('r2.ts')]);
    await writeFile(p('res.ts'), Buffer.concat([await readFile(p('r1.ts')), await readFile(p('r2.ts'))]));
    const { result, frames } = await collectFrames(p('res.ts'), { mode: 'interval', interval: 1 });
    expect(result.video.frameCount).toBe(2 * 2 * FPS);
    expect(result.cuts).toEqual([2 * FPS]);
    expect(result.warnings.join(' ')).toMatch(/320x240 at the start, then 640x360 from frame 50/);
    const late = frames.filter((f) => f.frame >= 2 * FPS);
    expect(late.length).toBeGreaterThan(0);
    for (const f of frames) expect([f.width, f.height]).toEqual([320, 240]);
    for (const f of late) expect((await sharp(f.data).stats()).channels[0]?.stdev).toBeGreaterThan(20);
  }, 90_000);

  it('a truly truncated mp4 still fails as truncated, and no frame file is left', async () => {
    await cutClip(p('faststart.mp4'), [...X264, '-movflags', '+faststart']);
    const whole = await readFile(p('faststart.mp4'));
    await writeFile(p('cut.mp4'), whole.subarray(0, Math.floor(whole.length * 0.5)));
    const out = p('out-cut');
    const err = await extractToDirectory(p('cut.mp4'), out, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidVideoError);
    expect((err as InvalidVideoError).code).toBe('TRUNCATED_VIDEO');
    expect(await readdir(out)).toEqual([]);
  }, 60_000);
});

describe('a failed extract leaves nothing half-written', () => {
  it('frames already encoded when the run fails are removed; the manifest rule holds', async () => {
    const out = p('out-aborted');
    const ac = new AbortController();
    // Many frames, aborted half-way: frames were written before the failure.
    const err = await extractToDirectory(p('o.mkv'), out, {
      mode: 'interval', interval: 0.5, signal: ac.signal, onProgress: (f) => { if (f > 0.6) ac.abort(new Error('stop')); },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await readdir(out)).toEqual([]);
    // A later successful run in the same folder writes the full set and the manifest last.
    const ok = await extractToDirectory(p('o.mkv'), out, { mode: 'interval', interval: 0.5 });
    const names = (await readdir(out)).sort();
    expect(names).toEqual([...ok.manifest.frames.map((f) => f.file), 'manifest.json'].sort());
  }, 90_000);
});

describe('frames after a resolution change are real pictures', () => {
  it('VP9 webm, 360p then 720p: every frame a picture at the first size, the change in the warnings', async () => {
    const vp9 = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '600k', '-pix_fmt', 'yuv420p'];
    await ff(['-f', 'lavfi', '-i', `testsrc2=s=640x360:r=${FPS}:d=2`, ...vp9, p('w1.webm')]);
    await ff(['-f', 'lavfi', '-i', `smptehdbars=s=1280x720:r=${FPS}:d=2`, ...vp9, p('w2.webm')]);
    await writeFile(p('list.txt'), `file '${p('w1.webm')}'\nfile '${p('w2.webm')}'\n`);
    await ff(['-f', 'concat', '-safe', '0', '-i', p('list.txt'), '-c', 'copy', p('res.webm')]);
    const { result, frames } = await collectFrames(p('res.webm'), { mode: 'interval', interval: 0.5 });
    expect(result.video.frameCount).toBe(4 * FPS);
    expect(result.warnings.join(' ')).toMatch(/640x360 at the start, then 1280x720 from frame 50.*scaled to the video's first size/);
    const late = frames.filter((f) => f.frame >= 2 * FPS);
    expect(late.length).toBeGreaterThanOrEqual(3);
    for (const f of frames) {
      const img = await sharp(f.data).metadata();
      expect([img.width, img.height, f.width, f.height]).toEqual([640, 360, 640, 360]);
    }
    // SMPTE HD bars: bright, high-contrast; a black frame has mean and stdev near 0.
    for (const f of late) {
      const st = (await sharp(f.data).stats()).channels[0];
      expect(st?.mean).toBeGreaterThan(40);
      expect(st?.stdev).toBeGreaterThan(30);
    }
    const d = await detectScenes(p('res.webm'));
    expect(d.cuts).toEqual(result.cuts);
    expect(d.warnings).toEqual(result.warnings);
  }, 120_000);
});

/** Mean absolute difference between vertically neighbouring luma rows: combing makes it large. */
async function combing(img: Buffer): Promise<number> {
  const { data, info } = await sharp(img).greyscale().raw().toBuffer({ resolveWithObject: true });
  let s = 0;
  for (let y = 0; y + 1 < info.height; y++) {
    for (let x = 0; x < info.width; x++) s += Math.abs((data[y * info.width + x] as number) - (data[(y + 1) * info.width + x] as number));
  }
  return s / (info.width * (info.height - 1));
}

describe('interlaced input is deinterlaced for output frames', () => {
  it('top-field-first H.264 of fast horizontal motion: the probe sees it, output frames show no combing', async () => {
    // Vertical bars moving sideways: a progressive frame has no vertical detail at all, woven fields have lots.
    await ff(['-f', 'lavfi', '-i', `rgbtestsrc=s=320x240:r=${2 * FPS},scroll=h=0.02`, '-t', '2', '-vf', 'tinterlace=interleave_top,fieldorder=tff',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p', '-flags', '+ilme+ildct', '-x264-params', 'tff=1', p('il.mp4')]);
    const probe = await probeVideo(p('il.mp4'));
    expect(probe.interlaced).toBe(true);
    expect((await probeVideo(p('o.mkv'))).interlaced).toBe(false);
    // The raw (woven) frame for comparison: what an extractor without deinterlacing writes.
    const raw = (await ff(['-i', p('il.mp4'), '-vf', 'select=eq(n\\,25)', '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-'])).stdout;
    const woven = await combing(raw);
    const { frames } = await collectFrames(p('il.mp4'), { mode: 'interval', interval: 0.5 });
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(await combing(f.data)).toBeLessThan(woven / 2);
  }, 90_000);
});

describe('odd sizes are kept', () => {
  it('641x359 (VP9, square pixels): frames are 641x359, as the video info says, the last column real', async () => {
    await ff(['-f', 'lavfi', '-i', `testsrc2=s=642x360:r=${FPS}:d=2`, '-vf', 'scale=641:359,setsar=1', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', p('odd.webm')]);
    const { result, frames } = await collectFrames(p('odd.webm'), { mode: 'interval', interval: 0.5 });
    expect([result.video.width, result.video.height]).toEqual([641, 359]);
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      const img = await sharp(f.data).metadata();
      expect([img.width, img.height, f.width, f.height]).toEqual([641, 359, 641, 359]);
      // The last column is picture (like its neighbour), not the padding the decode adds for 4:2:0.
      const { data } = await sharp(f.data).extract({ left: 639, top: 0, width: 2, height: 359 }).greyscale().raw().toBuffer({ resolveWithObject: true });
      let col639 = 0;
      let col640 = 0;
      for (let y = 0; y < 359; y++) { col639 += data[2 * y] as number; col640 += data[2 * y + 1] as number; }
      expect(Math.abs(col640 - col639) / 359).toBeLessThan(12);
    }
  }, 60_000);
});

describe('probe parsing (units)', () => {
  const header = (video: string) => `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':\n  Duration: 00:00:01.00, start: 0.000000, bitrate: 1 kb/s\n  Stream #0:0: Video: ${video}\n`;
  const crc = (rows: string[]) => `#tb 0: 1/1000\n${rows.join('\n')}\n`;

  it('packets flagged DISCARD (before an edit list start) are not frames; frame 0 is the first shown', () => {
    const r = parseProbe('x.mp4', crc([
      '0, -80, -40, 40, 100, 0x0, F=0x5', // keyframe, discarded
      '0, -40, -80, 40, 100, 0x0, F=0x4', '0, 0, 40, 40, 100, 0x0, F=0x0', '0, 40, 0, 40, 100, 0x0, F=0x0', '0, 80, 80, 40, 100, 0x0, F=0x0',
    ]), header('h264, yuv420p(progressive), 320x240, 25 fps'));
    expect(r.info.frameCount).toBe(3);
    expect(r.firstShown).toBe(0);
    expect(Array.from(r.packetTimes)).toEqual([0, 0.04, 0.08]);
  });

  it('"Packet corrupt" is damage read through (a warning), "partial file" is truncation', () => {
    const rows = crc(['0, 0, 0, 40, 100, 0x0', '0, 40, 40, 40, 100, 0x0, F=0x0']);
    const h = header('h264, yuv420p, 320x240, 25 fps');
    const corrupt = parseProbe('x.ts', rows, `${h}[mpegts @ 0x1] Packet corrupt (stream = 0, dts = 1800).\n[mpegts @ 0x1] Packet corrupt (stream = 0, dts = 1800).\n`);
    expect(corrupt.partial).toBe(false);
    expect(corrupt.warnings).toEqual([expect.stringMatching(/^1 damaged or incomplete packet/)]);
    expect(parseProbe('x.mp4', rows, `${h}[mov @ 0x1] stream 0, offset 0x30: partial file\n`).partial).toBe(true);
  });

  it('a field order in the header means interlaced', () => {
    const rows = crc(['0, 0, 0, 40, 100, 0x0']);
    expect(parseProbe('x', rows, header('h264, yuv420p(tv, top first), 320x240, 25 fps')).interlaced).toBe(true);
    expect(parseProbe('x', rows, header('mpeg2video, yuv422p(tv, bottom first), 320x240, 25 fps')).interlaced).toBe(true);
    expect(parseProbe('x', rows, header('h264, yuv420p(progressive), 320x240, 25 fps')).interlaced).toBe(false);
  });
});
