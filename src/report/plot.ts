/** Inline SVG pictures of a detection: the scene timeline and the per-frame change score. */
import type { Scene, ScorePoint } from '../engine/types.js';
import { clock, esc } from './escape.js';

export const CUT_COLOUR = '#d62728';
export const GRADUAL_COLOUR = '#1f77b4';
const SCENE_FILLS = ['#c7d7e8', '#e8dcc7', '#d2e8c7', '#e3c7e8'];

const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Boundary markers: a cut is a solid red line, a gradual transition a dashed blue one. */
function boundary(s: Scene, x: number, top: number, bottom: number): string {
  const gradual = s.transitionIn === 'gradual';
  const colour = gradual ? GRADUAL_COLOUR : CUT_COLOUR;
  const conf = typeof s.confidence === 'number' ? `, confidence ${s.confidence.toFixed(3)}` : '';
  return `<line class="boundary ${gradual ? 'gradual' : 'cut'}" data-frame="${s.startFrame}" x1="${f1(x)}" x2="${f1(x)}" y1="${top}" y2="${bottom}" stroke="${colour}" stroke-width="2"${gradual ? ' stroke-dasharray="5 3"' : ''}><title>scene ${s.index + 1} starts at ${esc(clock(s.startTime))} with a ${s.transitionIn}${conf}</title></line>`;
}

/** The scenes as proportional blocks on a time axis, each boundary marked by its kind. */
export function timelineSvg(scenes: Scene[], durationSec: number, width = 1000): string {
  const h = 46;
  const d = durationSec > 0 ? durationSec : Math.max(1, scenes.at(-1)?.endTime ?? 1);
  const x = (t: number) => (Math.min(d, Math.max(0, t)) / d) * width;
  const blocks = scenes.map((s, i) => {
    const x0 = x(s.startTime);
    const w = Math.max(1, x(s.endTime) - x0);
    return `<rect class="scene" data-index="${s.index}" x="${f1(x0)}" y="8" width="${f1(w)}" height="28" fill="${SCENE_FILLS[i % SCENE_FILLS.length]}"><title>scene ${s.index + 1}: ${esc(clock(s.startTime))} - ${esc(clock(s.endTime))}</title></rect>` +
      (w > 22 ? `<text x="${f1(x0 + w / 2)}" y="27" text-anchor="middle" font-size="12" fill="#333">${s.index + 1}</text>` : '');
  });
  const marks = scenes.filter((s) => s.transitionIn).map((s) => boundary(s, x(s.startTime), 2, 42));
  return `<svg class="timeline" viewBox="0 0 ${width} ${h}" width="100%" preserveAspectRatio="none" role="img" aria-label="scene timeline">${blocks.join('')}${marks.join('')}</svg>`;
}

/**
 * The change score of every analysed frame over time, the threshold as a dashed line and the
 * detected boundaries. Long traces keep each pixel column's highest score, so no spike is lost.
 */
export function scorePlotSvg(trace: { threshold: number; points: ScorePoint[] }, scenes: Scene[], durationSec: number, width = 1000, height = 260): string {
  const m = { l: 44, r: 10, t: 10, b: 28 };
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const d = durationSec > 0 ? durationSec : Math.max(1, trace.points.at(-1)?.time ?? 1);
  const maxScore = Math.max(trace.threshold * 1.5, ...trace.points.map((p) => p.score));
  const x = (t: number) => m.l + (Math.min(d, Math.max(0, t)) / d) * pw;
  const y = (s: number) => m.t + ph - (Math.min(maxScore, Math.max(0, s)) / maxScore) * ph;
  const columns = new Map<number, ScorePoint>();
  for (const p of trace.points) {
    const c = Math.round(x(p.time) * 2);
    const have = columns.get(c);
    if (!have || p.score > have.score) columns.set(c, p);
  }
  const pts = [...columns.values()].sort((a, b) => a.time - b.time).map((p) => `${f1(x(p.time))},${f1(y(p.score))}`).join(' ');
  const yTicks = [0, Math.round(maxScore / 2), Math.round(maxScore)].map((v) =>
    `<line x1="${m.l - 4}" x2="${m.l}" y1="${f1(y(v))}" y2="${f1(y(v))}" stroke="#888"/><text x="${m.l - 6}" y="${f1(y(v) + 4)}" text-anchor="end" font-size="11" fill="#555">${v}</text>`);
  const step = niceStep(d / 8);
  const xTicks: string[] = [];
  for (let t = 0; t <= d + 1e-9; t += step) {
    xTicks.push(`<line x1="${f1(x(t))}" x2="${f1(x(t))}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#888"/><text x="${f1(x(t))}" y="${m.t + ph + 17}" text-anchor="middle" font-size="11" fill="#555">${esc(step < 1 ? t.toFixed(1) : String(Math.round(t)))} s</text>`);
  }
  const ty = y(trace.threshold);
  return `<svg class="score-plot" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="change score per frame">` +
    `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="#fafafa" stroke="#ccc"/>` +
    scenes.filter((s) => s.transitionIn).map((s) => boundary(s, x(s.startTime), m.t, m.t + ph)).join('') +
    `<polyline class="scores" data-points="${trace.points.length}" points="${pts}" fill="none" stroke="#333" stroke-width="1.2"/>` +
    `<line class="threshold" data-threshold="${trace.threshold}" x1="${m.l}" x2="${m.l + pw}" y1="${f1(ty)}" y2="${f1(ty)}" stroke="#ff7f0e" stroke-width="1.5" stroke-dasharray="6 4"/>` +
    `<text x="${m.l + pw - 4}" y="${f1(ty - 5)}" text-anchor="end" font-size="11" fill="#ff7f0e">threshold ${trace.threshold}</text>` +
    yTicks.join('') + xTicks.join('') +
    `</svg>`;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  for (const k of [1, 2, 5, 10]) if (k * p >= raw) return k * p;
  return 10 * p;
}
