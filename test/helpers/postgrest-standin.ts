/**
 * A stand-in for PostgREST, limited to what the service uses: `POST /rest/v1/rpc/<function>`.
 * It is a `fetch` implementation handed to supabase-js (`global.fetch`), so the real supabase-js
 * client runs unchanged and its RPC calls become real SQL on a real Postgres (via `pg`):
 *   POST /rest/v1/rpc/claim_video {"p_platform":"x",...}  ->  select public.claim_video(p_platform => $1, ...)
 * Responses mimic PostgREST: 200 + the function's JSON value; errors as {code, message, details, hint}
 * with PostgREST's status mapping; 401 without the expected key; 404 for anything else.
 * What it does NOT cover: table endpoints, filters, auth/JWT roles, RLS (the service uses none of them).
 *
 * @example
 * ```ts
 * const standIn = createPostgrestStandIn({ connectionString, apiKey: 'service-role-key' });
 * const supabase = createClient('http://supabase.local', 'service-role-key', { global: { fetch: standIn.fetch } });
 * ```
 */
import pg from 'pg';

export interface StandInCall {
  fn: string;
  args: Record<string, unknown>;
  status: number;
}

export interface PostgrestStandIn {
  fetch: typeof fetch;
  calls: StandInCall[];
  /** Headers of every request (tests check the service-role key is sent). */
  seenHeaders: Headers[];
  pool: pg.Pool;
  close(): Promise<void>;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

/** PostgREST's mapping of SQLSTATE to HTTP status (the subset that matters here). */
function httpStatusFor(code: string | undefined): number {
  if (!code) return 500;
  if (code === '42883' || code === 'PGRST202') return 404;
  if (code === '42501') return 403;
  if (code.startsWith('23')) return 409;
  if (code.startsWith('22') || code === 'P0001' || code === 'P0002' || code.startsWith('42')) return 400;
  if (code.startsWith('08') || code.startsWith('53') || code.startsWith('57')) return 503;
  return 500;
}

export function createPostgrestStandIn(opts: { connectionString: string; apiKey?: string }): PostgrestStandIn {
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: 10 });
  pool.on('error', () => undefined);
  const calls: StandInCall[] = [];
  const seenHeaders: Headers[] = [];

  const standInFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = input instanceof Request ? input : undefined;
    const url = new URL(req ? req.url : String(input));
    const method = (init?.method ?? req?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init?.headers ?? req?.headers);
    seenHeaders.push(headers);
    if (opts.apiKey !== undefined) {
      const auth = headers.get('authorization');
      if (headers.get('apikey') !== opts.apiKey || (auth !== null && auth !== `Bearer ${opts.apiKey}`)) {
        return json(401, { code: 'PGRST301', message: 'invalid API key', details: null, hint: null });
      }
    }
    const m = /^\/rest\/v1\/rpc\/([^/]+)$/.exec(url.pathname);
    if (!m || method !== 'POST') {
      return json(404, { code: 'PGRST125', message: `stand-in supports only POST /rest/v1/rpc/<fn>, got ${method} ${url.pathname}`, details: null, hint: null });
    }
    const fn = decodeURIComponent(m[1]!);
    const raw = init?.body ?? (req ? await req.text() : undefined);
    let args: Record<string, unknown> = {};
    try {
      args = raw ? (JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw as ArrayBuffer)) as Record<string, unknown>) : {};
    } catch {
      return json(400, { code: 'PGRST102', message: 'invalid JSON body', details: null, hint: null });
    }
    if (!IDENT.test(fn) || Object.keys(args).some((k) => !IDENT.test(k))) {
      return json(400, { code: 'PGRST202', message: 'invalid function or argument name', details: null, hint: null });
    }
    const names = Object.keys(args);
    const values = names.map((k) => {
      const v = args[k];
      return v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
    });
    const sql = `select public.${fn}(${names.map((k, i) => `${k} => $${i + 1}`).join(', ')}) as result`;
    try {
      const res = await pool.query(sql, values);
      calls.push({ fn, args, status: 200 });
      return json(200, res.rows[0]?.result ?? null);
    } catch (err) {
      const e = err as { code?: string; message?: string; detail?: string; hint?: string };
      // Connection failures (Postgres down) look like PostgREST's 503.
      const connErr = !e.code || /^(ECONN|ETIMEDOUT|EPIPE)/.test(e.code);
      const status = connErr ? 503 : httpStatusFor(e.code === '42883' ? 'PGRST202' : e.code);
      calls.push({ fn, args, status });
      return json(status, { code: connErr ? 'PGRST001' : e.code === '42883' ? 'PGRST202' : e.code, message: e.message ?? 'error', details: e.detail ?? null, hint: e.hint ?? null });
    }
  };

  return { fetch: standInFetch as typeof fetch, calls, seenHeaders, pool, close: () => pool.end() };
}

/**
 * Wrap a fetch so that, while `isDown()` is true or for the first `failFirst` calls, it answers
 * like an unavailable gateway (503) or throws like a network failure.
 */
export function faultyFetch(inner: typeof fetch, o: { failFirst?: number; isDown?: () => boolean; mode?: '503' | 'network' }): typeof fetch & { failures: number } {
  let left = o.failFirst ?? 0;
  const wrapped = (async (input: string | URL | Request, init?: RequestInit) => {
    if ((o.isDown && o.isDown()) || left > 0) {
      if (left > 0) left--;
      wrapped.failures++;
      if (o.mode === 'network') throw new TypeError('fetch failed');
      return json(503, { code: 'PGRST001', message: 'Database client error. Retrying the connection.', details: null, hint: null });
    }
    return inner(input, init);
  }) as typeof fetch & { failures: number };
  wrapped.failures = 0;
  return wrapped;
}
