/**
 * Service configuration: every setting is read from the environment once, validated with zod,
 * and any problem is reported in ONE error that lists every bad variable.
 * Defaults here are the ones documented in `.env.sample`.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env); // throws ConfigError listing every bad variable
 * console.log(config.concurrencyLimit);
 * ```
 */
import { z } from 'zod';
import { ValidationError } from './errors.js';

const bool = (dflt: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return dflt;
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true/false, got "${v}"` });
      return z.NEVER;
    });

/** A number setting with a default and a range; `integer` also rejects fractions. */
const numberSetting = (dflt: number, min: number, max: number, integer: boolean) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return dflt;
      const n = Number(v);
      if (!(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${v}"` });
        return z.NEVER;
      }
      return n;
    });
const int = (dflt: number, min: number, max = Number.MAX_SAFE_INTEGER) => numberSetting(dflt, min, max, true);
const num = (dflt: number, min: number, max: number) => numberSetting(dflt, min, max, false);

const optionalUrl = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      return v.replace(/\/+$/, '');
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, got "${v}"` });
      return z.NEVER;
    }
  });

const requiredString = z.string({ error: 'is required' }).trim().min(1, { error: 'is required' });
const bucket = requiredString.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'is not a valid S3 bucket name' });

/** The raw environment schema: keys are the variable names, so issues name the variable. */
const envSchema = z.object({
  S3_BUCKET_VIDEOS: bucket,
  S3_BUCKET_FRAMES: bucket.optional(),
  SUPABASE_URL: requiredString.pipe(z.url({ protocol: /^https?$/, error: 'is not an http(s) URL' })),
  // Exactly one of the three key sources (checked below, with the other variables' issues).
  SUPABASE_KEY: z.string().trim().optional(),
  SUPABASE_KEY_SECRET_ARN: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+|[A-Za-z0-9/_+=.@-]{1,512})$/.test(v), {
      error: 'is not a Secrets Manager secret ARN or name',
    }),
  SUPABASE_KEY_PARAMETER: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || /^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/.+|\/?[A-Za-z0-9/_.-]{1,2048})$/.test(v), {
      error: 'is not an SSM parameter name or ARN',
    }),
  MIN_FRAMES: int(3, 1, 1000),
  SCENE_THRESHOLD: num(27, 1, 255),
  CONCURRENCY_LIMIT: int(2, 1, 64),
  MIN_REMAINING_MS: int(60_000, 0),
  SAFETY_MARGIN_MS: int(10_000, 0),
  S3_RETRIES: int(3, 0, 20),
  S3_RETRY_DELAY: int(1000, 0, 60_000),
  S3_CONNECT_TIMEOUT: int(5000, 1),
  S3_READ_TIMEOUT: int(30_000, 1),
  UPLOAD_CONCURRENCY: int(8, 1, 64),
  SUPABASE_RETRIES: int(2, 0, 10),
  CLAIM_LEASE_SECONDS: int(900, 10, 43_200),
  MAX_RECEIVE_COUNT: int(5, 1, 1000),
  FRAME_FORMAT: z.enum(['jpeg', 'webp', 'png']).optional().default('jpeg'),
  FRAME_QUALITY: int(85, 1, 100),
  FRAME_MAX_WIDTH: int(0, 0, 16_384),
  EXTRACT_MODE: z.enum(['scene', 'interval', 'hybrid', 'all']).optional().default('scene'),
  DEBUG: bool(false),
  LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL']).optional(),
  SERVICE_NAME: z.string().trim().min(1).optional().default('frames'),
  METRICS_NAMESPACE: z.string().trim().min(1).optional().default('SceneFrames'),
  AWS_REGION: z.string().trim().min(1).optional().default('us-east-1'),
  S3_ENDPOINT: optionalUrl,
  S3_FORCE_PATH_STYLE: bool(false),
  SQS_ENDPOINT: optionalUrl,
  SQS_QUEUE_URL: optionalUrl,
  LONG_VIDEO_QUEUE_URL: optionalUrl,
  ROUTE_MS_PER_VIDEO_SECOND: num(400, 1, 100_000),
  SECRETS_MANAGER_ENDPOINT: optionalUrl,
  SSM_ENDPOINT: optionalUrl,
  TMPDIR_FRAMES: z.string().trim().optional(),
});

export type Env = Record<string, string | undefined>;

/** Names of the variables that can supply the Supabase key; exactly one must be set. */
export const SUPABASE_KEY_VARS = ['SUPABASE_KEY', 'SUPABASE_KEY_SECRET_ARN', 'SUPABASE_KEY_PARAMETER'] as const;

/**
 * Where the Supabase key comes from: the environment itself (local/dev), or a Secrets Manager secret /
 * SSM SecureString parameter read once per cold start (src/service/secret-source.ts). On AWS the stack
 * sets one of the latter two; the key is never a plain environment value there.
 */
export type SupabaseKeySource =
  | { kind: 'env'; key: string }
  | { kind: 'secretsManager'; secretId: string; endpoint: string | undefined }
  | { kind: 'ssm'; parameterName: string; endpoint: string | undefined };

export interface ServiceConfig {
  videosBucket: string;
  framesBucket: string;
  supabaseUrl: string;
  /**
   * Service-role key when given directly as SUPABASE_KEY (local/dev); undefined when it comes from
   * Secrets Manager or SSM: `buildDeps` resolves it at cold start. A secret: never log it.
   */
  supabaseKey: string | undefined;
  /** Where the key comes from (exactly one of SUPABASE_KEY, SUPABASE_KEY_SECRET_ARN, SUPABASE_KEY_PARAMETER). */
  supabaseKeySource: SupabaseKeySource;
  minFrames: number;
  sceneThreshold: number;
  concurrencyLimit: number;
  minRemainingMs: number;
  safetyMarginMs: number;
  s3Retries: number;
  s3RetryDelayMs: number;
  s3ConnectTimeoutMs: number;
  s3ReadTimeoutMs: number;
  uploadConcurrency: number;
  supabaseRetries: number;
  claimLeaseSeconds: number;
  maxReceiveCount: number;
  frameFormat: 'jpeg' | 'webp' | 'png';
  frameQuality: number;
  /** 0 = keep the source width. */
  frameMaxWidth: number;
  extractMode: 'scene' | 'interval' | 'hybrid' | 'all';
  debug: boolean;
  logLevel: string;
  serviceName: string;
  metricsNamespace: string;
  region: string;
  s3Endpoint: string | undefined;
  s3ForcePathStyle: boolean;
  sqsEndpoint: string | undefined;
  sqsQueueUrl: string | undefined;
  /** The long-video worker's queue: videos this run cannot finish are forwarded there (unset: refused, permanent). */
  longVideoQueueUrl: string | undefined;
  /** Processing ms per second of video at this runtime's size: the estimate behind VIDEO_TOO_LONG. */
  routeMsPerVideoSecond: number;
  /** Endpoint overrides for local emulators / tests (Secrets Manager, SSM). */
  secretsManagerEndpoint: string | undefined;
  ssmEndpoint: string | undefined;
  /** Parent of the per-video scratch directories (default os.tmpdir()). */
  tmpDir: string | undefined;
}

/** Thrown when the environment is invalid; `issues` holds one line per bad variable. */
export class ConfigError extends ValidationError {
  constructor(issues: string[]) {
    super('INVALID_CONFIG', 'invalid configuration', issues);
  }
}

/**
 * Read and validate the configuration. Throws {@link ConfigError} listing every bad variable.
 *
 * @example
 * ```ts
 * loadConfig({ S3_BUCKET_VIDEOS: 'videos', SUPABASE_URL: 'http://localhost:54321', SUPABASE_KEY: 'k' });
 * loadConfig({ S3_BUCKET_VIDEOS: 'videos', SUPABASE_URL: 'https://x.supabase.co', SUPABASE_KEY_PARAMETER: '/frames/supabase-key' });
 * ```
 */
export function loadConfig(env: Env = process.env): ServiceConfig {
  // An empty variable means "use the default" (as in .env.sample, where defaults may be left blank).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = envSchema.safeParse(present);
  const byVar = new Map<string, string[]>();
  const add = (name: string, msg: string) => byVar.set(name, [...(byVar.get(name) ?? []), msg]);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '(env)');
      add(name, issue.code === 'invalid_type' && present[name] === undefined ? 'is required' : issue.message);
    }
  }
  // Exactly one key source, reported together with every other bad variable.
  const keyVars = SUPABASE_KEY_VARS.filter((n) => present[n] !== undefined);
  if (keyVars.length === 0) add('SUPABASE_KEY', 'is required (or set SUPABASE_KEY_SECRET_ARN or SUPABASE_KEY_PARAMETER)');
  if (keyVars.length > 1) for (const n of keyVars) add(n, `conflicts with ${keyVars.filter((o) => o !== n).join(', ')}: set exactly one Supabase key source`);
  if (!parsed.success || byVar.size > 0) {
    // Never echo a secret's value back in the error.
    const lines = [...byVar.entries()].map(([name, msgs]) => `${name} ${[...new Set(msgs)].join(', ')}`.replace(env.SUPABASE_KEY && env.SUPABASE_KEY.length >= 4 ? env.SUPABASE_KEY : '\u0000', '[REDACTED]'));
    throw new ConfigError(lines);
  }
  const e = parsed.data;
  const supabaseKeySource: SupabaseKeySource = e.SUPABASE_KEY
    ? { kind: 'env', key: e.SUPABASE_KEY }
    : e.SUPABASE_KEY_SECRET_ARN
      ? { kind: 'secretsManager', secretId: e.SUPABASE_KEY_SECRET_ARN, endpoint: e.SECRETS_MANAGER_ENDPOINT }
      : { kind: 'ssm', parameterName: e.SUPABASE_KEY_PARAMETER!, endpoint: e.SSM_ENDPOINT };
  return {
    videosBucket: e.S3_BUCKET_VIDEOS,
    framesBucket: e.S3_BUCKET_FRAMES ?? e.S3_BUCKET_VIDEOS,
    supabaseUrl: e.SUPABASE_URL.replace(/\/+$/, ''),
    supabaseKey: e.SUPABASE_KEY || undefined,
    supabaseKeySource,
    minFrames: e.MIN_FRAMES,
    sceneThreshold: e.SCENE_THRESHOLD,
    concurrencyLimit: e.CONCURRENCY_LIMIT,
    minRemainingMs: e.MIN_REMAINING_MS,
    safetyMarginMs: e.SAFETY_MARGIN_MS,
    s3Retries: e.S3_RETRIES,
    s3RetryDelayMs: e.S3_RETRY_DELAY,
    s3ConnectTimeoutMs: e.S3_CONNECT_TIMEOUT,
    s3ReadTimeoutMs: e.S3_READ_TIMEOUT,
    uploadConcurrency: e.UPLOAD_CONCURRENCY,
    supabaseRetries: e.SUPABASE_RETRIES,
    claimLeaseSeconds: e.CLAIM_LEASE_SECONDS,
    maxReceiveCount: e.MAX_RECEIVE_COUNT,
    frameFormat: e.FRAME_FORMAT,
    frameQuality: e.FRAME_QUALITY,
    frameMaxWidth: e.FRAME_MAX_WIDTH,
    extractMode: e.EXTRACT_MODE,
    debug: e.DEBUG,
    logLevel: e.DEBUG ? 'DEBUG' : (e.LOG_LEVEL ?? 'INFO'),
    serviceName: e.SERVICE_NAME,
    metricsNamespace: e.METRICS_NAMESPACE,
    region: e.AWS_REGION,
    s3Endpoint: e.S3_ENDPOINT,
    s3ForcePathStyle: e.S3_FORCE_PATH_STYLE || e.S3_ENDPOINT !== undefined,
    sqsEndpoint: e.SQS_ENDPOINT,
    sqsQueueUrl: e.SQS_QUEUE_URL,
    longVideoQueueUrl: e.LONG_VIDEO_QUEUE_URL,
    routeMsPerVideoSecond: e.ROUTE_MS_PER_VIDEO_SECOND,
    secretsManagerEndpoint: e.SECRETS_MANAGER_ENDPOINT,
    ssmEndpoint: e.SSM_ENDPOINT,
    tmpDir: e.TMPDIR_FRAMES || undefined,
  };
}

/**
 * Values that must never appear in logs: the Supabase key (pass the resolved one when it came from
 * Secrets Manager / SSM) plus AWS credentials from the env.
 */
export function secretValues(config: { supabaseKey?: string | undefined }, env: Env = process.env): string[] {
  return [config.supabaseKey, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN, env.SUPABASE_SERVICE_ROLE_KEY].filter(
    (v): v is string => typeof v === 'string' && v.length >= 4,
  );
}
