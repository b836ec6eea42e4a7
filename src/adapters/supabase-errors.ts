/**
 * The Supabase boundary's error table. Every failure of a status-store RPC is transient for the
 * message (a message is never dropped because the database could not be reached or refused us),
 * but only outages are worth retrying in place: a 4xx (bad key, missing function, SQL error)
 * answers the same way on the next try, so the message goes straight back to the queue instead.
 *
 * @example
 * ```ts
 * if (res.error) throw supabaseErrors.classify({ fn: 'claim_video', status: res.status, code: res.error.code, message: res.error.message });
 * ```
 */
import { errorTable } from '../error-table.js';
import { StatusStoreError } from './errors.js';

export interface SupabaseFailure {
  /** The SQL function called. */
  fn: string;
  /** HTTP status of the answer; undefined or 0 when none came (network error). */
  status?: number | undefined;
  /** PostgREST/SQLSTATE code, e.g. PGRST001, 42883. */
  code?: string | undefined;
  message: string;
  /** The RPC answered 200 with a value the function never returns. */
  unexpected?: boolean;
  cause?: unknown;
}

const describe = (f: SupabaseFailure) => `supabase rpc ${f.fn} failed (HTTP ${f.status ?? 0}${f.code ? `, ${f.code}` : ''}): ${f.message}`;
const status = (f: SupabaseFailure) => f.status ?? 0;

export const supabaseErrors = errorTable<SupabaseFailure>(
  'supabase',
  [
    {
      when: 'network error (no HTTP answer)',
      code: 'STATUS_STORE_UNAVAILABLE',
      kind: 'transient',
      example: { fn: 'claim_video', message: 'fetch failed' },
      match: (f) => status(f) === 0 && !f.unexpected,
      error: (f) => new StatusStoreError(`supabase rpc ${f.fn}: ${f.message}`, undefined, { cause: f.cause }),
    },
    {
      when: 'unexpected RPC answer',
      code: 'STATUS_STORE_UNAVAILABLE',
      kind: 'transient',
      example: { fn: 'claim_video', status: 200, message: 'claim_video returned an unexpected value: null', unexpected: true },
      match: (f) => f.unexpected === true,
      error: (f) => new StatusStoreError(f.message, f.status),
    },
    {
      when: 'HTTP 5xx (e.g. 503 PGRST001), 408 or 429',
      code: 'STATUS_STORE_UNAVAILABLE',
      kind: 'transient',
      example: { fn: 'claim_video', status: 503, code: 'PGRST001', message: 'Database client error. Retrying the connection.' },
      match: (f) => status(f) >= 500 || status(f) === 408 || status(f) === 429,
      error: (f) => new StatusStoreError(describe(f), f.status, { cause: f.cause }),
    },
    {
      when: 'other HTTP 4xx (401 bad key, 404 missing function, 400 SQL error): not retried in place',
      code: 'STATUS_STORE_REJECTED',
      kind: 'transient',
      example: { fn: 'claim_video', status: 401, code: 'PGRST301', message: 'invalid API key' },
      match: (f) => status(f) >= 400 && status(f) < 500,
      error: (f) => new StatusStoreError(describe(f), f.status, { code: 'STATUS_STORE_REJECTED', retryInPlace: false, cause: f.cause }),
    },
  ],
  {
    when: 'anything else',
    code: 'STATUS_STORE_UNAVAILABLE',
    kind: 'transient',
    example: { fn: 'claim_video', status: 302, message: 'redirect' },
    error: (f) => new StatusStoreError(describe(f), f.status, { cause: f.cause }),
  },
);
