/**
 * {@link StatusStore} on Supabase: supabase-js with the service-role key, no session persistence,
 * and only `.rpc()` calls to the SQL functions in supabase/migrations (atomic state changes).
 * Every failure is a StatusStoreError (transient), classified by the Supabase error table
 * (src/adapters/supabase-errors.ts): a message is never dropped because the database could not be
 * reached. Outages (network, 5xx) are retried a few times first with the shared retry policy
 * (src/retry.ts); all calls are idempotent for the same owner.
 *
 * @example
 * ```ts
 * const store = SupabaseStatusStore.create({ url: config.supabaseUrl, key: config.supabaseKey });
 * const { status } = await store.claim('instagram', 'abc', 'lambda-req-1', 900);
 * ```
 */
import { createRequire } from 'node:module';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { withRetry } from '../retry.js';
import { supabaseErrors } from './supabase-errors.js';
import type { ClaimResult, ClaimStatus, CompleteStatus, ExtractionErrorRecord, RouteMarkStatus, StatusStore } from './status-store.js';

export interface SupabaseStatusStoreOptions {
  url: string;
  /** Service-role key. */
  key: string;
  /** Custom fetch (tests: the PostgREST stand-in, fault injection). */
  fetch?: typeof fetch;
  retries?: number;
  retryDelayMs?: number;
}

const CLAIM_STATUSES: ReadonlySet<string> = new Set<ClaimStatus>(['claimed', 'not_downloaded', 'already_extracted', 'locked', 'not_found']);

export class SupabaseStatusStore implements StatusStore {
  readonly #client: SupabaseClient;
  readonly #retries: number;
  readonly #delay: number;

  constructor(client: SupabaseClient, opts: { retries?: number; retryDelayMs?: number } = {}) {
    this.#client = client;
    this.#retries = opts.retries ?? 2;
    this.#delay = opts.retryDelayMs ?? 200;
  }

  static create(o: SupabaseStatusStoreOptions): SupabaseStatusStore {
    const client = createClient(o.url, o.key, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      // supabase-js builds a realtime client even though we never subscribe; Node < 22 has no
      // global WebSocket and supabase-js refuses to start without one, so hand it `ws` there.
      ...(typeof globalThis.WebSocket === 'undefined' ? { realtime: { transport: createRequire(import.meta.url)('ws') } } : {}),
      global: { ...(o.fetch ? { fetch: o.fetch } : {}), headers: { 'x-client-info': 'scene-frames-service' } },
    });
    return new SupabaseStatusStore(client, { retries: o.retries, retryDelayMs: o.retryDelayMs });
  }

  async #rpc<T>(fn: string, args: Record<string, unknown>): Promise<T> {
    return withRetry(
      `supabase rpc ${fn}`,
      async () => {
        let res;
        try {
          res = await this.#client.rpc(fn, args);
        } catch (err) {
          throw supabaseErrors.classify({ fn, message: err instanceof Error ? err.message : String(err), cause: err });
        }
        if (res.error) {
          const e = res.error as { message?: string; code?: string };
          throw supabaseErrors.classify({ fn, status: res.status, code: e.code, message: e.message ?? 'unknown error' });
        }
        return res.data as T;
      },
      { retries: this.#retries, minDelayMs: this.#delay },
    );
  }

  #unexpected(fn: string, data: unknown): Error {
    return supabaseErrors.classify({ fn, status: 200, message: `${fn} returned an unexpected value: ${JSON.stringify(data)}`, unexpected: true });
  }

  async claim(platform: string, shortcode: string, owner: string, leaseSeconds: number): Promise<ClaimResult> {
    const data = await this.#rpc<{ status?: string; lease_until?: string; attempts?: number; routed?: boolean } | null>('claim_video', {
      p_platform: platform,
      p_shortcode: shortcode,
      p_owner: owner,
      p_lease_seconds: leaseSeconds,
    });
    const status = data?.status;
    if (!status || !CLAIM_STATUSES.has(status)) throw this.#unexpected('claim_video', data);
    return {
      status: status as ClaimStatus,
      ...(data.lease_until ? { leaseUntil: data.lease_until } : {}),
      ...(typeof data.attempts === 'number' ? { attempts: data.attempts } : {}),
      ...(data.routed === true ? { routed: true } : {}),
    };
  }

  async complete(platform: string, shortcode: string, owner: string, frameCount: number, manifestKey: string): Promise<CompleteStatus> {
    const data = await this.#rpc<{ status?: string } | null>('complete_video', {
      p_platform: platform,
      p_shortcode: shortcode,
      p_owner: owner,
      p_frame_count: frameCount,
      p_manifest_key: manifestKey,
    });
    const status = data?.status;
    if (status !== 'completed' && status !== 'already_extracted' && status !== 'lease_lost') {
      throw this.#unexpected('complete_video', data);
    }
    return status;
  }

  async release(platform: string, shortcode: string, owner: string, error?: string): Promise<void> {
    await this.#rpc('release_video', { p_platform: platform, p_shortcode: shortcode, p_owner: owner, p_error: error ?? null });
  }

  async markRouted(platform: string, shortcode: string, owner: string, reason: string): Promise<RouteMarkStatus> {
    const data = await this.#rpc<{ status?: string } | null>('mark_video_routed', { p_platform: platform, p_shortcode: shortcode, p_owner: owner, p_reason: reason.slice(0, 2000) });
    const status = data?.status;
    if (status !== 'marked' && status !== 'already_routed' && status !== 'lease_lost') throw this.#unexpected('mark_video_routed', data);
    return status;
  }

  async recordError(r: ExtractionErrorRecord): Promise<void> {
    await this.#rpc('record_extraction_error', {
      p_platform: r.platform,
      p_shortcode: r.shortcode,
      p_message_id: r.messageId,
      p_stage: r.stage,
      p_code: r.code,
      p_message: r.message.slice(0, 2000),
      p_retryable: r.retryable,
      p_attempt: r.attempt,
      p_final: r.final,
    });
  }
}
