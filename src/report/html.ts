/** The report page of one video and the index page of a folder: plain HTML, CSS and inline SVG, no script, no external asset. */
import type { FrameRecord, Manifest, ScorePoint } from '../engine/types.js';
import { clock, esc } from './escape.js';
import { CUT_COLOUR, GRADUAL_COLOUR, scorePlotSvg, timelineSvg } from './plot.js';

export interface ReportFrame {
  record: FrameRecord;
  /** A small JPEG as a data: URI, so the page stands alone. */
  thumbnail: string;
}

export interface ReportPage {
  manifest: Manifest;
  scoreTrace?: { threshold: number; points: ScorePoint[] } | undefined;
  frames: ReportFrame[];
  /** URL of the video relative to the page (frame links add `#t=SECONDS`), or null when unknown. */
  videoHref: string | null;
  /** File name of the contact sheet next to the page. */
  contactSheet: string | null;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
table.scenes td,table.scenes th{border-bottom:1px solid #eee;padding:3px 12px 3px 4px;text-align:right}
.facts th{color:#666;font-weight:normal}table.scenes .name{text-align:left}.muted{color:#777}
.legend span{display:inline-block;margin-right:18px}.sw{display:inline-block;width:22px;height:0;border-top:3px solid;vertical-align:middle;margin-right:6px}
.frames{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
figure{margin:0}figure img{width:100%;height:auto;display:block;border-radius:3px;background:#eee}
figcaption{font-size:12px;color:#555;margin-top:3px}
.cut{color:${CUT_COLOUR}}.gradual{color:${GRADUAL_COLOUR}}
`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<link rel="icon" href="data:,"><title>${esc(title)}</title><style>${STYLE}</style></head><body>\n${body}\n</body></html>\n`;
}

const fact = (key: string, label: string, value: string | number) => `<tr><th>${esc(label)}</th><td data-fact="${esc(key)}">${esc(value)}</td></tr>`;
const confidence = (c: number | null | undefined) => (typeof c === 'number' ? c.toFixed(3) : '—');

/** One video's report page. */
export function renderReport(p: ReportPage): string {
  const m = p.manifest;
  const v = m.video;
  const name = v.path.split(/[\\/]/).pop() ?? v.path;
  const cuts = m.scenes.filter((s) => s.transitionIn === 'cut').length;
  const gradual = m.scenes.filter((s) => s.transitionIn === 'gradual').length;
  const facts = [
    fact('path', 'file', v.path),
    fact('durationSec', 'duration (s)', v.durationSec),
    fact('size', 'size', `${v.width}x${v.height}`),
    fact('fps', 'frame rate (average fps)', v.fps),
    fact('frameCount', 'frames decoded', v.frameCount),
    ...(v.codec ? [fact('codec', 'codec', v.codec)] : []),
    fact('rotation', 'rotation applied', `${v.rotation}°`),
    ...(v.vfr !== undefined ? [fact('vfr', 'variable frame rate', v.vfr ? 'yes' : 'no')] : []),
    fact('scenes', 'scenes', m.scenes.length),
    fact('cuts', 'boundaries: cuts', cuts),
    fact('gradual', 'boundaries: gradual', gradual),
    fact('framesChosen', 'frames chosen', m.frames.length),
    fact('threshold', 'threshold', m.settings.threshold),
    fact('minSceneLenSec', 'minimum scene length (s)', m.settings.minSceneLenSec),
    fact('mode', 'mode', m.settings.mode),
    fact('tool', 'made by', `${m.tool.name} ${m.tool.version}, ${m.createdAt}`),
  ];
  const sceneRows = m.scenes.map((s) => `<tr data-scene="${s.index}"><td>${s.index + 1}</td><td data-k="startFrame">${s.startFrame}</td><td data-k="endFrame">${s.endFrame}</td>` +
    `<td data-k="startTime">${s.startTime.toFixed(3)}</td><td data-k="endTime">${s.endTime.toFixed(3)}</td><td>${(s.endTime - s.startTime).toFixed(3)}</td>` +
    `<td data-k="transitionIn" class="${s.transitionIn ?? ''}">${s.transitionIn ?? 'start'}</td><td data-k="confidence">${confidence(s.confidence)}</td></tr>`);
  const frames = p.frames.map(({ record: f, thumbnail }) => {
    const img = `<img src="${thumbnail}" alt="frame ${f.frame} at ${esc(clock(f.time))}" data-frame-index="${f.index}">`;
    const link = p.videoHref ? `<a href="${esc(`${p.videoHref}#t=${f.time}`)}" title="open the video at ${esc(clock(f.time))}">${img}</a>` : img;
    return `<figure data-index="${f.index}" data-time="${f.time}">${link}<figcaption>#${f.index} · <span data-k="time">${esc(clock(f.time))}</span> · frame ${f.frame} · scene ${f.scene + 1} · <a href="${esc(f.file)}">${esc(f.file)}</a></figcaption></figure>`;
  });
  const legend = `<p class="legend"><span><i class="sw" style="border-color:${CUT_COLOUR}"></i>cut</span><span><i class="sw" style="border-color:${GRADUAL_COLOUR};border-top-style:dashed"></i>gradual transition</span>` +
    (p.scoreTrace ? '<span><i class="sw" style="border-color:#ff7f0e;border-top-style:dashed"></i>threshold</span>' : '') + '</p>';
  const plot = p.scoreTrace
    ? `<h2>Change score per frame</h2><p class="muted">The cut rule's content score (0-255 scale) of each analysed frame against the one before; a cut also needs the score to stand out from its neighbours, and gradual transitions are found by a separate test, so not every crossing is a boundary.</p>${scorePlotSvg(p.scoreTrace, m.scenes, v.durationSec)}`
    : '<h2>Change score per frame</h2><p class="muted">No score trace was recorded for this run.</p>';
  const body = `<h1>${esc(name)}</h1><p class="muted">${m.scenes.length} scenes, ${m.frames.length} frames chosen${m.fallbackUsed ? ' (too few scenes: evenly spaced frames)' : ''}${p.contactSheet ? ` · <a href="${esc(p.contactSheet)}">contact sheet</a>` : ''}</p>` +
    `<h2>Video</h2><table class="facts">${facts.join('')}</table>` +
    `<h2>Scenes</h2>${legend}${timelineSvg(m.scenes, v.durationSec)}` +
    `<table class="scenes"><thead><tr><th>#</th><th>start frame</th><th>end frame</th><th>start (s)</th><th>end (s)</th><th>length (s)</th><th>begins with</th><th>confidence</th></tr></thead><tbody>${sceneRows.join('')}</tbody></table>` +
    plot +
    `<h2>Chosen frames</h2><div class="frames">${frames.join('')}</div>`;
  return page(`${name}: scene report`, body);
}

export interface IndexEntry {
  /** Video path as given. */
  video: string;
  /** Link to its report, relative to the index page. */
  href: string | null;
  scenes?: number;
  frames?: number;
  durationSec?: number;
  thumbnail?: string;
  error?: string;
}

/** The index page of a folder's reports. */
export function renderIndex(title: string, entries: IndexEntry[]): string {
  const rows = entries.map((e) => `<tr data-video="${esc(e.video)}"><td>${e.thumbnail ? `<img src="${e.thumbnail}" alt="" width="120">` : ''}</td>` +
    `<td class="name">${e.href ? `<a href="${esc(e.href)}">${esc(e.video)}</a>` : esc(e.video)}</td>` +
    (e.error ? `<td colspan="3" class="cut">failed: ${esc(e.error)}</td>` : `<td data-k="scenes">${e.scenes ?? ''}</td><td data-k="frames">${e.frames ?? ''}</td><td data-k="durationSec">${e.durationSec ?? ''}</td>`) + '</tr>');
  return page(title, `<h1>${esc(title)}</h1><p class="muted">${entries.length} videos</p><table class="scenes"><thead><tr><th></th><th class="name">video</th><th>scenes</th><th>frames</th><th>duration (s)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
}
