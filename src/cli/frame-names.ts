/**
 * `--name TEMPLATE`: file names for frames, e.g. `scene{scene:04}_frame{frame:06}_t{time}s` ->
 * `scene0003_frame000451_t15.033s.jpg`. Fields: {index} (position in the output set), {scene},
 * {frame} (decoded frame number), {time} (seconds, 3 decimals); `:0N` pads with zeros to N
 * characters. The extension is added. Templates that could give two frames one name (neither
 * {index} nor {frame}) or leave the output folder (path separators, `..`) are refused.
 */

export interface FrameNameFields {
  index: number;
  scene: number;
  frame: number;
  time: number;
  /** Without the dot. */
  ext: string;
}

export type FrameNamer = (f: FrameNameFields) => string;

export const DEFAULT_NAME_TEMPLATE = '{index}';
const FIELDS = new Set(['index', 'scene', 'frame', 'time']);
const PLACEHOLDER = /\{([^{}]*)\}/g;

/** A template the CLI refuses; the message names the problem. */
export class NameTemplateError extends Error {}

/** Compile a template into a namer; throws NameTemplateError for a template that is not safe. */
export function parseNameTemplate(template: string): FrameNamer {
  const bad = (why: string): never => { throw new NameTemplateError(`--name "${template}": ${why}`); };
  if (template.trim() === '') bad('is empty');
  if (/[/\\]/.test(template)) bad('may not contain a path separator (/ or \\): frames stay in the output folder');
  if (template.includes('..')) bad('may not contain ".."');
  if (template.startsWith('.')) bad('may not start with "." (hidden files are the writer\'s temporary files)');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(template)) bad('may not contain control characters');
  const parts: Array<string | { field: keyof Omit<FrameNameFields, 'ext'>; width: number }> = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    const [whole, inner = ''] = m;
    const at = m.index;
    parts.push(template.slice(last, at));
    last = at + whole.length;
    const spec = /^(\w+)(?::0(\d{1,2}))?$/.exec(inner);
    if (!spec || !FIELDS.has(spec[1] as string)) bad(`unknown placeholder {${inner}} (use {index}, {scene}, {frame} or {time}, padded like {frame:06})`);
    parts.push({ field: (spec as RegExpExecArray)[1] as 'index', width: Number((spec as RegExpExecArray)[2] ?? 0) });
  }
  parts.push(template.slice(last));
  if (parts.some((p) => typeof p === 'string' && /[{}]/.test(p))) bad('has an unmatched "{" or "}"');
  if (!parts.some((p) => typeof p !== 'string' && (p.field === 'index' || p.field === 'frame'))) {
    bad('needs {index} or {frame}, or two frames could get the same name');
  }
  return (f) => parts.map((p) => (typeof p === 'string' ? p : pad(p.field === 'time' ? f.time.toFixed(3) : String(f[p.field]), p.width))).join('') + `.${f.ext}`;
}

function pad(s: string, width: number): string {
  return s.length >= width ? s : '0'.repeat(width - s.length) + s;
}
