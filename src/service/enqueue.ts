/**
 * Upstream ingestion's side of the queue: turn a list of videos into SQS messages.
 *
 * - {@link parseEnqueueInput} reads JSON lines (`{"shortcode":"...","platform":"..."}`) and/or CSV
 *   (`platform,shortcode`, optional header, which may also say `shortcode,platform`), skipping blank
 *   lines and `#` comments, and reports bad lines with their 1-based line number.
 * - {@link enqueueVideos} validates every item with the message schema (src/service/message.ts), so
 *   hostile shortcodes never reach the queue, drops duplicates (same platform/shortcode), sends
 *   SendMessageBatch requests of 10, retries failed entries with backoff (p-retry) and reports
 *   entries SQS rejects as the sender's fault (permanent) instead of retrying them.
 *
 * @example
 * ```ts
 * const { items, invalid } = parseEnqueueInput('platform,shortcode\ninstagram,C8xYz\n{"shortcode":"abc","platform":"tiktok"}\n');
 * const res = await enqueueVideos(queue, items);
 * // { sent: 2, duplicates: 0, invalid: [], failed: [] }
 * ```
 */
import { QueueUnavailableError } from '../adapters/errors.js';
import type { BatchEntry, BatchSendResult, Queue } from '../adapters/queue.js';
import { sqsErrors } from '../adapters/sqs-errors.js';
import { errorMessage, FramesError, isRetryable, ValidationError } from '../errors.js';
import { withRetry } from '../retry.js';
import { parseMessage, type VideoMessage } from './message.js';

/** SQS's limit on entries per SendMessageBatch. */
export const SQS_BATCH_SIZE = 10;

/** One video to enqueue. `line` (1-based) is where it came from, for error reports. */
export interface EnqueueItem {
  shortcode: string;
  platform: string;
  minFrames?: number;
  sceneThreshold?: number;
  line?: number;
}

export interface InvalidLine {
  /** 1-based line of the input (or 1-based position in the item array). */
  line: number;
  error: string;
}

export interface EnqueueResult {
  /** Messages SQS accepted. */
  sent: number;
  /** Items dropped because an earlier item had the same platform/shortcode. */
  duplicates: number;
  invalid: InvalidLine[];
  /** Items that could not be sent: rejected by SQS as a sender fault, or still failing after every retry. */
  failed: Array<{ item: EnqueueItem; error: string }>;
}

export interface EnqueueOptions {
  /** Retries per batch for entries that failed transiently (default 5). */
  retries?: number;
  /** First backoff delay in ms (default 200; doubles, with jitter). */
  minDelayMs?: number;
  /** Largest backoff delay in ms (default 5000). */
  maxDelayMs?: number;
  /** Batches in flight at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface ParsedInput {
  items: EnqueueItem[];
  invalid: InvalidLine[];
}

function parseCsvCell(cell: string): string {
  const t = cell.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/""/g, '"') : t;
}

/**
 * Parse enqueue input: JSON lines, `platform,shortcode` CSV (optional header), or a mix. Blank lines
 * and lines starting with `#` are skipped. Every returned item passed the message schema.
 *
 * @example
 * ```ts
 * parseEnqueueInput('shortcode,platform\nabc,instagram\n../x,tiktok\n');
 * // { items: [{ shortcode: 'abc', platform: 'instagram', line: 2 }], invalid: [{ line: 3, error: 'shortcode must be ...' }] }
 * ```
 */
export function parseEnqueueInput(text: string): ParsedInput {
  const items: EnqueueItem[] = [];
  const invalid: InvalidLine[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let columns: ['platform', 'shortcode'] | ['shortcode', 'platform'] = ['platform', 'shortcode'];
  let sawContent = false;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) return;
    const first = !sawContent;
    sawContent = true;
    if (t.startsWith('{')) {
      let json: unknown;
      try {
        json = JSON.parse(t);
      } catch {
        invalid.push({ line, error: 'not valid JSON' });
        return;
      }
      const r = validate(json);
      if ('error' in r) invalid.push({ line, error: r.error });
      else items.push({ ...r.item, line });
      return;
    }
    const cells = t.split(',').map(parseCsvCell);
    const lower = cells.map((c) => c.toLowerCase());
    if (first && cells.length === 2 && lower.includes('platform') && lower.includes('shortcode')) {
      columns = lower[0] === 'shortcode' ? ['shortcode', 'platform'] : ['platform', 'shortcode'];
      return;
    }
    if (cells.length !== 2) {
      invalid.push({ line, error: `expected 2 CSV columns (${columns.join(',')}) or a JSON object, got ${cells.length} column${cells.length === 1 ? '' : 's'}` });
      return;
    }
    const r = validate({ [columns[0]]: cells[0], [columns[1]]: cells[1] });
    if ('error' in r) invalid.push({ line, error: r.error });
    else items.push({ ...r.item, line });
  });
  return { items, invalid };
}

/** Validate with the message schema (the same parser the worker uses on the way out). */
function validate(value: unknown): { item: EnqueueItem } | { error: string } {
  let msg: VideoMessage;
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError('INVALID_MESSAGE', 'invalid message', ['must be a JSON object']);
    msg = parseMessage(JSON.stringify(value));
  } catch (err) {
    return { error: err instanceof ValidationError ? err.issues.join('; ') : errorMessage(err) };
  }
  return { item: { shortcode: msg.shortcode, platform: msg.platform, ...msg.overrides } };
}

/** The SQS body for a validated item: exactly what {@link parseMessage} accepts, nothing else. */
function bodyOf(item: EnqueueItem): string {
  const { shortcode, platform, minFrames, sceneThreshold } = item;
  return JSON.stringify({ shortcode, platform, ...(minFrames !== undefined ? { minFrames } : {}), ...(sceneThreshold !== undefined ? { sceneThreshold } : {}) });
}

/**
 * Validate, de-duplicate and send videos to the queue in SendMessageBatch requests of 10.
 * Never throws for per-item problems: they are counted in the result.
 *
 * @example
 * ```ts
 * const res = await enqueueVideos(queue, [{ shortcode: 'C8xYz', platform: 'instagram' }], { retries: 3 });
 * if (res.failed.length || res.invalid.length) process.exitCode = 1;
 * ```
 */
export async function enqueueVideos(queue: Queue, items: readonly EnqueueItem[], opts: EnqueueOptions = {}): Promise<EnqueueResult> {
  const result: EnqueueResult = { sent: 0, duplicates: 0, invalid: [], failed: [] };
  const seen = new Set<string>();
  const valid: EnqueueItem[] = [];
  items.forEach((item, i) => {
    const line = item.line ?? i + 1;
    const r = validate(item);
    if ('error' in r) {
      result.invalid.push({ line, error: r.error });
      return;
    }
    const key = `${r.item.platform}/${r.item.shortcode}`;
    if (seen.has(key)) {
      result.duplicates++;
      return;
    }
    seen.add(key);
    valid.push({ ...r.item, line });
  });

  const batches: EnqueueItem[][] = [];
  for (let i = 0; i < valid.length; i += SQS_BATCH_SIZE) batches.push(valid.slice(i, i + SQS_BATCH_SIZE));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const r = await sendOneBatch(queue, batch, opts);
      result.sent += r.sent;
      result.failed.push(...r.failed);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, batches.length)) }, worker));
  result.invalid.sort((a, b) => a.line - b.line);
  return result;
}

/** Send one batch; retry the entries that failed transiently until they succeed or retries run out. */
async function sendOneBatch(queue: Queue, batch: EnqueueItem[], opts: EnqueueOptions): Promise<Pick<EnqueueResult, 'sent' | 'failed'>> {
  const byId = new Map<string, EnqueueItem>(batch.map((item, i) => [`m${i}`, item]));
  let pending: BatchEntry[] = [...byId].map(([id, item]) => ({ id, body: bodyOf(item) }));
  const out: Pick<EnqueueResult, 'sent' | 'failed'> = { sent: 0, failed: [] };
  const lastError = new Map<string, string>();
  try {
    await withRetry(
      'SendMessageBatch',
      async () => {
        let res: BatchSendResult;
        try {
          res = await queue.sendBatch(pending, opts.signal);
        } catch (err) {
          const classified = err instanceof FramesError ? err : sqsErrors.classify({ request: err });
          if (isRetryable(classified)) for (const e of pending) lastError.set(e.id, errorMessage(err));
          throw classified;
        }
        out.sent += res.successful.length;
        const retry = new Set<string>();
        for (const f of res.failed) {
          const item = byId.get(f.id);
          if (!item) continue;
          const entryError = sqsErrors.classify({ entry: f });
          if (!isRetryable(entryError)) out.failed.push({ item, error: entryError.message });
          else {
            retry.add(f.id);
            lastError.set(f.id, entryError.message);
          }
        }
        pending = pending.filter((e) => retry.has(e.id));
        if (pending.length) {
          const n = pending.length;
          throw new QueueUnavailableError(`${n} entr${n === 1 ? 'y' : 'ies'} of a SendMessageBatch failed (${lastError.get(pending[0]!.id) ?? 'unknown'})`, { code: 'SQS_BATCH_ENTRIES_FAILED' });
        }
      },
      { retries: opts.retries ?? 5, minDelayMs: opts.minDelayMs ?? 200, maxDelayMs: opts.maxDelayMs ?? 5000, signal: opts.signal },
    );
  } catch (err) {
    const fallback = errorMessage(err);
    for (const e of pending) out.failed.push({ item: byId.get(e.id)!, error: lastError.get(e.id) ?? fallback });
  }
  return out;
}
