/**
 * Routing: a video this run cannot finish is not attempted. Two checks, both cheap:
 * - before the download, the object's size (HeadObject) against the free space of the scratch dir;
 * - after the probe, the duration times the measured processing rate against the time the run has left.
 * A video that fails either is forwarded to the long-video queue (the Fargate worker) when one is
 * configured: the same body, once (`mark_video_routed` records ROUTED_TO_WORKER; a redelivery's claim
 * then says `routed`); without one it is a permanent VIDEO_TOO_LARGE / VIDEO_TOO_LONG naming the limit.
 *
 * @example
 * ```ts
 * checkDuration(5400, 250, 280_000); // VideoTooLongError: 1350 s estimated, 280 s left
 * checkSize(12e9, await freeScratchBytes('/tmp'));  // VideoTooLargeError
 * ```
 */
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { errorMessage } from '../errors.js';
import { sqsErrors } from '../adapters/sqs-errors.js';
import { ClaimLockedError, VideoTooLargeError, VideoTooLongError } from './errors.js';
import type { JobResult, JobRun } from './job.js';

/**
 * Processing time per second of video, in ms: the estimate behind VIDEO_TOO_LONG. `npm run bench --
 * rate` measured 285 ms/s for 1080p H.264 (probe + analysis + encoding) on a shared 2-core machine,
 * about the Lambda default's 2 vCPUs; the default adds room for the download, the uploads and denser video.
 */
export const DEFAULT_MS_PER_VIDEO_SECOND = 400;

export interface RoutingSettings {
  /** Processing ms per second of video at this runtime's size (ROUTE_MS_PER_VIDEO_SECOND). */
  msPerVideoSecond: number;
}

/** A video that does not fit; `undefined` when it does. */
export type RouteVerdict = VideoTooLongError | VideoTooLargeError | undefined;

/** Too large when the object is bigger than the free scratch space (the download would fill the disk). */
export function checkSize(bytes: number, freeBytes: number): RouteVerdict {
  return bytes > freeBytes ? new VideoTooLargeError(bytes, freeBytes) : undefined;
}

/** Too long when duration x rate exceeds what the run has left (`budgetMs`, already net of the safety margin). */
export function checkDuration(durationSec: number, msPerVideoSecond: number, budgetMs: number): RouteVerdict {
  if (!Number.isFinite(durationSec) || durationSec <= 0) return undefined;
  const estimatedMs = durationSec * msPerVideoSecond;
  return estimatedMs > budgetMs ? new VideoTooLongError(durationSec, estimatedMs, Math.max(0, budgetMs)) : undefined;
}

/** Bytes an unprivileged process may still write under `dir`. */
export async function freeScratchBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Thrown by the engine's probe hook to stop the run; the extract stage turns it into {@link divert}. */
export class RouteSignal extends Error {
  constructor(readonly verdict: VideoTooLongError | VideoTooLargeError) {
    super(verdict.message);
    this.name = 'RouteSignal';
  }
}

/**
 * A redelivery of a message whose video was already forwarded: done, nothing sent again. Only for a
 * runtime that routes (the Lambda); the worker, which takes routed videos, claims them as usual.
 */
export async function alreadyRouted(run: JobRun): Promise<JobResult> {
  const { msg, ctx, deps } = run;
  if (run.claimed) {
    await deps.status.release(msg.platform, msg.shortcode, ctx.owner);
    run.claimed = false;
  }
  ctx.logger.info('video already forwarded to the long-video worker: nothing to do');
  return { outcome: 'routed', code: 'ROUTED_TO_WORKER', forwarded: false, reason: 'already routed by an earlier delivery' };
}

/**
 * Forward the video to the long-video queue, or refuse it: rethrows `verdict` (permanent) when this
 * runtime has no long-video queue. Send first, then mark: a failed send leaves nothing marked and the
 * message comes back; a crash between the two may forward twice, which the worker's claim absorbs.
 */
export async function divert(run: JobRun, verdict: VideoTooLongError | VideoTooLargeError): Promise<JobResult> {
  const { msg, ctx, deps } = run;
  const queue = deps.longVideoQueue;
  if (!queue) throw verdict;
  const body = ctx.body ?? JSON.stringify({ shortcode: msg.shortcode, platform: msg.platform });
  const messageId = await run.retrying('forward to the long-video queue', () =>
    queue.send(body).catch((err: unknown) => {
      throw sqsErrors.classify({ request: err });
    }),
  );
  const mark = await deps.status.markRouted(msg.platform, msg.shortcode, ctx.owner, `${verdict.code}: ${verdict.message}`);
  if (mark === 'lease_lost') throw new ClaimLockedError(msg.platform, msg.shortcode);
  // 'already_routed': a concurrent delivery got there first (one duplicate on the queue); our lease is still ours to drop.
  if (mark === 'already_routed') await deps.status.release(msg.platform, msg.shortcode, ctx.owner);
  run.claimed = false;
  ctx.logger.info('video forwarded to the long-video worker', { code: verdict.code, reason: verdict.message, queueMessageId: messageId, mark });
  return { outcome: 'routed', code: 'ROUTED_TO_WORKER', forwarded: mark === 'marked', reason: verdict.message, queueMessageId: messageId };
}

/** Route stage (after claim, before download): HeadObject size vs free scratch space. */
export async function routeBySize(run: JobRun): Promise<JobResult | undefined> {
  const s = run.deps.settings;
  const head = await run.retrying('head video', () => run.deps.objects.head(s.videosBucket, run.keys.video, run.signal));
  if (!head) return undefined; // size unknown: the download says why
  run.stats.videoBytes = head.bytes;
  let free: number;
  try {
    free = await freeScratchBytes(s.tmpDir ?? os.tmpdir());
  } catch (err) {
    run.ctx.logger.warn('could not read the free scratch space; not checking the size', { error: errorMessage(err) });
    return undefined;
  }
  const verdict = checkSize(head.bytes, free);
  return verdict ? divert(run, verdict) : undefined;
}
