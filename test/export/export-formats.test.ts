/**
 * The export formats against their specifications, on clips generated with ffmpeg here: a 70 s
 * 29.97 fps clip whose second cut lies past the first minute (where drop-frame and non-drop
 * timecodes part by two frames) and a variable-frame-rate clip (25, then 50, then 25 fps) where
 * frame numbers and times disagree. The EDL and OTIO are read by parsers written here from the
 * CMX3600 layout and the OTIO schema; the CSV by an RFC 4180 reader against PySceneDetect's
 * columns; the WebVTT by chromium itself, as a <track>, its cues read back.
 */
import { execFile } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../src/cli/main.js';
import { detectScenes } from '../../src/engine/index.js';
import { formatScenes, framesToTimecode, nominalRate, secondsToClock, toCsv } from '../../src/engine/export/index.js';
import type { DetectionResult } from '../../src/engine/types.js';
import { HAVE_CHROMIUM, launchChromium } from '../helpers/browser.js';
import { ffmpegBin as ffmpegPath } from '../fixtures/videos.js';

const run = promisify(execFile);

/**
 * Segments of distinct lavfi sources joined by hard cuts; each [source, frames, rate]. No B-frames
 * (`-bf 0`): these tests are about timecodes, so every frame is analysed and cuts land exactly (with
 * B-frames the analysis skips unreferenced ones and a cut beside one may land a frame early).
 */
async function makeClip(file: string, segments: Array<[string, number, string]>, vfr = false): Promise<void> {
  const args = ['-y', '-hide_banner', '-loglevel', 'error'];
  for (const [src, , rate] of segments) args.push('-f', 'lavfi', '-i', `${src}=size=160x90:rate=${rate}`);
  const chains = segments.map(([, frames], i) => `[${i}:v]trim=end_frame=${frames},setpts=PTS-STARTPTS,setsar=1,format=yuv420p[s${i}]`).join(';');
  const concat = `${segments.map((_, i) => `[s${i}]`).join('')}concat=n=${segments.length}:v=1:a=0[v]`;
  args.push('-filter_complex', `${chains};${concat}`, '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', ...(vfr ? ['-fps_mode', 'vfr'] : []), file);
  await run(ffmpegPath(), args, { timeout: 180_000 });
}

// ---- readers written from the specifications ------------------------------------------------

/** CMX3600 timecode -> frame count at `timebase`; drop-frame (`;`) skips 2 (4 at 60) numbers a minute except every tenth. */
function timecodeToFrames(tc: string, timebase: number): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})([:;])(\d{2})$/.exec(tc);
  if (!m) throw new Error(`not a timecode: ${tc}`);
  const [h, mi, s, sep, f] = [Number(m[1]), Number(m[2]), Number(m[3]), m[4], Number(m[5])];
  if (mi > 59 || s > 59 || f >= timebase) throw new Error(`timecode out of range: ${tc}`);
  const drop = sep === ';' ? (timebase === 60 ? 4 : 2) : 0;
  if (drop && s === 0 && mi % 10 !== 0 && f < drop) throw new Error(`drop-frame timecode names a dropped frame: ${tc}`);
  const minutes = h * 60 + mi;
  return ((h * 60 + mi) * 60 + s) * timebase + f - drop * (minutes - Math.floor(minutes / 10));
}

interface EdlEvent { event: number; reel: string; track: string; transition: string; srcIn: string; srcOut: string; recIn: string; recOut: string; comments: string[] }

/** CMX3600: TITLE and FCM header lines, then event lines in fixed columns, each followed by `*` comment lines. */
function parseEdl(text: string): { title: string; dropFrame: boolean; events: EdlEvent[] } {
  const lines = text.split('\n');
  const title = /^TITLE: (.{1,70})$/.exec(lines[0] ?? '')?.[1];
  const fcm = /^FCM: (DROP FRAME|NON-DROP FRAME)$/.exec(lines[1] ?? '')?.[1];
  if (!title || !fcm) throw new Error('EDL header must be TITLE: and FCM: lines');
  const events: EdlEvent[] = [];
  for (const line of lines.slice(2)) {
    if (line.trim() === '') continue;
    if (line.startsWith('*')) { events.at(-1)?.comments.push(line); continue; }
    // event(3) 2sp reel(8) sp track(5) sp transition(8) sp 4 timecodes
    const m = /^(\d{3}) {2}(.{8}) (.{5}) (.{8}) (\S{11}) (\S{11}) (\S{11}) (\S{11})$/.exec(line);
    if (!m) throw new Error(`not a CMX3600 event line: "${line}"`);
    events.push({ event: Number(m[1]), reel: (m[2] as string).trim(), track: (m[3] as string).trim(), transition: (m[4] as string).trim(), srcIn: m[5] as string, srcOut: m[6] as string, recIn: m[7] as string, recOut: m[8] as string, comments: [] });
  }
  return { title, dropFrame: fcm === 'DROP FRAME', events };
}

/** Walks an OTIO document and checks every object against the schema's required fields. */
function checkOtio(node: unknown, where = '$'): void {
  if (Array.isArray(node)) { node.forEach((n, i) => checkOtio(n, `${where}[${i}]`)); return; }
  if (node === null || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  const schema = o.OTIO_SCHEMA;
  const need = (keys: string[]) => { for (const k of keys) if (!(k in o)) throw new Error(`${where} (${String(schema)}) lacks ${k}`); };
  switch (schema) {
    case 'Timeline.1': need(['name', 'tracks', 'global_start_time', 'metadata']); if ((o.tracks as { OTIO_SCHEMA?: string }).OTIO_SCHEMA !== 'Stack.1') throw new Error(`${where}.tracks is not a Stack.1`); break;
    case 'Stack.1': case 'Track.1': need(['name', 'children', 'source_range', 'effects', 'markers', 'enabled', 'metadata']); if (schema === 'Track.1' && !['Video', 'Audio'].includes(o.kind as string)) throw new Error(`${where}.kind`); break;
    case 'Clip.2': need(['name', 'source_range', 'media_references', 'active_media_reference_key', 'effects', 'markers', 'enabled', 'metadata']);
      if (!((o.active_media_reference_key as string) in (o.media_references as object))) throw new Error(`${where}: active_media_reference_key names no reference`); break;
    case 'ExternalReference.1': need(['target_url', 'available_range', 'metadata', 'name']); break;
    case 'TimeRange.1': need(['start_time', 'duration']); break;
    case 'RationalTime.1': need(['rate', 'value']); if (typeof o.rate !== 'number' || !(o.rate > 0) || typeof o.value !== 'number') throw new Error(`${where}: bad RationalTime`); break;
    case undefined: break; // plain maps: media_references, metadata
    default: throw new Error(`${where}: unexpected schema ${String(schema)}`);
  }
  for (const [k, v] of Object.entries(o)) if (k !== 'metadata') checkOtio(v, `${where}.${k}`);
}

/** RFC 4180 rows (quoted fields with doubled quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; } else field += c;
  }
  return rows;
}

const PSD_COLUMNS = ['Scene Number', 'Start Frame', 'Start Timecode', 'Start Time (seconds)', 'End Frame', 'End Timecode', 'End Time (seconds)', 'Length (frames)', 'Length (timecode)', 'Length (seconds)'];

// ---- tests ----------------------------------------------------------------------------------------

describe('timecodes', () => {
  it('drop-frame at 29.97 skips ;00 and ;01 at each minute but the tenth', () => {
    const r = nominalRate(29.97);
    expect(r).toEqual({ num: 30000, den: 1001, timebase: 30, dropFrame: true });
    expect(framesToTimecode(1799, r)).toBe('00:00:59;29');
    expect(framesToTimecode(1800, r)).toBe('00:01:00;02');
    expect(framesToTimecode(17982, r)).toBe('00:10:00;00');
    expect(framesToTimecode(17981, r)).toBe('00:09:59;29');
    expect(framesToTimecode(107892, r)).toBe('01:00:00;00'); // an hour of 29.97 is 107892 frames
    for (const n of [0, 1, 2, 1799, 1800, 1801, 3598, 17982, 17983, 35964, 107892, 123456]) expect(timecodeToFrames(framesToTimecode(n, r), 30)).toBe(n);
  });

  it('59.94 drops 4, 25 and 23.976 count plainly, other averages take the nearest whole standard rate', () => {
    const r = nominalRate(59.94);
    expect(r.dropFrame).toBe(true);
    expect(framesToTimecode(3599, r)).toBe('00:00:59;59'); // the first minute of ten keeps all its numbers
    expect(framesToTimecode(3600, r)).toBe('00:01:00;04');
    expect(framesToTimecode(90000, nominalRate(25))).toBe('01:00:00:00');
    expect(nominalRate(23.976)).toMatchObject({ num: 24000, den: 1001, timebase: 24, dropFrame: false });
    expect(nominalRate(35.08)).toMatchObject({ num: 30, den: 1, dropFrame: false });
    expect(nominalRate(44)).toMatchObject({ num: 48, den: 1 });
    expect(secondsToClock(3661.0016)).toBe('01:01:01.002');
  });
});

describe('confidence, where the detector gives it', () => {
  const video = { path: '/v/clip.mp4', durationSec: 4, fps: 25, frameCount: 100, width: 64, height: 36, rotation: 0 };
  const scenes = [
    { index: 0, startFrame: 0, endFrame: 49, startTime: 0, endTime: 2, transitionIn: null, confidence: null },
    { index: 1, startFrame: 50, endFrame: 99, startTime: 2, endTime: 4, transitionIn: 'gradual' as const, confidence: 0.8125 },
  ];

  it('is the last CSV column, in the VTT cue text, an EDL comment, OTIO metadata and the JSON', () => {
    const rows = parseCsv(toCsv({ video, scenes }));
    expect(rows[2]?.at(-1)).toBe('');
    expect(rows[3]?.slice(-2)).toEqual(['gradual', '0.813']);
    expect(formatScenes({ video, scenes }, 'vtt')).toContain('Scene 2 (gradual, confidence 0.813)');
    expect(formatScenes({ video, scenes }, 'edl')).toContain('* SCENE 2: begins with a gradual, confidence 0.813');
    const otio = JSON.parse(formatScenes({ video, scenes }, 'otio')) as { tracks: { children: Array<{ children: Array<{ metadata: { scene_frames: { confidence: unknown } } }> }> } };
    expect(otio.tracks.children[0]!.children.map((c) => c.metadata.scene_frames.confidence)).toEqual([null, 0.8125]);
    expect((JSON.parse(formatScenes({ video, scenes }, 'json')) as { scenes: Array<{ confidence: unknown }> }).scenes.map((x) => x.confidence)).toEqual([null, 0.8125]);
  });

  it('absent (undefined) reads as empty / null, never as a number', () => {
    const bare = scenes.map(({ confidence: _c, ...rest }) => rest);
    expect(parseCsv(toCsv({ video, scenes: bare }))[3]?.at(-1)).toBe('');
    expect((JSON.parse(formatScenes({ video, scenes: bare }, 'json')) as { scenes: Array<{ confidence: unknown }> }).scenes.map((x) => x.confidence)).toEqual([null, null]);
    expect(formatScenes({ video, scenes: bare }, 'vtt')).toContain('Scene 2 (gradual)\n');
  });
});

describe('export formats on generated 29.97 fps and VFR clips', () => {
  let dir: string;
  let ntsc: string;
  let vfr: string;
  let ntscResult: DetectionResult;
  let vfrResult: DetectionResult;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'frames-export-'));
    ntsc = path.join(dir, 'ntsc.mp4');
    vfr = path.join(dir, 'vfr.mp4');
    // 29.97: cuts at frames 600 (20.02 s) and 1830 (61.06 s, past the first minute)
    await makeClip(ntsc, [['testsrc2', 600, '30000/1001'], ['smptehdbars', 1230, '30000/1001'], ['mandelbrot', 270, '30000/1001']]);
    // VFR: 50 frames at 25 fps, 100 at 50 fps, 25 at 25 fps: cuts at frames 50 and 150, about 2 s and 4 s
    await makeClip(vfr, [['testsrc2', 50, '25'], ['smptehdbars', 100, '50'], ['mandelbrot', 25, '25']], true);
    [ntscResult, vfrResult] = await Promise.all([detectScenes(ntsc), detectScenes(vfr)]);
  }, 300_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the clips are what the tests need (exact cuts; VFR frame numbers are not time x fps)', () => {
    expect(ntscResult.cuts).toEqual([600, 1830]);
    expect(ntscResult.video.fps).toBeCloseTo(29.97, 2);
    expect(vfrResult.cuts).toEqual([50, 150]);
    const third = vfrResult.scenes[2]!;
    expect(Math.abs(third.startFrame / vfrResult.video.fps - third.startTime)).toBeGreaterThan(0.2);
  });

  it('frames detect --export csv,edl,vtt,otio,json --out writes one file each', async () => {
    const out = path.join(dir, 'exports');
    const io = { out: [] as string[], err: [] as string[] };
    const code = await main(['node', 'frames', 'detect', ntsc, '--export', 'csv', '--export', 'edl', '--export', 'vtt', '--export', 'otio', '--export', 'json', '--out', out], { out: (s) => io.out.push(s), err: (s) => io.err.push(s) });
    expect(code).toBe(0);
    for (const ext of ['csv', 'edl', 'vtt', 'otio', 'json']) {
      const file = path.join(out, `ntsc.${ext}`);
      expect(existsSync(file)).toBe(true);
      expect(await readFile(file, 'utf8')).toBe(formatScenes(ntscResult, ext as 'csv'));
    }
    const json = JSON.parse(await readFile(path.join(out, 'ntsc.json'), 'utf8')) as { scenes: Array<{ confidence: unknown }>; cuts: number[] };
    expect(json.cuts).toEqual([600, 1830]);
    expect(json.scenes.every((s) => s.confidence === null || (typeof s.confidence === 'number' && s.confidence >= 0 && s.confidence <= 1))).toBe(true);
  }, 120_000);

  it('several formats without --out, an unknown format: usage errors (exit 2) naming the problem', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (s: string) => err.push(s) };
    expect(await main(['node', 'frames', 'detect', ntsc, '--export', 'csv', '--export', 'edl'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/several formats need --out/);
    expect(await main(['node', 'frames', 'detect', ntsc, '--export', 'xml'], io)).toBe(2);
  });

  it('CSV: PySceneDetect\'s Timecode List row and columns first; 1-based frames, inclusive end; confidence column last', () => {
    for (const result of [ntscResult, vfrResult]) {
      const rows = parseCsv(toCsv(result));
      expect(rows[0]).toEqual(['Timecode List:', ...result.scenes.slice(1).map((s) => secondsToClock(s.startTime))]);
      expect(rows[1]?.slice(0, 10)).toEqual(PSD_COLUMNS);
      expect(rows[1]?.at(-1)).toBe('Confidence');
      expect(rows).toHaveLength(2 + result.scenes.length);
      result.scenes.forEach((s, i) => {
        const r = rows[2 + i] as string[];
        expect(Number(r[0])).toBe(i + 1);
        expect(Number(r[1])).toBe(s.startFrame + 1);
        expect(Number(r[3])).toBeCloseTo(s.startTime, 3);
        expect(Number(r[4])).toBe(s.endFrame + 1);
        expect(Number(r[6])).toBeCloseTo(s.endTime, 3);
        expect(Number(r[7])).toBe(s.endFrame - s.startFrame + 1);
        expect(r[2]).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3}$/);
      });
      expect(toCsv(result, { skipCuts: true }).split('\n')[0]).toMatch(/^Scene Number,/);
    }
  });

  it('EDL: valid CMX3600, drop-frame at 29.97, every event at its scene\'s real time, record side contiguous', () => {
    for (const [result, dropFrame, timebase] of [[ntscResult, true, 30], [vfrResult, false, 30]] as const) {
      const edl = parseEdl(formatScenes(result, 'edl'));
      expect(edl.dropFrame).toBe(dropFrame);
      expect(edl.events.map((e) => e.event)).toEqual(result.scenes.map((_, i) => i + 1));
      const rate = dropFrame ? 30000 / 1001 : timebase;
      let recCursor = 0;
      edl.events.forEach((e, i) => {
        const s = result.scenes[i]!;
        expect([e.reel, e.track, e.transition]).toEqual(['AX', 'V', 'C']);
        for (const tc of [e.srcIn, e.srcOut, e.recIn, e.recOut]) expect(tc[8]).toBe(dropFrame ? ';' : ':');
        const [si, so, ri, ro] = [e.srcIn, e.srcOut, e.recIn, e.recOut].map((tc) => timecodeToFrames(tc, timebase)) as [number, number, number, number];
        expect(Math.abs(si / rate - s.startTime)).toBeLessThanOrEqual(0.5 / rate + 1e-6);
        expect(Math.abs(so / rate - s.endTime)).toBeLessThanOrEqual(0.5 / rate + 1e-6);
        expect(ro - ri).toBe(so - si);
        expect(ri).toBe(recCursor);
        recCursor = ro;
        expect(e.comments[0]).toBe(`* FROM CLIP NAME: ${path.basename(result.video.path)}`);
      });
    }
    // past the first minute drop-frame and non-drop differ: frame 1830 is 00:01:01;02, not 00:01:01:00
    expect(parseEdl(formatScenes(ntscResult, 'edl')).events[2]?.srcIn).toBe('00:01:01;02');
  });

  it('OTIO: every object matches its schema; clips tile the source at the nominal rate at their scenes\' times', () => {
    for (const result of [ntscResult, vfrResult]) {
      const doc = JSON.parse(formatScenes(result, 'otio')) as { tracks: { children: Array<{ kind: string; children: Array<{ source_range: { start_time: { value: number; rate: number }; duration: { value: number } }; media_references: { DEFAULT_MEDIA: { target_url: string; available_range: { duration: { value: number } } } } }> }> } };
      expect(() => checkOtio(doc)).not.toThrow();
      const clips = doc.tracks.children[0]!.children;
      expect(doc.tracks.children[0]!.kind).toBe('Video');
      expect(clips).toHaveLength(result.scenes.length);
      const rate = clips[0]!.source_range.start_time.rate;
      const r = nominalRate(result.video.fps);
      expect(rate).toBe(r.num / r.den);
      let cursor = 0;
      clips.forEach((c, i) => {
        const s = result.scenes[i]!;
        expect(c.source_range.start_time.value).toBe(cursor);
        expect(Math.abs(c.source_range.start_time.value / rate - s.startTime)).toBeLessThanOrEqual(0.5 / rate + 1e-6);
        cursor += c.source_range.duration.value;
        expect(new URL(c.media_references.DEFAULT_MEDIA.target_url).pathname).toBe(path.resolve(result.video.path));
      });
      expect(cursor).toBe(clips[0]!.media_references.DEFAULT_MEDIA.available_range.duration.value);
    }
    expect(JSON.parse(formatScenes(ntscResult, 'otio')).tracks.children[0].children[0].source_range.start_time.rate).toBeCloseTo(29.97003, 5);
  });

  (HAVE_CHROMIUM ? it : it.skip)('WebVTT: chromium loads it as a <track> and reads back one chapter cue per scene at its times', async () => {
    const files = new Map<string, { body: string | null; type: string; file?: string }>([
      ['/vfr.vtt', { body: formatScenes(vfrResult, 'vtt'), type: 'text/vtt' }],
      ['/ntsc.vtt', { body: formatScenes(ntscResult, 'vtt'), type: 'text/vtt' }],
      ['/vfr.mp4', { body: null, type: 'video/mp4', file: vfr }],
      ['/ntsc.mp4', { body: null, type: 'video/mp4', file: ntsc }],
    ]);
    const page = (name: string) => `<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><video src="/${name}.mp4" preload="metadata" muted><track id="t" kind="chapters" srclang="en" label="Scenes" src="/${name}.vtt" default></video></body></html>`;
    const server: Server = createServer((req, res) => {
      const url = req.url ?? '/';
      const m = /^\/page-(\w+)\.html$/.exec(url);
      if (m) { res.writeHead(200, { 'content-type': 'text/html' }).end(page(m[1] as string)); return; }
      const f = files.get(url);
      if (!f) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': f.type });
      if (f.file) createReadStream(f.file).pipe(res); else res.end(f.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const { browser, close } = await launchChromium();
    try {
      for (const [name, result] of [['vfr', vfrResult], ['ntsc', ntscResult]] as const) {
        const tab = await browser.newPage();
        const problems: string[] = [];
        tab.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()); });
        await tab.goto(`http://127.0.0.1:${port}/page-${name}.html`, { waitUntil: 'load' });
        const cues = await tab.evaluate(() => new Promise<Array<{ id: string; start: number; end: number; text: string }> | string>((resolve) => {
          const el = (globalThis as unknown as { document: { getElementById: (id: string) => unknown } }).document.getElementById('t') as { readyState: number; track: { mode: string; cues: ArrayLike<{ id: string; startTime: number; endTime: number; text: string }> | null }; addEventListener: (e: string, f: () => void) => void };
          const read = () => resolve(Array.from(el.track.cues ?? [], (c) => ({ id: c.id, start: c.startTime, end: c.endTime, text: c.text })));
          el.track.mode = 'hidden';
          if (el.readyState === 2) read();
          el.addEventListener('load', read);
          el.addEventListener('error', () => resolve('track error'));
          setTimeout(() => resolve(`timeout, readyState ${el.readyState}`), 15_000);
        }));
        expect(problems).toEqual([]);
        expect(Array.isArray(cues)).toBe(true);
        const list = cues as Array<{ id: string; start: number; end: number; text: string }>;
        expect(list).toHaveLength(result.scenes.length);
        list.forEach((c, i) => {
          const s = result.scenes[i]!;
          expect(c.id).toBe(String(i + 1));
          expect(c.start).toBeCloseTo(s.startTime, 3);
          expect(c.end).toBeCloseTo(s.endTime, 3);
          expect(c.text).toBe(`Scene ${i + 1}${s.transitionIn ? ` (${s.transitionIn}` : ''}${s.transitionIn ? (typeof s.confidence === 'number' ? `, confidence ${s.confidence.toFixed(3)})` : ')') : ''}`);
        });
        await tab.close();
      }
    } finally {
      await close();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 120_000);
});
