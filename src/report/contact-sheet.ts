/**
 * The contact sheet: the chosen frames in a grid, each with its number and time underneath, as one
 * JPEG made with sharp. The labels are drawn from a built-in 3x5 pixel font as SVG rectangles, so
 * no system font is needed (librsvg renders shapes without fontconfig).
 */
import sharp, { type OverlayOptions } from 'sharp';
import { clock } from './escape.js';

const GLYPHS: Record<string, string> = {
  '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111', '4': '101101111001001',
  '5': '111100111001111', '6': '111100111101111', '7': '111001001001001', '8': '111101111101111', '9': '111101111001111',
  ':': '000010000010000', '.': '000000000000010', ' ': '000000000000000',
};

/** SVG rectangles spelling `text` (digits, `:`, `.`, space) at (x, y), `px` pixels per font dot. */
function textRects(text: string, x: number, y: number, px: number): string {
  let out = '';
  let cx = x;
  for (const ch of text) {
    const g = GLYPHS[ch] ?? GLYPHS[' '] as string;
    for (let i = 0; i < 15; i++) if (g[i] === '1') out += `<rect x="${cx + (i % 3) * px}" y="${y + Math.floor(i / 3) * px}" width="${px}" height="${px}"/>`;
    cx += 4 * px;
  }
  return out;
}

export interface SheetFrame {
  /** Encoded image (JPEG, WebP or PNG). */
  data: Buffer;
  index: number;
  time: number;
}

/** A grid of `frames` (at most `columns` wide, each `thumbWidth` px), labelled with the frame's output index (dimmed) and its time `m:ss.mmm`. */
export async function contactSheet(frames: SheetFrame[], o: { columns?: number; thumbWidth?: number; quality?: number } = {}): Promise<Buffer> {
  const tw = o.thumbWidth ?? 320;
  const cols = Math.max(1, Math.min(o.columns ?? 4, frames.length));
  const rows = Math.max(1, Math.ceil(frames.length / cols));
  const gap = 8;
  const label = 26;
  const thumbs = await Promise.all(frames.map((f) => sharp(f.data).resize({ width: tw }).jpeg({ quality: 90 }).toBuffer({ resolveWithObject: true })));
  const th = Math.max(1, ...thumbs.map((t) => t.info.height));
  const cellH = th + label;
  const width = gap + cols * (tw + gap);
  const height = gap + rows * (cellH + gap);
  let indexRects = '';
  let timeRects = '';
  const composites: OverlayOptions[] = [];
  frames.forEach((f, i) => {
    const left = gap + (i % cols) * (tw + gap);
    const top = gap + Math.floor(i / cols) * (cellH + gap);
    composites.push({ input: (thumbs[i] as { data: Buffer }).data, left, top });
    const idx = String(f.index);
    indexRects += textRects(idx, left + 6, top + th + 5, 3);
    timeRects += textRects(clock(f.time), left + 6 + (idx.length + 1) * 12, top + th + 5, 3);
  });
  composites.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g fill="#8fa3b8">${indexRects}</g><g fill="#f0f0f0">${timeRects}</g></svg>`), left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: '#1b1b1b' } }).composite(composites).jpeg({ quality: o.quality ?? 85 }).toBuffer();
}
