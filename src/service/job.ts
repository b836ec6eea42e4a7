/**
 * One message -> frames in the object store + status in the status store. Free of AWS details:
 * it talks to {@link ObjectStore}, {@link StatusStore} and the engine through interfaces.
 *
 * claim -> download (streamed to a scratch dir) -> engine (frames streamed out) -> uploads
 * (started as each frame is encoded, bounded parallelism, p-retry with backoff + jitter) ->
 * manifest.json (last) -> stale frames of an earlier, longer run removed -> complete.
 * On any failure the claim is released and the error is rethrown as a {@link StageFailure};
 * the scratch dir is removed in every case.
 *
 * @example
 * ```ts
 * const result = await runJob(msg, { messageId, owner: `${requestId}:${messageId}`, attempt: 1, signal }, deps);
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ObjectStore } from '../adapters/object-store.js';
import type { StatusStore } from '../adapters/status-store.js';
import type { EncodedFrame, ExtractionResult, ExtractOptions, Manifest } from '../engine/types.js';
import { AbortedError } from '../errors.js';
import type { AppLogger } from '../logger.js';
import { withRetry } from '../retry.js';
import { ClaimLockedError, NotDownloadedError, StageFailure, UnknownVideoError, type Stage } from './errors.js';
import { videoKeys, type VideoMessage } from './message.js';

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
}

export interface JobContext {
  messageId: string;
  /** Lease owner id, unique per delivery. */
  owner: string;
  signal: AbortSignal;
  logger: AppLogger;
}

/** Filled in as the job goes, so metrics can be emitted for failures too. */
export interface JobStats {
  scenes?: number;
  frames?: number;
  fallbackUsed?: boolean;
  videoBytes?: number;
  frameBytes?: number;
  stageMs: { claim?: number; download?: number; probe?: number; analyze?: number; extract?: number; uploadTail?: number; manifest?: number; complete?: number; total?: number };
  /** Scratch directory used (for tests: it must be gone afterwards). */
  scratchDir?: string;
}

export type JobResult =
  | { outcome: 'extracted'; frames: number; scenes: number; fallbackUsed: boolean; manifestKey: string; frameKeys: string[]; staleRemoved: number }
  | { outcome: 'skipped'; reason: 'already_extracted' };

const since = (t0: number) => Math.round(performance.now() - t0);

/**
 * Run the job for one validated message. Resolves with the outcome; rejects with a {@link StageFailure}
 * whose `cause` is classified by `isRetryable`.
 */
export async function runJob(msg: VideoMessage, ctx: JobContext, deps: JobDeps, stats: JobStats = { stageMs: {} }): Promise<JobResult> {
  const { objects, status, engine, settings: s } = deps;
  const log = ctx.logger;
  const keys = videoKeys(msg);
  const t0 = performance.now();
  let stage: Stage = 'claim';
  let claimed = false;
  let scratch: string | undefined;
  // Internal controller: the deadline aborts everything; a failed upload aborts the engine.
  const internal = new AbortController();
  const signal = AbortSignal.any([ctx.signal, internal.signal]);

  const policy = { retries: s.s3Retries, minDelayMs: s.s3RetryDelayMs, signal, onRetry: ({ what, ...info }: { what: string; attemptNumber: number; retriesLeft: number; error: string }) => log.warn(`${what} failed, retrying`, info) };
  const retrying = <T>(what: string, fn: () => Promise<T>) => withRetry(what, fn, policy);

  try {
    // ---- claim -------------------------------------------------------------------------------
    let t = performance.now();
    const claim = await status.claim(msg.platform, msg.shortcode, ctx.owner, s.claimLeaseSeconds);
    stats.stageMs.claim = since(t);
    log.debug('claim result', { claim: claim.status, attempts: claim.attempts });
    switch (claim.status) {
      case 'already_extracted':
        log.info('video already extracted: nothing to do');
        return { outcome: 'skipped', reason: 'already_extracted' };
      case 'not_downloaded':
        throw new NotDownloadedError(msg.platform, msg.shortcode);
      case 'not_found':
        throw new UnknownVideoError(msg.platform, msg.shortcode);
      case 'locked':
        throw new ClaimLockedError(msg.platform, msg.shortcode);
      case 'claimed':
        claimed = true;
        break;
    }

    // ---- download ----------------------------------------------------------------------------
    stage = 'download';
    scratch = path.join(s.tmpDir ?? os.tmpdir(), `frames-${randomBytes(8).toString('hex')}`);
    stats.scratchDir = scratch;
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const videoPath = path.join(scratch, 'video.mp4');
    t = performance.now();
    const { bytes } = await retrying('download', () => objects.download(s.videosBucket, keys.video, videoPath, signal));
    stats.videoBytes = bytes;
    stats.stageMs.download = since(t);
    log.debug('video downloaded', { bytes, ms: stats.stageMs.download });

    // ---- extract + streaming uploads ---------------------------------------------------------
    stage = 'extract';
    t = performance.now();
    const options: ExtractOptions = {
      mode: s.extractMode,
      minFrames: msg.overrides.minFrames ?? s.minFrames,
      threshold: msg.overrides.sceneThreshold ?? s.sceneThreshold,
      format: s.frameFormat,
      quality: s.frameQuality,
      ...(s.frameMaxWidth > 0 ? { maxWidth: s.frameMaxWidth } : {}),
      signal,
    };
    const inflight = new Set<Promise<void>>();
    const frameKeys: string[] = [];
    let frameBytes = 0;
    let uploadError: unknown;
    const startUpload = (frame: EncodedFrame) => {
      const key = keys.frame(frame.index, frame.ext);
      frameKeys.push(key);
      const p: Promise<void> = retrying(`upload ${key}`, () => objects.put(s.framesBucket, key, frame.data, frame.contentType, signal)).then(
        () => {
          frameBytes += frame.data.length;
          log.debug('frame uploaded', { key, bytes: frame.data.length });
        },
        (err: unknown) => {
          if (uploadError === undefined) {
            uploadError = err;
            internal.abort(err);
          }
        },
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };

    const run = engine.extractFrames(videoPath, options);
    let result: ExtractionResult;
    try {
      for (;;) {
        const r = await run.next();
        if (r.done) {
          result = r.value;
          break;
        }
        startUpload(r.value);
        // Bounded memory: never more than uploadConcurrency encoded frames waiting on the network.
        while (inflight.size >= s.uploadConcurrency) await Promise.race(inflight);
        if (uploadError !== undefined) throw uploadError;
      }
    } catch (err) {
      await run.return(undefined as never).catch(() => undefined);
      await Promise.allSettled([...inflight]);
      if (uploadError !== undefined) {
        stage = 'upload';
        throw uploadError;
      }
      throw err;
    }
    stats.stageMs.extract = since(t);
    stats.stageMs.probe = result.timings.probeMs;
    stats.stageMs.analyze = result.timings.analyzeMs;
    stats.scenes = result.scenes.length;
    stats.frames = result.frames.length;
    stats.fallbackUsed = result.fallbackUsed;

    stage = 'upload';
    t = performance.now();
    await Promise.allSettled([...inflight]);
    if (uploadError !== undefined) throw uploadError;
    stats.frameBytes = frameBytes;
    stats.stageMs.uploadTail = since(t);

    // ---- manifest (last), then stale frames ---------------------------------------------------
    stage = 'manifest';
    t = performance.now();
    const manifest = {
      ...engine.buildManifest(result),
      source: { platform: msg.platform, shortcode: msg.shortcode, bucket: s.videosBucket, key: keys.video },
      frameKeys,
    };
    await retrying('upload manifest', () => objects.put(s.framesBucket, keys.manifest, JSON.stringify(manifest, null, 2), 'application/json', signal));
    stats.stageMs.manifest = since(t);

    let staleRemoved = 0;
    try {
      const keep = new Set([...frameKeys, keys.manifest]);
      const existing = await retrying('list frames', () => objects.list(s.framesBucket, keys.framesPrefix, signal));
      const stale = existing.filter((k) => !keep.has(k));
      if (stale.length) {
        await retrying('delete stale frames', () => objects.deleteMany(s.framesBucket, stale, signal));
        staleRemoved = stale.length;
        log.info('removed stale frames from an earlier run', { count: stale.length });
      }
    } catch (err) {
      if (signal.aborted) throw err;
      // Not fatal: manifest.json is the source of truth for which frames belong to the video.
      log.warn('could not remove stale frames; manifest.json supersedes them', { error: err instanceof Error ? err.message : String(err) });
    }

    // ---- complete ----------------------------------------------------------------------------
    stage = 'complete';
    t = performance.now();
    const done = await status.complete(msg.platform, msg.shortcode, ctx.owner, frameKeys.length, keys.manifest);
    stats.stageMs.complete = since(t);
    if (done === 'lease_lost') throw new ClaimLockedError(msg.platform, msg.shortcode);
    claimed = false;
    log.info('video extracted', { frames: frameKeys.length, scenes: result.scenes.length, fallbackUsed: result.fallbackUsed, staleRemoved });
    return { outcome: 'extracted', frames: frameKeys.length, scenes: result.scenes.length, fallbackUsed: result.fallbackUsed, manifestKey: keys.manifest, frameKeys, staleRemoved };
  } catch (err) {
    // The deadline wins over whatever error the abort caused downstream (ffmpeg killed, request aborted...).
    let cause = err;
    if (ctx.signal.aborted) cause = ctx.signal.reason instanceof Error ? ctx.signal.reason : new AbortedError(ctx.signal.reason);
    if (claimed) {
      try {
        await status.release(msg.platform, msg.shortcode, ctx.owner, `${stage}: ${cause instanceof Error ? cause.message : String(cause)}`);
        log.debug('claim released');
      } catch (releaseErr) {
        // The lease expires on its own; the video is not stuck.
        log.warn('could not release the claim; it will expire', { error: releaseErr instanceof Error ? releaseErr.message : String(releaseErr) });
      }
    }
    throw new StageFailure(stage, cause);
  } finally {
    stats.stageMs.total = since(t0);
    if (scratch) await rm(scratch, { recursive: true, force: true }).catch((e: unknown) => log.warn('could not remove scratch dir', { error: String(e) }));
  }
}
