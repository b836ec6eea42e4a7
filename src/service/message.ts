/**
 * The SQS message body: `{"shortcode": "...", "platform": "..."}` plus optional per-message overrides.
 * Shortcode and platform become S3 key parts, so they are validated strictly: a closed alphabet
 * (no `/`, `..`, whitespace, control or unicode look-alike characters) and bounded length.
 *
 * @example
 * ```ts
 * const msg = parseMessage('{"shortcode":"C8xYz_1-a","platform":"instagram"}');
 * // { shortcode: 'C8xYz_1-a', platform: 'instagram', overrides: {} }
 * ```
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** Letters, digits, `_` and `-`; must start with a letter or digit; 1-64 chars. */
export const SHORTCODE_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Lower-case letters, digits, `_` and `-`; must start with a letter; 1-32 chars. */
export const PLATFORM_RE = /^[a-z][a-z0-9_-]{0,31}$/;
/** Bodies above this size are rejected before JSON parsing. */
export const MAX_BODY_BYTES = 4096;

const messageSchema = z.object({
  shortcode: z.string({ error: 'shortcode must be a string' }).regex(SHORTCODE_RE, {
    error: 'shortcode must be 1-64 characters of A-Z a-z 0-9 _ - starting with a letter or digit',
  }),
  platform: z.string({ error: 'platform must be a string' }).regex(PLATFORM_RE, {
    error: 'platform must be 1-32 characters of a-z 0-9 _ - starting with a letter',
  }),
  minFrames: z.number().int().min(1).max(100).optional(),
  sceneThreshold: z.number().min(1).max(255).optional(),
});

export interface VideoMessage {
  shortcode: string;
  platform: string;
  /** Per-message overrides of the service defaults. */
  overrides: { minFrames?: number; sceneThreshold?: number };
}

/** Thrown for a body that is not a valid message. Permanent: recorded, never retried. */
export class InvalidMessageError extends ValidationError {
  constructor(issues: string[]) {
    super('INVALID_MESSAGE', 'invalid message', issues);
  }
}

/**
 * Parse and validate an SQS body. Throws {@link InvalidMessageError} listing every problem.
 */
export function parseMessage(body: string | undefined | null): VideoMessage {
  if (typeof body !== 'string' || body.trim() === '') throw new InvalidMessageError(['body is empty']);
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) throw new InvalidMessageError([`body is larger than ${MAX_BODY_BYTES} bytes`]);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidMessageError(['body is not JSON']);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidMessageError(['body must be a JSON object']);
  const parsed = messageSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidMessageError(parsed.error.issues.map((i) => (i.path.length && !i.message.startsWith(String(i.path[0])) ? `${i.path.join('.')}: ${i.message}` : i.message)));
  }
  const { shortcode, platform, minFrames, sceneThreshold } = parsed.data;
  const overrides: VideoMessage['overrides'] = {};
  if (minFrames !== undefined) overrides.minFrames = minFrames;
  if (sceneThreshold !== undefined) overrides.sceneThreshold = sceneThreshold;
  return { shortcode, platform, overrides };
}

/**
 * Best-effort identity of a body for logs and error rows, even when it is invalid: only values
 * that pass the strict patterns are returned, so hostile input never reaches a key or a log field.
 */
export function safeIdentity(body: string | undefined | null): { shortcode?: string; platform?: string } {
  try {
    const json = JSON.parse(String(body)) as Record<string, unknown>;
    const out: { shortcode?: string; platform?: string } = {};
    if (typeof json.shortcode === 'string' && SHORTCODE_RE.test(json.shortcode)) out.shortcode = json.shortcode;
    if (typeof json.platform === 'string' && PLATFORM_RE.test(json.platform)) out.platform = json.platform;
    return out;
  } catch {
    return {};
  }
}

/** S3 keys for one video. */
export function videoKeys(msg: Pick<VideoMessage, 'platform' | 'shortcode'>) {
  const base = `${msg.platform}/${msg.shortcode}`;
  return {
    video: `${base}/video.mp4`,
    framesPrefix: `${base}/frames/`,
    frame: (index: number, ext: string) => `${base}/frames/${index}.${ext}`,
    manifest: `${base}/frames/manifest.json`,
  };
}
