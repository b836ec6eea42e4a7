/**
 * Builds the service's dependencies from the environment: config, logger, metrics, S3, Supabase and
 * the engine. Loaded lazily by src/lambda.ts on the first invocation, so importing the handler
 * module stays cheap. Every piece can be overridden (tests, the local runner).
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
import { SupabaseStatusStore } from '../adapters/supabase-status-store.js';
import { loadConfig, secretValues, type Env, type ServiceConfig } from '../config.js';
import { createLogger, makeScrubber, type AppLogger } from '../logger.js';
import type { Engine, JobSettings } from './job.js';
import { EmfMetrics, type MetricsSink } from './metrics.js';
import type { ProcessorDeps } from './process-batch.js';

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

export async function buildDeps(env: Env = process.env, o: DepsOverrides = {}): Promise<ProcessorDeps & { config: ServiceConfig }> {
  const config = loadConfig(env);
  const logger = o.logger ?? createLogger({ level: config.logLevel, serviceName: config.serviceName, secrets: secretValues(config, env) });
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
  const metrics = o.metrics ?? new EmfMetrics({ namespace: config.metricsNamespace, serviceName: config.serviceName });
  logger.debug('service configured', {
    videosBucket: config.videosBucket,
    framesBucket: config.framesBucket,
    concurrencyLimit: config.concurrencyLimit,
    minRemainingMs: config.minRemainingMs,
    safetyMarginMs: config.safetyMarginMs,
    s3Endpoint: config.s3Endpoint,
    supabaseUrl: config.supabaseUrl,
  });
  return {
    config,
    scrub: makeScrubber(secretValues(config, env)),
    objects,
    status,
    engine,
    metrics,
    logger,
    settings: jobSettings(config),
    batch: { concurrencyLimit: config.concurrencyLimit, minRemainingMs: config.minRemainingMs, safetyMarginMs: config.safetyMarginMs, maxReceiveCount: config.maxReceiveCount },
  };
}
