/**
 * Service-level errors. They extend the product taxonomy in src/errors.ts, so `isRetryable`
 * stays the single place where retry decisions are made.
 */
import { DeadlineError, PermanentError, TransientError } from '../errors.js';

// The adapters' errors, for the service's callers and tests (the adapters import nothing from here).
export { ObjectStoreError, StatusStoreError } from '../adapters/errors.js';

/** Where in the job a failure happened; stored in `extraction_errors.stage`. */
export type Stage = 'message' | 'deadline' | 'claim' | 'route' | 'download' | 'extract' | 'upload' | 'manifest' | 'cleanup' | 'complete' | 'record';

/** The videos row says the video was never downloaded: upstream has not done its part. */
export class NotDownloadedError extends PermanentError {
  constructor(platform: string, shortcode: string) {
    super('NOT_DOWNLOADED', `video ${platform}/${shortcode} is not downloaded (is_downloaded = false)`);
  }
}

/** No row in the videos table for this platform/shortcode. */
export class UnknownVideoError extends PermanentError {
  constructor(platform: string, shortcode: string) {
    super('UNKNOWN_VIDEO', `no videos row for ${platform}/${shortcode}`);
  }
}

/** Another delivery holds a live claim on this video. Give the message back; it will find the video done or the lease expired. */
export class ClaimLockedError extends TransientError {
  constructor(platform: string, shortcode: string) {
    super('CLAIM_LOCKED', `video ${platform}/${shortcode} is being extracted by another delivery`);
  }
}

/** Not enough Lambda time left to start another video. */
export class NotEnoughTimeError extends DeadlineError {
  constructor(remainingMs: number, minRemainingMs: number) {
    super(`not starting: ${remainingMs} ms left, MIN_REMAINING_MS is ${minRemainingMs}`);
  }
}

/**
 * The video would take longer than the run has left (estimated from its duration and the measured
 * processing rate) and no long-video queue is configured to take it. Permanent: a retry has no more time.
 */
export class VideoTooLongError extends PermanentError {
  constructor(readonly durationSec: number, readonly estimatedMs: number, readonly budgetMs: number) {
    super(
      'VIDEO_TOO_LONG',
      `video is ${durationSec.toFixed(1)} s long: estimated ${Math.round(estimatedMs / 1000)} s of processing exceeds the ${Math.round(budgetMs / 1000)} s this run has ` +
        '(limit: the run time; enable the long-video worker, or raise the timeout)',
    );
  }
}

/** The video is larger than the free scratch space and no long-video queue is configured to take it. */
export class VideoTooLargeError extends PermanentError {
  constructor(readonly bytes: number, readonly freeBytes: number) {
    super(
      'VIDEO_TOO_LARGE',
      `video is ${mib(bytes)} MiB: more than the ${mib(freeBytes)} MiB free on the scratch disk (limit: the ephemeral storage; enable the long-video worker, or raise it)`,
    );
  }
}

const mib = (bytes: number) => (bytes / 1_048_576).toFixed(1);

/** A failure annotated with the job stage it happened in. The cause decides retryability. */
export class StageFailure extends Error {
  readonly stage: Stage;
  constructor(stage: Stage, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'StageFailure';
    this.stage = stage;
  }
}
