/**
 * {@link ObjectStore} on Amazon S3 (or any S3-compatible endpoint, e.g. fauxqs locally).
 * Downloads stream straight to disk; failures are classified once, by the S3 error table
 * (src/adapters/s3-errors.ts):
 * - 404/NoSuchKey on the download -> VideoNotFoundError (permanent);
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
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ObjectStoreError } from './errors.js';
import { s3Errors } from './s3-errors.js';
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

export { isAccessDenied } from './s3-errors.js';
export { VideoNotReadableError } from './errors.js';

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
      throw s3Errors.classify({ op: 'download', bucket, key, err, signal });
    }
  }

  async head(bucket: string, key: string, signal?: AbortSignal): Promise<{ bytes: number } | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
      return res.ContentLength === undefined ? undefined : { bytes: res.ContentLength };
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // No body on a HEAD: a 403/404 may be a missing key, a missing bucket or bad credentials. The GetObject says which.
      if ((status === 403 || status === 404) && !signal?.aborted) return undefined;
      throw s3Errors.classify({ op: 'head', bucket, key, err, signal });
    }
  }

  async put(bucket: string, key: string, body: Buffer | string, contentType: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }), { abortSignal: signal });
    } catch (err) {
      throw s3Errors.classify({ op: 'put', bucket, key, err, signal });
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
      throw s3Errors.classify({ op: 'list', bucket, key: prefix, err, signal });
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
        throw s3Errors.classify({ op: 'delete', bucket, key: `(${chunk.length} keys)`, err, signal });
      }
    }
  }
}
