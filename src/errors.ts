/**
 * One error taxonomy for the whole product. Retry decisions are made from the class of an error,
 * in one place (`isRetryable`), never by matching message strings.
 *
 * - {@link PermanentError}: retrying cannot help (bad message, missing or corrupt video). Recorded, not retried.
 * - {@link TransientError}: an outage or throttling; the message goes back to the queue.
 * - {@link DeadlineError}: we ran out of time; the work is given back to the queue, not counted as a fault of the input.
 */
export type ErrorKind = 'permanent' | 'transient' | 'deadline';

export abstract class FramesError extends Error {
  abstract readonly kind: ErrorKind;
  /** Stable machine-readable code, e.g. `NO_VIDEO_STREAM`. */
  readonly code: string;

  /**
   * False when an immediate retry of the same call cannot help (e.g. a 401 from the status store),
   * although the message itself should come back later. Only meaningful for transient errors.
   */
  readonly retryInPlace: boolean;

  constructor(code: string, message: string, options?: FramesErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    this.retryInPlace = options?.retryInPlace ?? true;
  }

  get retryable(): boolean {
    return this.kind !== 'permanent';
  }
}

export interface FramesErrorOptions {
  cause?: unknown;
  /** See {@link FramesError.retryInPlace} (default true). */
  retryInPlace?: boolean;
}

export class PermanentError extends FramesError {
  readonly kind = 'permanent' as const;
}

export class TransientError extends FramesError {
  readonly kind = 'transient' as const;
}

export class DeadlineError extends FramesError {
  readonly kind = 'deadline' as const;
  constructor(message = 'not enough time left to finish the video', options?: { cause?: unknown }) {
    super('DEADLINE', message, options);
  }
}

// ---- Input / media problems (permanent) -------------------------------------------------------

/** The input file or object does not exist. */
export class VideoNotFoundError extends PermanentError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('VIDEO_NOT_FOUND', `video not found: ${what}`, options);
  }
}

/** The file exists but cannot be decoded as a video (zero bytes, truncated, not a media file). */
export class InvalidVideoError extends PermanentError {
  constructor(code: 'EMPTY_FILE' | 'UNREADABLE_MEDIA' | 'TRUNCATED_VIDEO' | 'NO_FRAMES' | 'UNSUPPORTED_INPUT', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The file is media but has no video stream (audio only, subtitles...). */
export class NoVideoStreamError extends PermanentError {
  constructor(path: string) {
    super('NO_VIDEO_STREAM', `no video stream in ${path} (audio-only or not a video)`);
  }
}

/** Options or a message failed validation. The message lists every problem. */
export class ValidationError extends PermanentError {
  readonly issues: string[];
  constructor(code: string, what: string, issues: string[]) {
    super(code, `${what}: ${issues.join('; ')}`);
    this.issues = issues;
  }
}

/** ffmpeg could not be found or started at all: an installation problem, not an input problem. */
export class FfmpegNotFoundError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FFMPEG_NOT_FOUND', message, options);
  }
}

/**
 * The scratch disk filled up (ENOSPC) while the video was written or processed. Permanent for this
 * video: the same file on the same disk fills it again, and retries would only walk it to the DLQ.
 */
export class DiskFullError extends PermanentError {
  constructor(where: string, options?: { cause?: unknown }) {
    super('DISK_FULL', `no space left on the scratch disk (ENOSPC) while ${where}: the video does not fit; give the runtime more ephemeral storage`, options);
  }
}

/** True for a Node file-system error whose code is ENOSPC (disk full), at any depth of `cause`. */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return true;
  }
  return false;
}

/** The work was cancelled by the caller (AbortSignal). Treated like a deadline: give the work back. */
export class AbortedError extends DeadlineError {
  constructor(reason?: unknown) {
    super(`aborted${reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''}`, { cause: reason });
  }
}

/** True when the failure may go away on retry (transient or deadline). Unknown errors count as transient: losing work is worse than a retry. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof FramesError) return err.retryable;
  return true;
}

/**
 * True when calling again right away (with backoff) may succeed: transient errors that did not opt
 * out. Deadlines are not retried in place (the time is gone); unknown errors are, like transient ones.
 */
export function isRetryableInPlace(err: unknown): boolean {
  if (err instanceof FramesError) return err.kind === 'transient' && err.retryInPlace;
  return true;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
