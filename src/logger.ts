/**
 * Structured JSON logging (Powertools Logger) with secret redaction.
 *
 * Every line is JSON; per-record child loggers carry `messageId`, `shortcode` and `platform`.
 * Redaction happens in the JSON replacer, so it covers messages, extra keys and serialized errors:
 * - values of keys that look secret (`key`, `token`, `secret`, `password`, `authorization`, `apikey`...)
 * - any occurrence of a known secret value (the Supabase key, AWS secret/session token) in any string.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: 'INFO', serviceName: 'frames', secrets: [config.supabaseKey] });
 * log.createChild({ persistentKeys: { messageId, shortcode, platform } }).info('claimed');
 * ```
 */
import { Logger } from '@aws-lambda-powertools/logger';

export type AppLogger = Logger;

export const REDACTED = '[REDACTED]';

const SECRET_KEY = /(^|[_-])(api[_-]?key|apikey|secret|password|passwd|token|authorization|auth|cookie|credentials?|service[_-]?role[_-]?key|supabase[_-]?key|session[_-]?token|access[_-]?key[_-]?id)$/i;
/** Bearer tokens and JWT-looking strings are redacted even if we were not told about them. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

export interface LoggerOptions {
  level?: string;
  serviceName?: string;
  /** Exact values to scrub wherever they appear. */
  secrets?: string[];
  persistentKeys?: Record<string, string | number | boolean | undefined>;
}

/** A function that removes the given secrets (and anything JWT- or Bearer-shaped) from a string. */
export function makeScrubber(secrets: string[]): (text: string) => string {
  const list = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (s: string): string => {
    let out = s;
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out.replace(JWT, REDACTED).replace(BEARER, `$1${REDACTED}`);
  };
}

/** Build a JSON replacer that redacts secret keys and secret values. Exported for tests. */
export function makeRedactor(secrets: string[]): (key: string, value: unknown) => unknown {
  const scrub = makeScrubber(secrets);
  return (key: string, value: unknown): unknown => {
    if (key && SECRET_KEY.test(key) && value !== undefined && value !== null && value !== '') return REDACTED;
    if (typeof value === 'string') return scrub(value);
    if (value instanceof Error) {
      // Serialize errors ourselves so their message, stack and cause are scrubbed too.
      const e = value as Error & { code?: unknown; cause?: unknown };
      return {
        name: e.name,
        message: scrub(e.message),
        ...(e.code !== undefined ? { code: e.code } : {}),
        ...(e.stack ? { stack: scrub(e.stack) } : {}),
        ...(e.cause !== undefined ? { cause: e.cause instanceof Error ? { name: e.cause.name, message: scrub(e.cause.message) } : e.cause } : {}),
      };
    }
    return value;
  };
}

/** Create the root logger. Child loggers inherit the redactor. */
export function createLogger(opts: LoggerOptions = {}): AppLogger {
  const persistentKeys = Object.fromEntries(Object.entries(opts.persistentKeys ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return new Logger({
    serviceName: opts.serviceName ?? 'frames',
    logLevel: (opts.level ?? 'INFO') as 'INFO',
    jsonReplacerFn: makeRedactor(opts.secrets ?? []),
    persistentKeys,
  });
}
