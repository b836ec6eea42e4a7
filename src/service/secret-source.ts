/**
 * Resolves the Supabase key at cold start. On AWS the stack hands the function a Secrets Manager
 * secret (`SUPABASE_KEY_SECRET_ARN`) or an SSM SecureString (`SUPABASE_KEY_PARAMETER`), never the key
 * itself; locally `SUPABASE_KEY` holds it directly. The key is read once and cached for the life of
 * the container (a failed read is not cached, so the next invocation tries again).
 *
 * The AWS SDK clients are imported dynamically, only for the source in use, so importing the handler
 * stays cheap. Errors name the secret or parameter, never its value, and are transient: the handler
 * fails the whole batch, which goes back to the queue.
 *
 * @example
 * ```ts
 * const key = await resolveSupabaseKey(config.supabaseKeySource, { region: config.region });
 * ```
 */
import type { SupabaseKeySource } from '../config.js';
import { TransientError } from '../errors.js';

/** The Supabase key could not be read from Secrets Manager / SSM (or the value holds no key). */
export class SecretUnavailableError extends TransientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SUPABASE_KEY_UNAVAILABLE', message, options);
  }
}

export interface SecretSourceOptions {
  region: string;
  /** ms to establish the connection (default 3000). */
  connectTimeoutMs?: number;
  /** ms for the whole request (default 10000). */
  requestTimeoutMs?: number;
  /** SDK attempts (default 3: the SDK's standard retry handles throttling and 5xx). */
  maxAttempts?: number;
}

/** Per-container cache: one read per source (kind + id + endpoint + region). */
const cache = new Map<string, Promise<string>>();

/** Forget cached keys (tests; or to force a re-read after a rotation). */
export function clearSupabaseKeyCache(): void {
  cache.clear();
}

/** Human description of the source, for errors and logs. Never includes the key. */
export function describeKeySource(source: SupabaseKeySource): string {
  switch (source.kind) {
    case 'env':
      return 'environment variable SUPABASE_KEY';
    case 'secretsManager':
      return `Secrets Manager secret ${source.secretId}`;
    case 'ssm':
      return `SSM parameter ${source.parameterName}`;
  }
}

/**
 * The key inside a secret value: the whole string, or, when it is a JSON object, its `SUPABASE_KEY`
 * (or `key`, `supabaseKey`, `SUPABASE_SERVICE_ROLE_KEY`) field. Returns undefined when there is none.
 */
export function keyFromSecretValue(raw: string | undefined): string | undefined {
  const text = raw?.trim();
  if (!text) return undefined;
  if (text.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      return undefined; // looks like JSON but is not: refuse rather than use half a document as a key
    }
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
      const o = obj as Record<string, unknown>;
      for (const field of ['SUPABASE_KEY', 'key', 'supabaseKey', 'SUPABASE_SERVICE_ROLE_KEY']) {
        const v = o[field];
        if (typeof v === 'string' && v.trim()) return v.trim();
      }
    }
    return undefined;
  }
  return text;
}

function errorName(err: unknown): string {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return `${typeof e?.name === 'string' ? e.name : 'Error'}${status ? ` (HTTP ${status})` : ''}`;
}

function clientConfig(endpoint: string | undefined, o: SecretSourceOptions) {
  return {
    region: o.region,
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: o.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: o.connectTimeoutMs ?? 3000, requestTimeout: o.requestTimeoutMs ?? 10_000 },
  };
}

async function readSecret(source: Extract<SupabaseKeySource, { kind: 'secretsManager' }>, o: SecretSourceOptions): Promise<string | undefined> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient(clientConfig(source.endpoint, o));
  try {
    const res = await client.send(new GetSecretValueCommand({ SecretId: source.secretId }));
    return res.SecretString ?? (res.SecretBinary ? Buffer.from(res.SecretBinary).toString('utf8') : undefined);
  } finally {
    client.destroy();
  }
}

async function readParameter(source: Extract<SupabaseKeySource, { kind: 'ssm' }>, o: SecretSourceOptions): Promise<string | undefined> {
  const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const client = new SSMClient(clientConfig(source.endpoint, o));
  try {
    const res = await client.send(new GetParameterCommand({ Name: source.parameterName, WithDecryption: true }));
    return res.Parameter?.Value;
  } finally {
    client.destroy();
  }
}

async function load(source: Exclude<SupabaseKeySource, { kind: 'env' }>, o: SecretSourceOptions): Promise<string> {
  const what = describeKeySource(source);
  let raw: string | undefined;
  try {
    raw = source.kind === 'secretsManager' ? await readSecret(source, o) : await readParameter(source, o);
  } catch (err) {
    // Only the error's name and status: AWS messages do not carry the value, but nothing here risks it.
    throw new SecretUnavailableError(`could not read the Supabase key from ${what}: ${errorName(err)}`, { cause: err });
  }
  const key = keyFromSecretValue(raw);
  if (!key) {
    throw new SecretUnavailableError(
      `the Supabase key in ${what} is empty or unusable: expected the key as a plain string, or JSON with a "SUPABASE_KEY" or "key" field`,
    );
  }
  return key;
}

/**
 * The Supabase key for this source: from the environment as is, or read (once per container) from
 * Secrets Manager / SSM. Rejects with {@link SecretUnavailableError} naming the secret or parameter.
 */
export async function resolveSupabaseKey(source: SupabaseKeySource, o: SecretSourceOptions): Promise<string> {
  if (source.kind === 'env') return source.key;
  const id = source.kind === 'secretsManager' ? source.secretId : source.parameterName;
  const cacheKey = JSON.stringify([source.kind, id, source.endpoint ?? '', o.region]);
  let pending = cache.get(cacheKey);
  if (!pending) {
    pending = load(source, o);
    cache.set(cacheKey, pending);
    // A failed read is not cached: the next invocation tries again.
    pending.catch(() => {
      if (cache.get(cacheKey) === pending) cache.delete(cacheKey);
    });
  }
  return pending;
}
