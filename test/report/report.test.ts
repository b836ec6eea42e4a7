/**
 * `frames report` and `frames extract --report` checked in real headless chromium: the page loads
 * from file:// with no console error and no request beyond file: and data: URLs, every image
 * decodes, the plot and thumbnails render (pixels of the right colours in screenshots), and the
 * numbers on the page are the manifest's. The clip (generated with ffmpeg) has dissolves and a
 * hard cut, so both boundary kinds appear.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import type { Browser, Page } from 'puppeteer-core';
import { main } from '../../src/cli/main.js';
import type { Manifest } from '../../src/engine/types.js';
import { dissolves } from '../fixtures/synth.js';
import { HAVE_CHROMIUM, launchChromium } from '../helpers/browser.js';
import { makeCutsVideo } from '../fixtures/videos.js';
import { renderReport } from '../../src/report/index.js';

const d = HAVE_CHROMIUM ? describe : describe.skip;

async function cli(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'frames', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out, err };
}

interface Visit { page: Page; problems: string[] }

/** Opens a file:// page and records console errors, page errors, failed and non-local requests. */
async function visit(browser: Browser, file: string): Promise<Visit> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => { if (!/^(file|data):/.test(r.url())) problems.push(`external request: ${r.url()}`); });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems };
}

/** Pixels of a PNG screenshot that are close to an RGB colour. */
async function countColour(png: Uint8Array, rgb: [number, number, number], tol = 40): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < info.width * info.height * 3; i += 3) {
    if (Math.abs((data[i] as number) - rgb[0]) <= tol && Math.abs((data[i + 1] as number) - rgb[1]) <= tol && Math.abs((data[i + 2] as number) - rgb[2]) <= tol) n++;
  }
  return n;
}

async function spread(png: Uint8Array | Buffer): Promise<number> {
  const s = await sharp(png).stats();
  return Math.max(...s.channels.slice(0, 3).map((c) => c.stdev));
}

d('frames report in headless chromium', () => {
  let dir: string;
  let clip: string;
  let out: string;
  let manifest: Manifest;
  let browser: Browser;
  let close: () => Promise<void>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'frames-report-'));
    clip = (await dissolves({ width: 320, height: 240 })).path;
    out = path.join(dir, 'single');
    const r = await cli('report', clip, '--out', out);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')) as Manifest;
    ({ browser, close } = await launchChromium());
  }, 240_000);

  afterAll(async () => {
    await close?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the clip has both kinds of boundary (so the page must mark both)', () => {
    const kinds = manifest.scenes.map((s) => s.transitionIn);
    expect(kinds).toContain('cut');
    expect(kinds).toContain('gradual');
  });

  it('loads with no console error and no request beyond file: and data:, every image decoded', async () => {
    const { page, problems } = await visit(browser, path.join(out, 'report.html'));
    const imgs = await page.$$eval('img', (els) => els.map((e) => ({ ok: e.complete && e.naturalWidth > 0, src: e.src.slice(0, 22) })));
    expect(imgs.length).toBe(manifest.frames.length);
    expect(imgs.every((i) => i.ok && i.src.startsWith('data:image/jpeg'))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the manifest\'s numbers: facts, every scene, every chosen frame', async () => {
    const { page } = await visit(browser, path.join(out, 'report.html'));
    const facts = Object.fromEntries(await page.$$eval('[data-fact]', (els) => els.map((e) => [e.getAttribute('data-fact'), e.textContent])));
    const v = manifest.video;
    expect(Number(facts.durationSec)).toBe(v.durationSec);
    expect(Number(facts.fps)).toBe(v.fps);
    expect(Number(facts.frameCount)).toBe(v.frameCount);
    expect(facts.size).toBe(`${v.width}x${v.height}`);
    expect(Number(facts.scenes)).toBe(manifest.scenes.length);
    expect(Number(facts.cuts)).toBe(manifest.scenes.filter((s) => s.transitionIn === 'cut').length);
    expect(Number(facts.gradual)).toBe(manifest.scenes.filter((s) => s.transitionIn === 'gradual').length);
    expect(Number(facts.framesChosen)).toBe(manifest.frames.length);
    expect(Number(facts.threshold)).toBe(manifest.settings.threshold);

    const rows = await page.$$eval('tr[data-scene]', (trs) => trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('[data-k]')].map((c) => [c.getAttribute('data-k'), c.textContent]))));
    expect(rows).toHaveLength(manifest.scenes.length);
    manifest.scenes.forEach((s, i) => {
      const r = rows[i] as Record<string, string>;
      expect(Number(r.startFrame)).toBe(s.startFrame);
      expect(Number(r.endFrame)).toBe(s.endFrame);
      expect(Number(r.startTime)).toBeCloseTo(s.startTime, 3);
      expect(Number(r.endTime)).toBeCloseTo(s.endTime, 3);
      expect(r.transitionIn).toBe(s.transitionIn ?? 'start');
      expect(r.confidence).toBe(typeof s.confidence === 'number' ? s.confidence.toFixed(3) : '—');
    });

    // each boundary kind is drawn on the timeline and the plot, in its own style
    for (const kind of ['cut', 'gradual'] as const) {
      const frames = manifest.scenes.filter((s) => s.transitionIn === kind).map((s) => String(s.startFrame));
      expect(await page.$$eval(`svg.timeline line.boundary.${kind}`, (ls) => ls.map((l) => l.getAttribute('data-frame')))).toEqual(frames);
      expect(await page.$$eval(`svg.score-plot line.boundary.${kind}`, (ls) => ls.map((l) => l.getAttribute('data-frame')))).toEqual(frames);
    }
    expect(await page.$$eval('svg.score-plot line.boundary.gradual', (ls) => ls.map((l) => l.getAttribute('stroke-dasharray')))).not.toContain(null);
    expect(await page.$eval('line.threshold', (l) => Number(l.getAttribute('data-threshold')))).toBe(manifest.settings.threshold);
    expect(await page.$eval('polyline.scores', (l) => Number(l.getAttribute('data-points')))).toBeGreaterThan(v.frameCount / 2);

    const figs = await page.$$eval('figure', (fs) => fs.map((f) => ({ time: Number(f.getAttribute('data-time')), href: (f.querySelector('a') as unknown as { href: string }).href })));
    expect(figs.map((f) => f.time)).toEqual(manifest.frames.map((f) => f.time));
    for (const [i, f] of figs.entries()) {
      const u = new URL(f.href);
      expect(fileURLToPath(u)).toBe(path.resolve(clip));
      expect(u.hash).toBe(`#t=${manifest.frames[i]?.time}`);
    }
    await page.close();
  });

  it('renders: the plot has its score line, threshold and boundaries; thumbnails are pictures', async () => {
    const { page } = await visit(browser, path.join(out, 'report.html'));
    const plot = await (await page.$('svg.score-plot'))!.screenshot();
    expect(await countColour(plot, [0x33, 0x33, 0x33], 30)).toBeGreaterThan(300); // score polyline
    expect(await countColour(plot, [0xff, 0x7f, 0x0e], 45)).toBeGreaterThan(200); // threshold
    expect(await countColour(plot, [0xd6, 0x27, 0x28], 45)).toBeGreaterThan(50); // cut
    expect(await countColour(plot, [0x1f, 0x77, 0xb4], 45)).toBeGreaterThan(50); // gradual
    const thumb = await (await page.$('figure img'))!.screenshot();
    expect(await spread(thumb)).toBeGreaterThan(10);
    const whole = await page.screenshot({ fullPage: true });
    expect(await spread(whole)).toBeGreaterThan(20);
    await page.close();
  });

  it('writes a contact sheet: one labelled cell per chosen frame', async () => {
    const sheet = path.join(out, 'contact-sheet.jpg');
    const meta = await sharp(sheet).metadata();
    expect(meta.format).toBe('jpeg');
    const n = manifest.frames.length;
    const cols = Math.min(4, n);
    expect(meta.width).toBe(8 + cols * (320 + 8));
    expect(meta.height).toBe(8 + Math.ceil(n / cols) * (240 + 26 + 8));
    // every cell holds a picture, and its label strip has light text pixels on the dark ground
    for (let i = 0; i < n; i++) {
      const left = 8 + (i % cols) * 328;
      const top = 8 + Math.floor(i / cols) * 274;
      const cell = await sharp(sheet).extract({ left, top, width: 320, height: 240 }).png().toBuffer();
      expect(await spread(cell)).toBeGreaterThan(5);
      const label = await sharp(sheet).extract({ left, top: top + 240, width: 320, height: 26 }).png().toBuffer();
      expect(await countColour(label, [0xf0, 0xf0, 0xf0], 50)).toBeGreaterThan(100);
    }
  });

  it('extract --report on a folder: a report per video and an index page whose numbers match', async () => {
    const videos = path.join(dir, 'videos');
    await mkdir(path.join(videos, 'sub'), { recursive: true });
    await copyFile(await makeCutsVideo(undefined, { seconds: 4, width: 320, height: 180, cuts: 1 }), path.join(videos, 'sub', 'b.mp4'));
    await copyFile(clip, path.join(videos, 'a.mp4'));
    const outFolder = path.join(dir, 'folder');
    const r = await cli('extract', videos, '--out', outFolder, '--report');
    expect(r.code).toBe(0);
    const { page, problems } = await visit(browser, path.join(outFolder, 'index.html'));
    const rows = await page.$$eval('tr[data-video]', (trs) => trs.map((tr) => ({
      href: (tr.querySelector('a') as unknown as { href: string }).href,
      scenes: Number(tr.querySelector('[data-k="scenes"]')?.textContent),
      frames: Number(tr.querySelector('[data-k="frames"]')?.textContent),
      img: (tr.querySelector('img') as unknown as { naturalWidth: number }).naturalWidth,
    })));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const report = fileURLToPath(row.href);
      expect(path.basename(report)).toBe('report.html');
      expect(existsSync(report)).toBe(true);
      const m = JSON.parse(await readFile(path.join(path.dirname(report), 'manifest.json'), 'utf8')) as Manifest;
      expect(row.scenes).toBe(m.scenes.length);
      expect(row.frames).toBe(m.frames.length);
      expect(row.img).toBeGreaterThan(0);
    }
    expect(problems).toEqual([]);
    // run again: both videos are skipped (resume) and the index still lists both reports
    const again = await cli('extract', videos, '--out', outFolder, '--report');
    expect(again.code).toBe(0);
    const html = await readFile(path.join(outFolder, 'index.html'), 'utf8');
    expect(html.match(/<tr data-video=/g)).toHaveLength(2);
    expect(html).toContain('href="a/report.html"');
    expect(html).toContain('href="sub/b/report.html"');
    expect(html).not.toContain('failed:');
    const sub = await visit(browser, path.join(outFolder, 'sub', 'b', 'report.html'));
    expect(await sub.page.$eval('[data-fact="scenes"]', (e) => Number(e.textContent))).toBe(2);
    expect(sub.problems).toEqual([]);
    await page.close();
    await sub.page.close();
  });

  it('a missing video is a clear error naming it, and no report is written', async () => {
    const r = await cli('report', path.join(dir, 'nope.mp4'), '--out', path.join(dir, 'nope'));
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/video not found: .*nope\.mp4/);
    expect(existsSync(path.join(dir, 'nope', 'report.html'))).toBe(false);
  });
});

describe('report page (rendering alone)', () => {
  const manifest: Manifest = {
    video: { path: '/v/<script>alert(1)</script>&.mp4', durationSec: 4, fps: 25, frameCount: 100, width: 64, height: 36, rotation: 0 },
    scenes: [
      { index: 0, startFrame: 0, endFrame: 49, startTime: 0, endTime: 2, transitionIn: null, confidence: null },
      { index: 1, startFrame: 50, endFrame: 99, startTime: 2, endTime: 4, transitionIn: 'gradual', confidence: 0.8125 },
    ],
    cuts: [50],
    frames: [],
    fallbackUsed: false,
    warnings: [],
    settings: { threshold: 27, minSceneLenSec: 0.6, mode: 'scene', framesPerScene: 1, interval: 2, minFrames: 3, format: 'jpeg', dedupe: true },
    tool: { name: 'scene-frames', version: '0.0.0' },
    createdAt: '2026-01-01T00:00:00.000Z',
  };

  it('shows a boundary\'s confidence where the detector gives one, escapes what comes from file names, loads nothing', () => {
    const html = renderReport({ manifest, frames: [], videoHref: null, contactSheet: null, scoreTrace: { threshold: 27, points: [{ frame: 0, time: 0, score: 0 }, { frame: 50, time: 2, score: 40 }] } });
    expect(html).toContain('<td data-k="confidence">0.813</td>');
    expect(html).toContain('<td data-k="confidence">—</td>');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&amp;.mp4');
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).toContain('class="boundary gradual"');
  });
});
