/**
 * {@link ObjectStore} on Amazon S3 (or any S3-compatible endpoint, e.g. fauxqs locally).
 * Downloads stream straight to disk; failures are classified once, here:
 * - 404/NoSuchKey -> VideoNotFoundError (permanent);
 * - 403 AccessDenied on the video's GetObject -> VideoNotReadableError (permanent). With the stack's
 *   grants (s3:ListBucket for the `{platform}/{shortcode}/video.mp4` prefixes) a missing video is a 404,
 *   so a 403 means the object exists but cannot be read (its KMS key, an object ACL or a bucket policy
 *   refuses it), or the role lacks ListBucket and S3 hides the 404; neither goes away on retry;
 * - everything else (throttling, 5xx, timeouts, expired credentials, other 403s) -> ObjectStoreError (transient).
 *
 * @example
 * ```ts
 * const store = new S3ObjectStore(createS3Client({ region: 'us-east-1', connectTimeoutMs: 5000, readTimeoutMs: 30000 }));
 * await store.download('videos', 'instagram/abc/video.mp4', '/tmp/frames-x/video.mp4');
 * ```
 */
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AbortedError, PermanentError, VideoNotFoundError } from '../errors.js';
import { ObjectStoreError } from '../service/errors.js';
import type { ObjectStore } from './object-store.js';

export interface S3ClientOptions {
  region: string;
  endpoint?: string | undefined;
  forcePathStyle?: boolean;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** SDK-level attempts (default 1: retries are done with p-retry by the job, with jitter). */
  maxAttempts?: number;
}

export function createS3Client(o: S3ClientOptions): S3Client {
  return new S3Client({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    forcePathStyle: o.forcePathStyle ?? false,
    maxAttempts: o.maxAttempts ?? 1,
    requestHandler: { connectionTimeout: o.connectTimeoutMs, requestTimeout: o.readTimeoutMs },
  });
}

/**
 * S3 refused GetObject of the video with 403 AccessDenied: the object is missing (when the role cannot
 * list the bucket, S3 answers 403 instead of 404) or exists but is not readable. Permanent: recorded, not retried.
 */
export class VideoNotReadableError extends PermanentError {
  readonly bucket: string;
  readonly key: string;
  constructor(bucket: string, key: string, options?: { cause?: unknown }) {
    super('VIDEO_NOT_READABLE', `video missing or not readable (S3 AccessDenied): ${bucket}/${key}`, options);
    this.bucket = bucket;
    this.key = key;
  }
}

interface AwsLikeError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

function statusOf(err: unknown): number | undefined {
  const e = err as AwsLikeError;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
}

/** True for S3's AccessDenied (403). Not other 403s such as ExpiredToken or SignatureDoesNotMatch, which are transient. */
export function isAccessDenied(err: unknown): boolean {
  const e = err as AwsLikeError;
  return e?.name === 'AccessDenied' || e?.Code === 'AccessDenied';
}

/** Classify an SDK error. Exported for tests. */
export function classifyS3Error(err: unknown, what: string, signal?: AbortSignal): Error {
  if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : new AbortedError(signal.reason);
  const e = err as AwsLikeError;
  const status = statusOf(err);
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || (status === 404 && e?.name !== 'NoSuchBucket')) {
    return new VideoNotFoundError(what, { cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new ObjectStoreError(`S3 ${what}: ${e?.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${msg}`, status, { cause: err });
}

export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  constructor(client: S3Client) {
    this.client = client;
  }

  async download(bucket: string, key: string, destPath: string, signal?: AbortSignal): Promise<{ bytes: number }> {
    const what = `s3://${bucket}/${key}`;
    let expected: number | undefined;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
      expected = res.ContentLength;
      const body = res.Body;
      if (!body) throw new ObjectStoreError(`S3 ${what}: empty response body`);
      let bytes = 0;
      const source = body instanceof Readable ? body : Readable.fromWeb((body as unknown as { transformToWebStream(): import('node:stream/web').ReadableStream }).transformToWebStream());
      source.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      await pipeline(source, createWriteStream(destPath), { signal });
      if (expected !== undefined && bytes !== expected) {
        throw new ObjectStoreError(`S3 ${what}: truncated download (${bytes} of ${expected} bytes)`);
      }
      return { bytes };
    } catch (err) {
      await unlink(destPath).catch(() => undefined);
      if (err instanceof ObjectStoreError) throw err;
      if (!signal?.aborted && isAccessDenied(err)) throw new VideoNotReadableError(bucket, key, { cause: err });
      throw classifyS3Error(err, what, signal);
    }
  }

  async put(bucket: string, key: string, body: Buffer | string, contentType: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }), { abortSignal: signal });
    } catch (err) {
      throw classifyS3Error(err, `put s3://${bucket}/${key}`, signal);
    }
  }

  async list(bucket: string, prefix: string, signal?: AbortSignal): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
        for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      const e = classifyS3Error(err, `list s3://${bucket}/${prefix}`, signal);
      // A listing never means "video not found".
      throw e instanceof VideoNotFoundError ? new ObjectStoreError(e.message, 404, { cause: err }) : e;
    }
    return keys;
  }

  async deleteMany(bucket: string, keys: string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      try {
        const res = await this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }), { abortSignal: signal });
        if (res.Errors?.length) throw new ObjectStoreError(`S3 delete in ${bucket}: ${res.Errors.length} keys failed (${res.Errors[0]?.Code ?? ''})`);
      } catch (err) {
        if (err instanceof ObjectStoreError) throw err;
        throw classifyS3Error(err, `delete in s3://${bucket}`, signal);
      }
    }
  }
}
