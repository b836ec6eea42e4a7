/**
 * An SQS batch -> a partial batch response. Validates each body, runs at most `concurrencyLimit`
 * jobs at once, refuses to start a video with less than `minRemainingMs` left, and decides, from
 * the error class alone (`isRetryable`), what goes back to the queue:
 * - permanent failures are recorded in `extraction_errors` and NOT reported (the message is deleted);
 * - transient and deadline failures are recorded too, and reported in `batchItemFailures`;
 * - if recording a permanent failure itself fails, the record is reported so nothing is lost.
 *
 * @example
 * ```ts
 * const res = await processBatch(event, context, deps); // { batchItemFailures: [{ itemIdentifier: '...' }] }
 * ```
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage, FramesError, isRetryable } from '../errors.js';
import type { AppLogger } from '../logger.js';
import { DeadlineGuard } from './deadline.js';
import { StageFailure, type Stage } from './errors.js';
import { runJob, type JobDeps, type JobStats } from './job.js';
import { parseMessage, safeIdentity, type VideoMessage } from './message.js';
import type { MetricsSink, Outcome } from './metrics.js';

export interface BatchSettings {
  concurrencyLimit: number;
  minRemainingMs: number;
  safetyMarginMs: number;
  /** The queue's maxReceiveCount: an error row on that attempt is marked `final` (next stop: the DLQ). */
  maxReceiveCount: number;
}

export interface ProcessorDeps extends JobDeps {
  logger: AppLogger;
  metrics: MetricsSink;
  batch: BatchSettings;
  /** Removes secrets from error messages before they are stored (default: identity). */
  scrub?: (text: string) => string;
}

/** What a Lambda context must offer (a real Context satisfies it). */
export interface RemainingTimeContext {
  getRemainingTimeInMillis(): number;
  awsRequestId: string;
}

export interface RecordOutcome {
  messageId: string;
  outcome: Outcome;
  retry: boolean;
  stage?: Stage;
  error?: string;
  code?: string;
}

/** Run `fn` over `items` with at most `limit` in flight, preserving result order. */
export async function mapWithLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Process one SQS batch. Never throws: every record ends up either done, recorded-permanent, or reported for retry. */
export async function processBatch(event: SQSEvent, context: RemainingTimeContext, deps: ProcessorDeps): Promise<SQSBatchResponse & { outcomes: RecordOutcome[] }> {
  const guard = new DeadlineGuard(() => context.getRemainingTimeInMillis(), deps.batch);
  const logger = deps.logger.createChild({ persistentKeys: { requestId: context.awsRequestId } });
  try {
    const outcomes = await mapWithLimit(event.Records ?? [], deps.batch.concurrencyLimit, (record) => processRecord(record, context, guard, { ...deps, logger }));
    const failed = outcomes.filter((o) => o.retry);
    logger.info('batch done', { records: outcomes.length, failed: failed.length, outcomes: outcomes.map((o) => `${o.messageId}:${o.outcome}`) });
    return { batchItemFailures: failed.map((o) => ({ itemIdentifier: o.messageId })), outcomes };
  } finally {
    guard.dispose();
  }
}

async function processRecord(record: SQSRecord, context: RemainingTimeContext, guard: DeadlineGuard, deps: ProcessorDeps): Promise<RecordOutcome> {
  const messageId = record.messageId;
  const attempt = Math.max(1, Number(record.attributes?.ApproximateReceiveCount) || 1);
  const identity = safeIdentity(record.body);
  const log = deps.logger.createChild({ persistentKeys: { messageId, shortcode: identity.shortcode ?? '', platform: identity.platform ?? '', attempt } });
  const stats: JobStats = { stageMs: {} };
  let msg: VideoMessage | undefined;

  const fail = async (stage: Stage, cause: unknown): Promise<RecordOutcome> => {
    const retryable = isRetryable(cause);
    const code = cause instanceof FramesError ? cause.code : 'UNEXPECTED';
    const message = (deps.scrub ?? ((t: string) => t))(errorMessage(cause));
    const outcome: Outcome = cause instanceof FramesError && cause.kind === 'deadline' ? 'deadline' : retryable ? 'transient_failure' : 'permanent_failure';
    const final = retryable && attempt >= deps.batch.maxReceiveCount;
    const logFields = { stage, code, retryable, final, error: message };
    if (retryable) log.warn('video failed; giving it back to the queue', logFields);
    else log.error('video failed permanently; not retrying', logFields);
    let recorded = true;
    try {
      await deps.status.recordError({ platform: msg?.platform ?? identity.platform ?? null, shortcode: msg?.shortcode ?? identity.shortcode ?? null, messageId, stage, code, message, retryable, attempt, final });
    } catch (err) {
      recorded = false;
      log.error('could not record the failure in extraction_errors', { error: errorMessage(err), stage, code });
    }
    // A permanent failure that could not be recorded goes back too, so it is recorded on a later delivery.
    const retry = retryable || !recorded;
    emit(outcome);
    return { messageId, outcome, retry, stage, code, error: message };
  };

  const emit = (outcome: Outcome) => {
    try {
      deps.metrics.videoProcessed({ platform: msg?.platform ?? identity.platform ?? 'unknown', shortcode: msg?.shortcode ?? identity.shortcode ?? '', messageId, outcome, ...pick(stats) });
    } catch (err) {
      log.warn('metrics failed', { error: errorMessage(err) });
    }
  };

  try {
    msg = parseMessage(record.body);
  } catch (err) {
    return fail('message', err);
  }
  if (!guard.canStart()) {
    try {
      guard.assertCanStart();
    } catch (err) {
      return fail('deadline', err);
    }
  }
  log.info('processing video', { remainingMs: Math.round(guard.remainingMs()) });
  try {
    const result = await runJob(msg, { messageId, owner: `${context.awsRequestId}:${messageId}`, signal: guard.signal, logger: log }, deps, stats);
    const outcome: Outcome = result.outcome === 'extracted' ? 'extracted' : 'skipped';
    emit(outcome);
    return { messageId, outcome, retry: false };
  } catch (err) {
    if (err instanceof StageFailure) return fail(err.stage, err.cause);
    return fail('extract', err);
  }
}

function pick(stats: JobStats) {
  const { scenes, frames, fallbackUsed, videoBytes, frameBytes, stageMs } = stats;
  return { scenes, frames, fallbackUsed, videoBytes, frameBytes, stageMs: { ...stageMs } };
}
