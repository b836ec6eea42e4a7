/**
 * Builds the service's dependencies from the environment: config, the Supabase key (from the env, or
 * read once per container from Secrets Manager / SSM), logger, metrics, S3, Supabase and the engine.
 * Loaded lazily by src/lambda.ts on the first invocation, so importing the handler module stays cheap.
 * Every piece can be overridden (tests, the local runner).
 *
 * @example
 * ```ts
 * const deps = await buildDeps(process.env, { fetch: standInFetch });
 * await processBatch(event, context, deps);
 * ```
 */
import type { ObjectStore } from '../adapters/object-store.js';
import { createS3Client, S3ObjectStore } from '../adapters/s3-object-store.js';
import type { StatusStore } from '../adapters/status-store.js';
import { createSqsClient, SqsQueue } from '../adapters/sqs-queue.js';
import { SupabaseStatusStore } from '../adapters/supabase-status-store.js';
import { loadConfig, secretValues, type Env, type ServiceConfig } from '../config.js';
import { createLogger, makeScrubber, type AppLogger } from '../logger.js';
import { describeKeySource, resolveSupabaseKey } from './secret-source.js';
import type { Engine, JobSettings } from './job.js';
import { EmfMetrics, type MetricsSink } from './metrics.js';
import type { ProcessorDeps } from './process-message.js';

export interface DepsOverrides {
  /** fetch used by supabase-js (tests: PostgREST stand-in, fault injection). */
  fetch?: typeof fetch;
  /** Wrap the S3 object store (fault injection). */
  wrapObjects?: (store: ObjectStore) => ObjectStore;
  status?: StatusStore;
  engine?: Engine;
  metrics?: MetricsSink;
  logger?: AppLogger;
}

export function jobSettings(c: ServiceConfig): JobSettings {
  return {
    videosBucket: c.videosBucket,
    framesBucket: c.framesBucket,
    minFrames: c.minFrames,
    sceneThreshold: c.sceneThreshold,
    extractMode: c.extractMode,
    frameFormat: c.frameFormat,
    frameQuality: c.frameQuality,
    frameMaxWidth: c.frameMaxWidth,
    s3Retries: c.s3Retries,
    s3RetryDelayMs: c.s3RetryDelayMs,
    uploadConcurrency: c.uploadConcurrency,
    claimLeaseSeconds: c.claimLeaseSeconds,
    tmpDir: c.tmpDir,
  };
}

/** The configuration with the Supabase key resolved. */
export type ResolvedConfig = ServiceConfig & { supabaseKey: string };

export async function buildDeps(env: Env = process.env, o: DepsOverrides = {}): Promise<ProcessorDeps & { config: ResolvedConfig }> {
  const loaded = loadConfig(env);
  // Before the logger exists, so the resolved key is registered with its redaction. Throws a transient
  // SecretUnavailableError naming the secret/parameter (never the value): the batch goes back to the queue.
  const supabaseKey = await resolveSupabaseKey(loaded.supabaseKeySource, {
    region: loaded.region,
    connectTimeoutMs: loaded.s3ConnectTimeoutMs,
  });
  const config: ResolvedConfig = { ...loaded, supabaseKey };
  const secrets = secretValues(config, env);
  const logger = o.logger ?? createLogger({ level: config.logLevel, serviceName: config.serviceName, secrets });
  const s3 = createS3Client({
    region: config.region,
    endpoint: config.s3Endpoint,
    forcePathStyle: config.s3ForcePathStyle,
    connectTimeoutMs: config.s3ConnectTimeoutMs,
    readTimeoutMs: config.s3ReadTimeoutMs,
  });
  const base = new S3ObjectStore(s3);
  const objects = o.wrapObjects ? o.wrapObjects(base) : base;
  const status =
    o.status ??
    SupabaseStatusStore.create({ url: config.supabaseUrl, key: config.supabaseKey, retries: config.supabaseRetries, ...(o.fetch ? { fetch: o.fetch } : {}) });
  const engine = o.engine ?? ((await import('../engine/index.js')) as unknown as Engine);
  const longVideoQueue = config.longVideoQueueUrl ? new SqsQueue(createSqsClient({ region: config.region, endpoint: config.sqsEndpoint }), config.longVideoQueueUrl) : undefined;
  const metrics = o.metrics ?? new EmfMetrics({ namespace: config.metricsNamespace, serviceName: config.serviceName });
  logger.debug('service configured', {
    videosBucket: config.videosBucket,
    framesBucket: config.framesBucket,
    concurrencyLimit: config.concurrencyLimit,
    minRemainingMs: config.minRemainingMs,
    safetyMarginMs: config.safetyMarginMs,
    s3Endpoint: config.s3Endpoint,
    supabaseUrl: config.supabaseUrl,
    supabaseKeySource: describeKeySource(config.supabaseKeySource),
    longVideoQueueUrl: config.longVideoQueueUrl,
    routeMsPerVideoSecond: config.routeMsPerVideoSecond,
  });
  return {
    config,
    scrub: makeScrubber(secrets),
    objects,
    status,
    engine,
    metrics,
    logger,
    settings: jobSettings(config),
    longVideoQueue,
    routing: { msPerVideoSecond: config.routeMsPerVideoSecond },
    batch: { concurrencyLimit: config.concurrencyLimit, minRemainingMs: config.minRemainingMs, safetyMarginMs: config.safetyMarginMs, maxReceiveCount: config.maxReceiveCount },
  };
}
