/**
 * One message -> frames in the object store + status in the status store. Free of AWS details:
 * it talks to {@link ObjectStore}, {@link StatusStore} and the engine through interfaces.
 *
 * The job is the list {@link JOB_STAGES}, run by {@link runStages} (each stage timed, failures
 * tagged with their stage): claim -> route (HeadObject size vs free scratch space; src/service/routing.ts)
 * -> download (streamed to a scratch dir) -> extract (engine, frames
 * uploaded as they are encoded, bounded parallelism; after the probe, the duration vs the time left) -> upload (the tail) -> manifest.json (last) ->
 * cleanup (stale frames of an earlier, longer run) -> complete. Every S3 call goes through the
 * shared retry policy (src/retry.ts). On any failure the claim is released and the error is
 * rethrown as a {@link StageFailure}; the scratch dir is removed in every case.
 *
 * @example
 * ```ts
 * const result = await runJob(msg, { messageId, owner: `${requestId}:${messageId}`, signal, logger }, deps);
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../adapters/object-store.js';
import type { Queue } from '../adapters/queue.js';
import type { StatusStore } from '../adapters/status-store.js';
import type { EncodedFrame, ExtractionResult, ExtractOptions, Manifest } from '../engine/types.js';
import { AbortedError, DiskFullError, FramesError, isDiskFull, isRetryable } from '../errors.js';
import type { AppLogger } from '../logger.js';
import { withRetry } from '../retry.js';
import { ClaimLockedError, NotDownloadedError, StageFailure, UnknownVideoError } from './errors.js';
import { FrameUploads } from './frame-uploads.js';
import { videoKeys, type VideoMessage } from './message.js';
import { alreadyRouted, checkDuration, DEFAULT_MS_PER_VIDEO_SECOND, divert, routeBySize, RouteSignal, type RoutingSettings } from './routing.js';
import { runStages, type StageStep } from './stages.js';

/** The part of the engine the job uses (src/engine/index.ts satisfies it). */
export interface Engine {
  extractFrames(path: string, options: ExtractOptions): AsyncGenerator<EncodedFrame, ExtractionResult, undefined>;
  buildManifest(result: ExtractionResult): Manifest;
}

export interface JobSettings {
  videosBucket: string;
  framesBucket: string;
  minFrames: number;
  sceneThreshold: number;
  extractMode: NonNullable<ExtractOptions['mode']>;
  frameFormat: NonNullable<ExtractOptions['format']>;
  frameQuality: number;
  /** 0 = keep source width. */
  frameMaxWidth: number;
  s3Retries: number;
  s3RetryDelayMs: number;
  uploadConcurrency: number;
  claimLeaseSeconds: number;
  /** Parent directory for scratch dirs (default os.tmpdir()). */
  tmpDir?: string | undefined;
}

export interface JobDeps {
  objects: ObjectStore;
  status: StatusStore;
  engine: Engine;
  settings: JobSettings;
  /** Where videos this run cannot finish go (the Fargate worker's queue); none = refuse them (permanent). */
  longVideoQueue?: Queue | undefined;
  /** The processing rate behind the duration check (default {@link DEFAULT_MS_PER_VIDEO_SECOND}). */
  routing?: RoutingSettings | undefined;
}

export interface JobContext {
  messageId: string;
  /** Lease owner id, unique per delivery. */
  owner: string;
  signal: AbortSignal;
  logger: AppLogger;
  /** The message body as received: what is forwarded to the long-video queue (default: rebuilt from the message). */
  body?: string;
  /** Time the run has left for this video, net of the safety margin (default: unlimited, no duration check). */
  budgetMs?: () => number;
}

/** Filled in as the job goes, so metrics can be emitted for failures too. */
export interface JobStats {
  scenes?: number;
  frames?: number;
  fallbackUsed?: boolean;
  videoBytes?: number;
  frameBytes?: number;
  /** Milliseconds per stage of {@link JOB_STAGES} (upload as `uploadTail`), plus the engine's probe and analyze, and total. */
  stageMs: Record<string, number | undefined>;
  /** Scratch directory used (for tests: it must be gone afterwards). */
  scratchDir?: string;
}

export type JobResult =
  | { outcome: 'extracted'; frames: number; scenes: number; fallbackUsed: boolean; manifestKey: string; frameKeys: string[]; staleRemoved: number }
  | { outcome: 'skipped'; reason: 'already_extracted' }
  /** Forwarded to the long-video queue (`forwarded`), or found forwarded by an earlier delivery. */
  | { outcome: 'routed'; code: 'ROUTED_TO_WORKER'; forwarded: boolean; reason: string; queueMessageId?: string };

/** What the stages share while one job runs. */
export interface JobRun {
  msg: VideoMessage;
  keys: ReturnType<typeof videoKeys>;
  ctx: JobContext;
  deps: JobDeps;
  stats: JobStats;
  /** The caller's signal, or the internal one (a failed upload stops the engine). */
  signal: AbortSignal;
  internal: AbortController;
  /** Run an object-store call under the shared retry policy. */
  retrying: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
  claimed: boolean;
  scratch?: string;
  videoPath?: string;
  uploads?: FrameUploads;
  result?: ExtractionResult;
  staleRemoved: number;
}

export type JobStage = StageStep<JobRun, JobResult>;

async function claim(run: JobRun): Promise<JobResult | undefined> {
  const { msg, ctx, deps } = run;
  const claim = await deps.status.claim(msg.platform, msg.shortcode, ctx.owner, deps.settings.claimLeaseSeconds);
  ctx.logger.debug('claim result', { claim: claim.status, attempts: claim.attempts });
  // A forwarded video belongs to the worker: a redelivery here is done, even while the worker holds the lease.
  const routes = deps.longVideoQueue !== undefined;
  if (routes && claim.routed && (claim.status === 'locked' || claim.status === 'claimed')) {
    run.claimed = claim.status === 'claimed';
    return alreadyRouted(run);
  }
  switch (claim.status) {
    case 'already_extracted':
      ctx.logger.info('video already extracted: nothing to do');
      return { outcome: 'skipped', reason: 'already_extracted' };
    case 'not_downloaded':
      throw new NotDownloadedError(msg.platform, msg.shortcode);
    case 'not_found':
      throw new UnknownVideoError(msg.platform, msg.shortcode);
    case 'locked':
      throw new ClaimLockedError(msg.platform, msg.shortcode);
    case 'claimed':
      run.claimed = true;
      return undefined;
  }
}

async function download(run: JobRun): Promise<undefined> {
  const s = run.deps.settings;
  run.scratch = path.join(s.tmpDir ?? os.tmpdir(), `frames-${randomBytes(8).toString('hex')}`);
  run.stats.scratchDir = run.scratch;
  await mkdir(run.scratch, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw isDiskFull(err) ? new DiskFullError('creating the scratch dir', { cause: err }) : err;
  });
  const videoPath = path.join(run.scratch, 'video.mp4');
  const { bytes } = await run.retrying('download', () => run.deps.objects.download(s.videosBucket, run.keys.video, videoPath, run.signal));
  run.videoPath = videoPath;
  run.stats.videoBytes = bytes;
  run.ctx.logger.debug('video downloaded', { bytes });
  return undefined;
}

/** The engine runs while each encoded frame is uploaded; a failed upload stops it and fails as `upload`. */
async function extract(run: JobRun): Promise<JobResult | undefined> {
  const { msg, deps, signal } = run;
  const s = deps.settings;
  const options: ExtractOptions = {
    mode: s.extractMode,
    minFrames: msg.overrides.minFrames ?? s.minFrames,
    threshold: msg.overrides.sceneThreshold ?? s.sceneThreshold,
    format: s.frameFormat,
    quality: s.frameQuality,
    ...(s.frameMaxWidth > 0 ? { maxWidth: s.frameMaxWidth } : {}),
    signal,
  };
  const budget = run.ctx.budgetMs;
  if (budget) {
    const rate = deps.routing?.msPerVideoSecond ?? DEFAULT_MS_PER_VIDEO_SECOND;
    // Decline before the decode starts: the probe is a demux-only pass, seconds even for a film.
    options.onProbe = (info) => {
      const verdict = checkDuration(info.durationSec, rate, budget());
      if (verdict) throw new RouteSignal(verdict);
    };
  }
  const put = (key: string, frame: EncodedFrame) =>
    run.retrying(`upload ${key}`, () => deps.objects.put(s.framesBucket, key, frame.data, frame.contentType, signal)).then(() => run.ctx.logger.debug('frame uploaded', { key, bytes: frame.data.length }));
  const uploads = (run.uploads = new FrameUploads(put, s.uploadConcurrency, run.internal));
  const frames = deps.engine.extractFrames(run.videoPath!, options);
  let result: ExtractionResult;
  try {
    for (;;) {
      const r = await frames.next();
      if (r.done) {
        result = r.value;
        break;
      }
      uploads.start(run.keys.frame(r.value.index, r.value.ext), r.value);
      await uploads.room();
    }
  } catch (err) {
    await frames.return(undefined as never).catch(() => undefined);
    await uploads.settle();
    if (uploads.failure) throw new StageFailure('upload', uploads.failure.err);
    if (err instanceof RouteSignal) {
      try {
        return await divert(run, err.verdict);
      } catch (e) {
        throw new StageFailure('route', e);
      }
    }
    throw err;
  }
  run.result = result;
  Object.assign(run.stats, { scenes: result.scenes.length, frames: result.frames.length, fallbackUsed: result.fallbackUsed });
  run.stats.stageMs.probe = result.timings.probeMs;
  run.stats.stageMs.analyze = result.timings.analyzeMs;
  return undefined;
}

async function finishUploads(run: JobRun): Promise<undefined> {
  await run.uploads!.drain();
  run.stats.frameBytes = run.uploads!.bytes;
  return undefined;
}

async function writeManifest(run: JobRun): Promise<undefined> {
  const { msg, keys, deps } = run;
  const s = deps.settings;
  const manifest = {
    ...deps.engine.buildManifest(run.result!),
    source: { platform: msg.platform, shortcode: msg.shortcode, bucket: s.videosBucket, key: keys.video },
    frameKeys: run.uploads!.keys,
  };
  await run.retrying('upload manifest', () => deps.objects.put(s.framesBucket, keys.manifest, JSON.stringify(manifest, null, 2), 'application/json', run.signal));
  return undefined;
}

/** Frames an earlier, longer run left behind. Not fatal: manifest.json says which frames belong to the video. */
async function removeStaleFrames(run: JobRun): Promise<undefined> {
  const { keys, deps, signal } = run;
  const bucket = deps.settings.framesBucket;
  try {
    const keep = new Set([...run.uploads!.keys, keys.manifest]);
    const existing = await run.retrying('list frames', () => deps.objects.list(bucket, keys.framesPrefix, signal));
    const stale = existing.filter((k) => !keep.has(k));
    if (stale.length) {
      await run.retrying('delete stale frames', () => deps.objects.deleteMany(bucket, stale, signal));
      run.staleRemoved = stale.length;
      run.ctx.logger.info('removed stale frames from an earlier run', { count: stale.length });
    }
  } catch (err) {
    if (signal.aborted) throw err;
    run.ctx.logger.warn('could not remove stale frames; manifest.json supersedes them', { error: err instanceof Error ? err.message : String(err) });
  }
  return undefined;
}

async function complete(run: JobRun): Promise<JobResult> {
  const { msg, keys, ctx, deps } = run;
  const frameKeys = run.uploads!.keys;
  const result = run.result!;
  const done = await deps.status.complete(msg.platform, msg.shortcode, ctx.owner, frameKeys.length, keys.manifest);
  if (done === 'lease_lost') throw new ClaimLockedError(msg.platform, msg.shortcode);
  run.claimed = false;
  ctx.logger.info('video extracted', { frames: frameKeys.length, scenes: result.scenes.length, fallbackUsed: result.fallbackUsed, staleRemoved: run.staleRemoved });
  return { outcome: 'extracted', frames: frameKeys.length, scenes: result.scenes.length, fallbackUsed: result.fallbackUsed, manifestKey: keys.manifest, frameKeys, staleRemoved: run.staleRemoved };
}

/** The job, in order. A stage that returns a result ends the job (claim: already extracted; complete: done). */
export const JOB_STAGES: readonly JobStage[] = [
  { name: 'claim', run: claim },
  { name: 'route', run: routeBySize },
  { name: 'download', run: download },
  { name: 'extract', run: extract },
  { name: 'upload', timing: 'uploadTail', run: finishUploads },
  { name: 'manifest', run: writeManifest },
  { name: 'cleanup', run: removeStaleFrames },
  { name: 'complete', run: complete },
];

/** Least time left (ms) for a second round of release attempts after the store's own retries failed. */
const RELEASE_AGAIN_MIN_MS = 2000;

/**
 * Give the claim back after a failure. A claim that stays held blocks every redelivery of the video
 * until its lease expires, so when the store's own retries are used up, one more round follows if
 * the run has the time (an outage of a few seconds no longer strands the video for a whole lease:
 * the chaos run caught one with SUPABASE_RETRIES=2 and 15% of calls failing).
 */
async function releaseClaim(msg: VideoMessage, ctx: JobContext, deps: JobDeps, reason: string): Promise<void> {
  const log = ctx.logger;
  for (let round = 1; ; round++) {
    try {
      await deps.status.release(msg.platform, msg.shortcode, ctx.owner, reason);
      log.debug('claim released', round > 1 ? { round } : {});
      return;
    } catch (releaseErr) {
      const error = releaseErr instanceof Error ? releaseErr.message : String(releaseErr);
      const left = ctx.budgetMs?.() ?? Number.POSITIVE_INFINITY;
      if (round < 2 && isRetryable(releaseErr) && left >= RELEASE_AGAIN_MIN_MS) {
        log.warn('could not release the claim; trying once more', { error });
        continue;
      }
      // The lease expires on its own; the video is not stuck.
      log.warn('could not release the claim; it will expire', { error });
      return;
    }
  }
}

/**
 * Run the job for one validated message. Resolves with the outcome; rejects with a {@link StageFailure}
 * whose `cause` is classified by `isRetryable`.
 */
export async function runJob(msg: VideoMessage, ctx: JobContext, deps: JobDeps, stats: JobStats = { stageMs: {} }, stages: readonly JobStage[] = JOB_STAGES): Promise<JobResult> {
  const t0 = performance.now();
  // Internal controller: the deadline aborts everything; a failed upload aborts the engine.
  const internal = new AbortController();
  const signal = AbortSignal.any([ctx.signal, internal.signal]);
  const log = ctx.logger;
  const policy = { retries: deps.settings.s3Retries, minDelayMs: deps.settings.s3RetryDelayMs, signal, onRetry: ({ what, ...info }: { what: string; attemptNumber: number; retriesLeft: number; error: string }) => log.warn(`${what} failed, retrying`, info) };
  const run: JobRun = { msg, keys: videoKeys(msg), ctx, deps, stats, signal, internal, retrying: (what, fn) => withRetry(what, fn, policy), claimed: false, staleRemoved: 0 };
  try {
    return await runStages(stages, run, stats.stageMs);
  } catch (err) {
    const failure = err instanceof StageFailure ? err : new StageFailure('extract', err);
    // The deadline wins over whatever error the abort caused downstream (ffmpeg killed, request aborted...).
    const cause = ctx.signal.aborted
      ? ctx.signal.reason instanceof Error
        ? ctx.signal.reason
        : new AbortedError(ctx.signal.reason)
      : // A full disk is the same on every retry: permanent for this video, wherever it surfaced.
        !(failure.cause instanceof FramesError && failure.cause.kind === 'permanent') && isDiskFull(failure.cause)
        ? new DiskFullError(`the ${failure.stage} stage`, { cause: failure.cause })
        : failure.cause;
    if (run.claimed) await releaseClaim(msg, ctx, deps, `${failure.stage}: ${cause instanceof Error ? cause.message : String(cause)}`);
    throw new StageFailure(failure.stage, cause);
  } finally {
    stats.stageMs.total = Math.round(performance.now() - t0);
    if (run.scratch) await rm(run.scratch, { recursive: true, force: true }).catch((e: unknown) => log.warn('could not remove scratch dir', { error: String(e) }));
  }
}
