/**
 * The one retry policy for calls across a boundary (the job's S3 calls, the status store's RPCs,
 * enqueue's SendMessageBatch): exponential backoff with full jitter (p-retry), retrying only what
 * {@link isRetryableInPlace} allows, and never after `signal` fired.
 *
 * @example
 * ```ts
 * const { bytes } = await withRetry('download', () => objects.download(bucket, key, dest, signal), { retries: 3, minDelayMs: 1000, signal });
 * ```
 */
import pRetry from 'p-retry';
import { errorMessage, isRetryableInPlace } from './errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt (0 = one attempt). */
  retries: number;
  /** First backoff delay in ms; doubles each retry, randomised. */
  minDelayMs: number;
  /** Largest backoff delay in ms (default: unbounded). */
  maxDelayMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Called before each retry (for a warning log). */
  onRetry?: ((info: { what: string; attemptNumber: number; retriesLeft: number; error: string }) => void) | undefined;
  /** Overrides {@link isRetryableInPlace} for one call site. */
  retryIf?: ((err: unknown) => boolean) | undefined;
}

/** Run `fn` under the retry policy; rejects with the last error (or the signal's reason). */
export function withRetry<T>(what: string, fn: (attemptNumber: number) => Promise<T>, p: RetryPolicy): Promise<T> {
  const retryIf = p.retryIf ?? isRetryableInPlace;
  const may = (error: unknown) => retryIf(error) && !p.signal?.aborted;
  return pRetry(fn, {
    retries: p.retries,
    minTimeout: p.minDelayMs,
    ...(p.maxDelayMs !== undefined ? { maxTimeout: p.maxDelayMs } : {}),
    factor: 2,
    randomize: true,
    ...(p.signal ? { signal: p.signal } : {}),
    shouldRetry: ({ error }) => may(error),
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0 && may(error)) p.onRetry?.({ what, attemptNumber, retriesLeft, error: errorMessage(error) });
    },
  });
}
