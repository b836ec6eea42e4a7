/**
 * `--out s3://bucket/prefix`: frames uploaded as soon as they are encoded, a bounded number in
 * flight (the extraction waits while the network is behind, so memory stays flat), each put
 * retried with backoff (src/retry.ts); the manifest goes up last, once every frame is there, so a
 * prefix with a manifest is a finished run (resume). On failure or interrupt the frames this run
 * uploaded are deleted. Works against any S3-compatible store: `S3_ENDPOINT`, plus the AWS SDK's
 * usual credentials and region variables.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Manifest, EncodedFrame } from '../engine/index.js';
import type { ObjectStore } from '../adapters/object-store.js';
import { errorMessage } from '../errors.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import { FrameUploads } from '../service/frame-uploads.js';
import { MANIFEST, type FrameSink } from './frame-sink.js';

export interface S3Location {
  bucket: string;
  /** Key prefix, '' or ending in '/'. */
  prefix: string;
}

/** `s3://bucket[/prefix]` -> its parts, or null when `out` is not an s3:// address; throws for a malformed one. */
export function parseS3Url(out: string): S3Location | null {
  if (!/^s3:\/\//i.test(out)) return null;
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/i.exec(out);
  if (!m) throw new Error(`--out ${out}: not an s3://bucket/prefix address (bucket names are 3-63 lower-case letters, digits, dots, hyphens)`);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix.split('/').some((p) => p === '..' || p === '.')) throw new Error(`--out ${out}: the prefix may not contain "." or ".." segments`);
  return { bucket: m[1] as string, prefix: prefix ? `${prefix}/` : '' };
}

/** The location for one video of a folder run: `rel` (output folder name, / separated) under the prefix. */
export function s3Child(loc: S3Location, rel: string): S3Location {
  const sub = rel.split(path.sep).join('/').replace(/^\/+|\/+$/g, '');
  return sub ? { bucket: loc.bucket, prefix: `${loc.prefix}${sub}/` } : loc;
}

/**
 * The store from the environment: S3_ENDPOINT (path-style addressing), AWS_REGION, SDK credentials.
 * The AWS SDK is loaded on the first call (it adds about 32 MB of resident memory, which a run that
 * writes to a local folder should not pay).
 */
export function objectStoreFromEnv(env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const endpoint = env.S3_ENDPOINT || undefined;
  let store: Promise<ObjectStore> | undefined;
  const load = (): Promise<ObjectStore> => (store ??= import('../adapters/s3-object-store.js').then(({ createS3Client, S3ObjectStore }) => new S3ObjectStore(createS3Client({
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint,
    forcePathStyle: endpoint !== undefined || env.S3_FORCE_PATH_STYLE === 'true',
    connectTimeoutMs: 5000,
    readTimeoutMs: 30000,
  }))));
  return {
    download: async (...a) => (await load()).download(...a),
    head: async (...a) => (await load()).head(...a),
    put: async (...a) => (await load()).put(...a),
    list: async (...a) => (await load()).list(...a),
    deleteMany: async (...a) => (await load()).deleteMany(...a),
  };
}

export interface S3SinkOptions {
  /** Uploads in flight at most (default 8). */
  concurrency?: number;
  retry?: Pick<RetryPolicy, 'retries' | 'minDelayMs' | 'maxDelayMs'>;
  onRetry?: (message: string) => void;
  /** Where the local folder of frames waiting for upload goes (default: the system's temp folder). */
  tmpDir?: string;
}

const DEFAULT_RETRY = { retries: 4, minDelayMs: 200, maxDelayMs: 5000 };

/** The S3 sink's local folders: `frames-s3-<pid>-<random>` in the temp folder. */
const SPOOL_PREFIX = 'frames-s3-';
const SPOOL_DIR = /^frames-s3-(\d+)-[0-9A-Za-z]{6}$/;

/**
 * Removes the local folders of runs that were killed before they could (`kill -9`, a crash): those
 * whose process is gone. A live process, or one not ours to signal, keeps its folder.
 */
export async function removeDeadSpools(tmp: string): Promise<void> {
  const names = await readdir(tmp).catch(() => [] as string[]);
  for (const name of names) {
    const m = SPOOL_DIR.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') await rm(path.join(tmp, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

export class S3Sink implements FrameSink {
  readonly location: string;
  private readonly abort = new AbortController();
  private readonly uploads: FrameUploads;
  private readonly retry: RetryPolicy;
  /** Keys under the prefix before this run (frames of an earlier, longer run are removed on commit). */
  private earlier: string[] = [];
  /**
   * A local folder of this run's own, from begin on, where the encoder writes the frames
   * (ExtractOptions.spool); each is read back for its upload and deleted after it, the folder at
   * commit or abandon. In `--mode all` every frame waits about 2.7 s of video for its scene to
   * settle: held as node Buffers, those PNGs peaked at 418 MB of tree RSS (720p, 20 s).
   */
  spool: { dir: string; tag: string } | undefined;
  private readonly tmpDir: string | undefined;

  constructor(private readonly store: ObjectStore, private readonly loc: S3Location, o: S3SinkOptions = {}) {
    this.location = `s3://${loc.bucket}/${loc.prefix}`;
    this.retry = {
      ...DEFAULT_RETRY, ...o.retry, signal: this.abort.signal,
      ...(o.onRetry ? { onRetry: (i) => o.onRetry?.(`retrying ${i.what} (attempt ${i.attemptNumber + 1}): ${i.error}`) } : {}),
    };
    this.uploads = new FrameUploads((key, frame) => this.upload(key, frame), o.concurrency ?? 8, this.abort);
    this.tmpDir = o.tmpDir;
  }

  private async upload(key: string, frame: EncodedFrame): Promise<void> {
    const file = frame.spooled?.path;
    await this.putWithRetry(key, file ? await readFile(file) : frame.data, frame.contentType);
    if (file) await rm(file, { force: true });
  }

  private get manifestKey(): string {
    return `${this.loc.prefix}${MANIFEST}`;
  }

  private putWithRetry(key: string, body: Buffer | string, contentType: string): Promise<void> {
    return withRetry(`upload of s3://${this.loc.bucket}/${key}`, () => this.store.put(this.loc.bucket, key, body, contentType, this.abort.signal), this.retry);
  }

  async isComplete(): Promise<boolean> {
    const keys = await withRetry('list', () => this.store.list(this.loc.bucket, this.manifestKey), this.retry);
    return keys.includes(this.manifestKey);
  }

  async begin(): Promise<void> {
    this.earlier = (await withRetry('list', () => this.store.list(this.loc.bucket, this.loc.prefix), this.retry))
      // Only this video's own objects: not those of a sub-folder's video (prefix/sub/...).
      .filter((k) => !k.slice(this.loc.prefix.length).includes('/'));
    // An interrupted earlier run must not look complete while we overwrite its frames.
    if (this.earlier.includes(this.manifestKey)) await withRetry('delete', () => this.store.deleteMany(this.loc.bucket, [this.manifestKey]), this.retry);
    const tmp = this.tmpDir ?? os.tmpdir();
    await removeDeadSpools(tmp);
    this.spool = { dir: await mkdtemp(path.join(tmp, `${SPOOL_PREFIX}${process.pid}-`)), tag: `spool.${process.pid}.${Date.now().toString(36)}` };
  }

  private async removeSpool(): Promise<void> {
    if (this.spool) await rm(this.spool.dir, { recursive: true, force: true });
  }

  async put(name: string, frame: EncodedFrame): Promise<void> {
    this.uploads.start(`${this.loc.prefix}${name}`, frame);
    await this.uploads.room().catch((err: unknown) => { throw this.failed(err); });
  }

  private failed(err: unknown): Error {
    return new Error(`upload to ${this.location} failed: ${errorMessage(err)}`, { cause: err });
  }

  async commit(manifest: Manifest): Promise<void> {
    await this.uploads.drain().catch((err: unknown) => { throw this.failed(err); });
    // What is left there was never put: interval candidates not picked, frames outside a window.
    await this.removeSpool();
    const now = new Set(this.uploads.keys);
    const stale = this.earlier.filter((k) => k !== this.manifestKey && !now.has(k));
    if (stale.length) await withRetry('delete', () => this.store.deleteMany(this.loc.bucket, stale), this.retry);
    await this.putWithRetry(this.manifestKey, JSON.stringify(manifest, null, 2) + '\n', 'application/json');
  }

  async abandon(): Promise<void> {
    this.abort.abort(new Error('extraction stopped'));
    await this.uploads.settle();
    await this.removeSpool().catch(() => undefined);
    // Best effort, no retries: the manifest is absent, so a resume redoes this video anyway.
    await this.store.deleteMany(this.loc.bucket, this.uploads.keys).catch(() => undefined);
  }
}
