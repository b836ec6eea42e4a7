/**
 * Errors the adapters raise, in the product taxonomy (src/errors.ts). They live here, not in
 * service/, so the adapters depend on nothing of the service; the service re-exports them.
 */
import { PermanentError, TransientError, type FramesErrorOptions } from '../errors.js';

/** The status store (Supabase) failed or could not be reached. */
export class StatusStoreError extends TransientError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: FramesErrorOptions & { code?: 'STATUS_STORE_UNAVAILABLE' | 'STATUS_STORE_REJECTED' }) {
    super(options?.code ?? 'STATUS_STORE_UNAVAILABLE', message, options);
    this.status = status;
  }
}

/** An object store (S3) call failed in a way that may go away (5xx, throttling, timeout, network). */
export class ObjectStoreError extends TransientError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: FramesErrorOptions) {
    super('OBJECT_STORE_UNAVAILABLE', message, options);
    this.status = status;
  }
}

/**
 * S3 refused GetObject of the video with 403 AccessDenied: the object is missing (when the role cannot
 * list the bucket, S3 answers 403 instead of 404) or exists but is not readable. Permanent: recorded, not retried.
 */
export class VideoNotReadableError extends PermanentError {
  readonly bucket: string;
  readonly key: string;
  constructor(bucket: string, key: string, options?: FramesErrorOptions) {
    super('VIDEO_NOT_READABLE', `video missing or not readable (S3 AccessDenied): ${bucket}/${key}`, options);
    this.bucket = bucket;
    this.key = key;
  }
}

/** An SQS call failed in a way that may go away (throttling, 5xx, network), or some entries of a batch did. */
export class QueueUnavailableError extends TransientError {
  constructor(message: string, options?: FramesErrorOptions & { code?: 'SQS_UNAVAILABLE' | 'SQS_BATCH_ENTRIES_FAILED' }) {
    super(options?.code ?? 'SQS_UNAVAILABLE', message, options);
  }
}

/** SQS rejected a request or an entry as the sender's fault (bad queue URL, access denied, invalid body). */
export class QueueRejectedError extends PermanentError {
  constructor(message: string, options?: FramesErrorOptions & { code?: 'SQS_BATCH_REJECTED' | 'SQS_ENTRY_REJECTED' }) {
    super(options?.code ?? 'SQS_BATCH_REJECTED', message, options);
  }
}
