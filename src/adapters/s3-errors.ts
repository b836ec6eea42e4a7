/**
 * The S3 boundary's error table: every failure of an S3 call becomes one error of the taxonomy here.
 * Only a download can mean "the video is missing or unreadable" or fill the disk; for every other call (and for
 * anything unrecognised) the policy is transient: losing work is worse than a retry.
 *
 * @example
 * ```ts
 * throw s3Errors.classify({ op: 'download', bucket, key, err });
 * ```
 */
import { AbortedError, DiskFullError, FramesError, isDiskFull, VideoNotFoundError } from '../errors.js';
import { errorTable } from '../error-table.js';
import { ObjectStoreError, VideoNotReadableError } from './errors.js';

export interface S3Failure {
  /**
   * `head` reads the video's size before the download (routing). A HEAD answer has no body, so its
   * 403/404 cannot tell a missing key from a missing bucket or expired credentials: the adapter
   * reports "size unknown" for those and lets the download classify them; anything else is here.
   */
  op: 'head' | 'download' | 'put' | 'list' | 'delete';
  bucket: string;
  /** The key, or the prefix of a listing. */
  key: string;
  err: unknown;
  signal?: AbortSignal | undefined;
}

interface AwsLikeError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

const aws = (err: unknown) => (err ?? {}) as AwsLikeError;
const statusOf = (err: unknown) => aws(err).$metadata?.httpStatusCode ?? aws(err).$response?.statusCode;
const named = (err: unknown, ...names: string[]) => names.includes(aws(err).name ?? '') || names.includes(aws(err).Code ?? '');
const where = (f: S3Failure) => `${f.op === 'download' ? '' : `${f.op} `}s3://${f.bucket}/${f.key}`;

/** True for S3's AccessDenied (403). Not other 403s such as ExpiredToken or SignatureDoesNotMatch, which are transient. */
export function isAccessDenied(err: unknown): boolean {
  return named(err, 'AccessDenied');
}

const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const example = (op: S3Failure['op'], err: unknown): S3Failure => ({ op, bucket: 'videos', key: 'instagram/abc/video.mp4', err });

export const s3Errors = errorTable<S3Failure>(
  's3',
  [
    {
      when: 'the call was aborted (deadline or shutdown)',
      code: 'DEADLINE',
      kind: 'deadline',
      example: { ...example('put', new Error('aborted')), signal: AbortSignal.abort() },
      match: (f) => f.signal?.aborted === true,
      error: (f) => (f.signal?.reason instanceof FramesError ? f.signal.reason : new AbortedError(f.signal?.reason)),
    },
    {
      when: "the adapter's own checks: truncated download, empty body, keys a DeleteObjects could not delete",
      code: 'OBJECT_STORE_UNAVAILABLE',
      kind: 'transient',
      example: example('download', new ObjectStoreError('S3 s3://videos/k: truncated download (1 of 2 bytes)')),
      match: (f) => f.err instanceof ObjectStoreError,
      error: (f) => f.err as ObjectStoreError,
    },
    {
      when: 'the scratch disk filled up (ENOSPC) while the download was written',
      code: 'DISK_FULL',
      kind: 'permanent',
      example: example('download', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })),
      match: (f) => f.op === 'download' && isDiskFull(f.err),
      error: (f) => new DiskFullError(`downloading ${where(f)}`, { cause: f.err }),
    },
    {
      when: 'video object missing (404 NoSuchKey / NotFound) on the download',
      code: 'VIDEO_NOT_FOUND',
      kind: 'permanent',
      example: example('download', sdkError('NoSuchKey', 404)),
      match: (f) => f.op === 'download' && (named(f.err, 'NoSuchKey', 'NotFound') || (statusOf(f.err) === 404 && !named(f.err, 'NoSuchBucket'))),
      error: (f) => new VideoNotFoundError(where(f), { cause: f.err }),
    },
    {
      when: 'video object not readable (403 AccessDenied) on the download',
      code: 'VIDEO_NOT_READABLE',
      kind: 'permanent',
      example: example('download', sdkError('AccessDenied', 403)),
      match: (f) => f.op === 'download' && isAccessDenied(f.err),
      error: (f) => new VideoNotReadableError(f.bucket, f.key, { cause: f.err }),
    },
  ],
  {
    when: 'anything else: 5xx, SlowDown/throttling, timeouts, network errors, expired credentials, other 403s, a 404 on a put, listing or delete',
    code: 'OBJECT_STORE_UNAVAILABLE',
    kind: 'transient',
    example: example('put', sdkError('SlowDown', 503)),
    error: (f) => {
      const status = statusOf(f.err);
      const msg = f.err instanceof Error ? f.err.message : String(f.err);
      return new ObjectStoreError(`S3 ${where(f)}: ${aws(f.err).name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${msg}`, status, { cause: f.err });
    },
  },
);
