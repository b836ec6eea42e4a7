/**
 * The Supabase key at cold start: config accepts exactly one key source, and the key is read from
 * Secrets Manager / SSM with the real SDK clients pointed (SECRETS_MANAGER_ENDPOINT / SSM_ENDPOINT) at
 * a tiny local server that speaks their JSON protocol (POST + X-Amz-Target). The key is cached per
 * container, failures name the secret (never the value), and the key never reaches the logs.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from '../../src/config.js';
import { isRetryable } from '../../src/errors.js';
import { createHandler } from '../../src/lambda.js';
import { REDACTED } from '../../src/logger.js';
import { simulatedContext } from '../../src/service/local-runtime.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import { buildDeps } from '../../src/service/runtime.js';
import { clearSupabaseKeyCache, keyFromSecretValue, resolveSupabaseKey, SecretUnavailableError } from '../../src/service/secret-source.js';
import { ScriptedEngine } from '../helpers/memory.js';
import { sqsEvent } from '../helpers/service-fixtures.js';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:scene-frames/supabase-AbCdEf';
const PARAMETER = '/scene-frames/supabase-key';
const KEY = 'sb-service-role-from-the-secret-7f3a9c';

interface AwsCall {
  target: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

/** Answers GetSecretValue / GetParameter from two maps; unknown ids get the services' not-found errors. */
async function startFakeAws() {
  const secrets = new Map<string, string>();
  const parameters = new Map<string, string>();
  const calls: AwsCall[] = [];
  let failWith: { status: number; type: string } | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = (chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}) as Record<string, unknown>;
      calls.push({ target, body, authorization: req.headers.authorization });
      const reply = (status: number, payload: unknown) => {
        const text = JSON.stringify(payload);
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (req.method !== 'POST') return reply(400, { __type: 'UnknownOperationException' });
      if (failWith) return reply(failWith.status, { __type: failWith.type, message: 'injected failure' });
      if (target === 'secretsmanager.GetSecretValue') {
        const id = String(body.SecretId);
        const value = secrets.get(id);
        if (value === undefined) return reply(400, { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." });
        return reply(200, { ARN: id, Name: 'scene-frames/supabase', SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1.7e9 });
      }
      if (target === 'AmazonSSM.GetParameter') {
        const name = String(body.Name);
        const value = parameters.get(name);
        if (value === undefined) return reply(400, { __type: 'ParameterNotFound', message: '' });
        return reply(200, { Parameter: { Name: name, Type: 'SecureString', Value: value, Version: 1, ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${name}` } });
      }
      return reply(400, { __type: 'UnknownOperationException', message: target });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    server,
    secrets,
    parameters,
    calls,
    fail(f: { status: number; type: string } | undefined) {
      failWith = f;
    },
  };
}

/** Capture everything written to stdout and stderr (Powertools writes errors to stderr). */
function captureOutput(): { text: () => string; restore: () => void } {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  const chunks: string[] = [];
  for (const s of streams) {
    s.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof s.write;
  }
  return { text: () => chunks.join(''), restore: () => streams.forEach((s, i) => (s.write = originals[i]!)) };
}

let aws: Awaited<ReturnType<typeof startFakeAws>>;
const BASE = { S3_BUCKET_VIDEOS: 'videos', SUPABASE_URL: 'http://127.0.0.1:54321', AWS_REGION: 'us-east-1' };
let smEnv: Record<string, string>;
let ssmEnv: Record<string, string>;

beforeAll(async () => {
  // The SDK signs requests; the fake server does not check the signature, but credentials must exist.
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDLOCALTEST';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local-secret-access-key';
  aws = await startFakeAws();
  smEnv = { ...BASE, SUPABASE_KEY_SECRET_ARN: SECRET_ARN, SECRETS_MANAGER_ENDPOINT: aws.endpoint };
  ssmEnv = { ...BASE, SUPABASE_KEY_PARAMETER: PARAMETER, SSM_ENDPOINT: aws.endpoint };
});

afterAll(async () => {
  aws?.server.closeAllConnections();
  await new Promise((r) => aws?.server.close(r));
});

beforeEach(() => {
  clearSupabaseKeyCache();
  aws.secrets.clear();
  aws.parameters.clear();
  aws.calls.length = 0;
  aws.fail(undefined);
});

describe('config: exactly one Supabase key source', () => {
  it('accepts SUPABASE_KEY, SUPABASE_KEY_SECRET_ARN or SUPABASE_KEY_PARAMETER', () => {
    expect(loadConfig({ ...BASE, SUPABASE_KEY: 'local-key' })).toMatchObject({ supabaseKey: 'local-key', supabaseKeySource: { kind: 'env', key: 'local-key' } });
    expect(loadConfig(smEnv)).toMatchObject({
      supabaseKey: undefined,
      supabaseKeySource: { kind: 'secretsManager', secretId: SECRET_ARN, endpoint: aws.endpoint },
      secretsManagerEndpoint: aws.endpoint,
    });
    expect(loadConfig(ssmEnv)).toMatchObject({ supabaseKey: undefined, supabaseKeySource: { kind: 'ssm', parameterName: PARAMETER, endpoint: aws.endpoint }, ssmEndpoint: aws.endpoint });
  });

  it('reports a missing key source together with every other bad variable, in one error', () => {
    let err: unknown;
    try {
      loadConfig({ SUPABASE_URL: 'nope', SSM_ENDPOINT: 'ftp://x', CONCURRENCY_LIMIT: 'many' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    for (const name of ['S3_BUCKET_VIDEOS', 'SUPABASE_URL', 'SUPABASE_KEY', 'SSM_ENDPOINT', 'CONCURRENCY_LIMIT']) {
      expect(issues.filter((l) => l.startsWith(`${name} `))).toHaveLength(1);
    }
    expect(issues.join('\n')).toMatch(/SUPABASE_KEY is required \(or set SUPABASE_KEY_SECRET_ARN or SUPABASE_KEY_PARAMETER\)/);
    expect(isRetryable(err)).toBe(false);
  });

  it('rejects more than one source, naming each, without echoing the key', () => {
    const secretKey = 'plain-key-value-9981';
    let err: unknown;
    try {
      loadConfig({ ...BASE, SUPABASE_KEY: secretKey, SUPABASE_KEY_SECRET_ARN: SECRET_ARN, SUPABASE_KEY_PARAMETER: PARAMETER });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    expect(issues).toHaveLength(3);
    for (const name of ['SUPABASE_KEY', 'SUPABASE_KEY_SECRET_ARN', 'SUPABASE_KEY_PARAMETER']) expect(issues.some((l) => l.startsWith(`${name} conflicts with`))).toBe(true);
    expect((err as Error).message).not.toContain(secretKey);
  });

  it('treats an empty variable as unset (as .env.sample leaves them)', () => {
    expect(loadConfig({ ...smEnv, SUPABASE_KEY: '', SUPABASE_KEY_PARAMETER: ' ' }).supabaseKeySource.kind).toBe('secretsManager');
  });
});

describe('secret value formats', () => {
  it.each([
    ['plain string', `  ${KEY}\n`, KEY],
    ['JSON SUPABASE_KEY', JSON.stringify({ SUPABASE_KEY: KEY, url: 'x' }), KEY],
    ['JSON key', JSON.stringify({ key: KEY }), KEY],
    ['JSON without a key field', JSON.stringify({ password: KEY }), undefined],
    ['broken JSON', `{"key": "${KEY}"`, undefined],
    ['empty', '', undefined],
  ])('%s', (_name, raw, expected) => {
    expect(keyFromSecretValue(raw)).toBe(expected);
  });
});

describe('resolveSupabaseKey (real SDK clients, local endpoint)', () => {
  const opts = { region: 'us-east-1' };

  it('reads a plain-string secret from Secrets Manager, once per container', async () => {
    // Prepare
    aws.secrets.set(SECRET_ARN, KEY);
    const source = loadConfig(smEnv).supabaseKeySource;
    // Act
    const first = await resolveSupabaseKey(source, opts);
    const second = await resolveSupabaseKey(source, opts);
    // Assess
    expect(first).toBe(KEY);
    expect(second).toBe(KEY);
    expect(aws.calls).toHaveLength(1);
    expect(aws.calls[0]).toMatchObject({ target: 'secretsmanager.GetSecretValue', body: { SecretId: SECRET_ARN } });
    expect(aws.calls[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 .*\/us-east-1\/secretsmanager\/aws4_request/);
  });

  it.each([
    ['SUPABASE_KEY', { SUPABASE_KEY: KEY, other: 'x' }],
    ['key', { key: KEY }],
  ])('reads a JSON secret with a %s field', async (_field, value) => {
    aws.secrets.set(SECRET_ARN, JSON.stringify(value));
    await expect(resolveSupabaseKey(loadConfig(smEnv).supabaseKeySource, opts)).resolves.toBe(KEY);
  });

  it('reads an SSM SecureString parameter with decryption', async () => {
    aws.parameters.set(PARAMETER, KEY);
    await expect(resolveSupabaseKey(loadConfig(ssmEnv).supabaseKeySource, opts)).resolves.toBe(KEY);
    expect(aws.calls).toHaveLength(1);
    expect(aws.calls[0]).toMatchObject({ target: 'AmazonSSM.GetParameter', body: { Name: PARAMETER, WithDecryption: true } });
  });

  it('fails with a transient error naming the secret, and does not cache the failure', async () => {
    // Act: the secret does not exist yet
    const err = await resolveSupabaseKey(loadConfig(smEnv).supabaseKeySource, opts).catch((e: unknown) => e);
    // Assess
    expect(err).toBeInstanceOf(SecretUnavailableError);
    expect(isRetryable(err)).toBe(true);
    expect((err as Error).message).toBe(`could not read the Supabase key from Secrets Manager secret ${SECRET_ARN}: ResourceNotFoundException (HTTP 400)`);
    // Act: the operator fills the secret; the next cold-start attempt reads it
    aws.secrets.set(SECRET_ARN, KEY);
    await expect(resolveSupabaseKey(loadConfig(smEnv).supabaseKeySource, opts)).resolves.toBe(KEY);
  });

  it('names the SSM parameter when it cannot be read (access denied)', async () => {
    aws.fail({ status: 400, type: 'AccessDeniedException' });
    await expect(resolveSupabaseKey(loadConfig(ssmEnv).supabaseKeySource, opts)).rejects.toThrow(
      `could not read the Supabase key from SSM parameter ${PARAMETER}: AccessDeniedException (HTTP 400)`,
    );
  });

  it('refuses a secret that holds no usable key, without echoing its content', async () => {
    aws.secrets.set(SECRET_ARN, JSON.stringify({ password: KEY }));
    const err = await resolveSupabaseKey(loadConfig(smEnv).supabaseKeySource, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretUnavailableError);
    expect((err as Error).message).toContain(SECRET_ARN);
    expect((err as Error).message).toMatch(/"SUPABASE_KEY" or "key" field/);
    expect((err as Error).message).not.toContain(KEY);
  });
});

describe('cold start (buildDeps / the Lambda handler)', () => {
  /** fetch for supabase-js: records the apikey header and answers the claim RPC. */
  function recordingFetch() {
    const apikeys: string[] = [];
    const f = (async (_url: string | URL | Request, init?: RequestInit) => {
      apikeys.push(new Headers(init?.headers).get('apikey') ?? '');
      return new Response(JSON.stringify({ status: 'already_extracted' }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    return { fetch: f, apikeys };
  }

  it('resolves the key from Secrets Manager, hands it to Supabase and keeps it out of every log line', async () => {
    // Prepare
    aws.secrets.set(SECRET_ARN, JSON.stringify({ SUPABASE_KEY: KEY }));
    const rec = recordingFetch();
    const cap = captureOutput();
    let text: string;
    try {
      // Act
      const deps = await buildDeps({ ...smEnv, DEBUG: 'true' }, { fetch: rec.fetch, engine: new ScriptedEngine(), metrics: new MemoryMetrics() });
      await deps.status.claim('instagram', 'abc', 'owner-1', 60);
      deps.logger.info(`connecting with ${KEY}`);
      deps.logger.debug('request', { headers: { apikey: KEY }, note: `k=${KEY}` });
      deps.logger.error('failed', new Error(`request failed: apikey=${KEY}`));
      // Assess
      expect(deps.config.supabaseKey).toBe(KEY);
      expect(rec.apikeys).toEqual([KEY]);
      expect(deps.scrub?.(`x ${KEY} y`)).toBe(`x ${REDACTED} y`);
    } finally {
      cap.restore();
      text = cap.text();
    }
    expect(text).toContain('service configured'); // the debug line ran, with the source named
    expect(text).toContain(`Secrets Manager secret ${SECRET_ARN}`);
    expect(text).toContain(REDACTED);
    expect(text).not.toContain(KEY);
    expect(text.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(4);
  });

  it('fails the whole batch with an error naming the parameter when the key cannot be read, and recovers on the next invocation', async () => {
    // Prepare: the handler builds its dependencies lazily, once
    const rec = recordingFetch();
    const handler = createHandler(() => buildDeps({ ...ssmEnv, LOG_LEVEL: 'SILENT' }, { fetch: rec.fetch, engine: new ScriptedEngine(), metrics: new MemoryMetrics() }));
    const event = sqsEvent(JSON.stringify({ shortcode: 'abc', platform: 'instagram' }));
    // Act + Assess: parameter missing -> the invocation fails (every record comes back from SQS)
    await expect(handler(event, simulatedContext())).rejects.toThrow(new RegExp(`SSM parameter ${PARAMETER}: ParameterNotFound`));
    // Act + Assess: parameter created -> the next invocation reads it and processes the batch
    aws.parameters.set(PARAMETER, KEY);
    await expect(handler(event, simulatedContext())).resolves.toEqual({ batchItemFailures: [] });
    await expect(handler(event, simulatedContext())).resolves.toEqual({ batchItemFailures: [] });
    expect(aws.calls.filter((c) => c.target === 'AmazonSSM.GetParameter')).toHaveLength(2); // 1 failed + 1 read, then cached
    expect(rec.apikeys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(rec.apikeys)).toEqual(new Set([KEY]));
  });
});
