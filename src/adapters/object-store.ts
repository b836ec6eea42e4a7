/**
 * Object storage as the job sees it. Implementations: S3 (src/adapters/s3-object-store.ts);
 * tests wrap it to inject faults. Implementations classify failures with the error taxonomy:
 * a missing object is a `VideoNotFoundError` (permanent), an object that exists but may not be read
 * (S3 AccessDenied) is another `PermanentError`, outages are `ObjectStoreError` (transient).
 */
export interface ObjectStore {
  /**
   * Stream an object into a local file. Returns the number of bytes written.
   * Throws `VideoNotFoundError` when the object does not exist, a `PermanentError` when access to it is
   * denied (S3: `VideoNotReadableError`), and a transient error for anything that may go away on retry.
   */
  download(bucket: string, key: string, destPath: string, signal?: AbortSignal): Promise<{ bytes: number }>;
  /**
   * The object's size, without reading it (S3 HeadObject). `undefined` when the store cannot tell
   * (S3 answers a HEAD's 403/404 without a body): the download that follows then says why.
   */
  head(bucket: string, key: string, signal?: AbortSignal): Promise<{ bytes: number } | undefined>;
  /** Write one object (overwrites). */
  put(bucket: string, key: string, body: Buffer | string, contentType: string, signal?: AbortSignal): Promise<void>;
  /** Every key under a prefix. */
  list(bucket: string, prefix: string, signal?: AbortSignal): Promise<string[]>;
  /** Delete keys (missing keys are not an error). */
  deleteMany(bucket: string, keys: string[], signal?: AbortSignal): Promise<void>;
}
