/**
 * Video status as the job sees it. The implementation (src/adapters/supabase-status-store.ts) calls
 * SQL functions in supabase/migrations through supabase-js `.rpc()`, so every state change is one
 * atomic statement in Postgres. Failures to reach the store are `StatusStoreError` (transient).
 */

export type ClaimStatus = 'claimed' | 'not_downloaded' | 'already_extracted' | 'locked' | 'not_found';

export interface ClaimResult {
  status: ClaimStatus;
  /** When the lease expires (claimed only). */
  leaseUntil?: string;
  /** How many times the video has been claimed, this claim included. */
  attempts?: number;
  /** The video was forwarded to the long-video worker (`mark_video_routed`); with `locked`, the worker may hold it. */
  routed?: boolean;
}

/** `marked`: this owner forwarded it and its lease is dropped; `already_routed`: an earlier delivery did; `lease_lost`: another owner holds it. */
export type RouteMarkStatus = 'marked' | 'already_routed' | 'lease_lost';

export type CompleteStatus = 'completed' | 'already_extracted' | 'lease_lost';

export interface ExtractionErrorRecord {
  platform: string | null;
  shortcode: string | null;
  messageId: string | null;
  /** The job stage that failed (the service's `Stage`), stored as text. */
  stage: string;
  code: string;
  message: string;
  retryable: boolean;
  /** SQS ApproximateReceiveCount of the delivery that failed. */
  attempt: number;
  /** True when this was the last delivery before the dead-letter queue. */
  final: boolean;
}

export interface StatusStore {
  /** Decide atomically whether this delivery does the work; on `claimed` a lease is held by `owner`. */
  claim(platform: string, shortcode: string, owner: string, leaseSeconds: number): Promise<ClaimResult>;
  /** Mark the video extracted and drop the lease (only if `owner` still holds it or nobody does). */
  complete(platform: string, shortcode: string, owner: string, frameCount: number, manifestKey: string): Promise<CompleteStatus>;
  /** Drop the lease held by `owner` so another delivery can start at once. */
  release(platform: string, shortcode: string, owner: string, error?: string): Promise<void>;
  /**
   * Record that the video was forwarded to the long-video queue (status ROUTED_TO_WORKER, with why)
   * and drop `owner`'s lease, so the worker can claim it. Later deliveries' claims carry `routed: true`.
   */
  markRouted(platform: string, shortcode: string, owner: string, reason: string): Promise<RouteMarkStatus>;
  /** Append one row to extraction_errors. */
  recordError(rec: ExtractionErrorRecord): Promise<void>;
}
