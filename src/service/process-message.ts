/**
 * The service's core: one message body in, one outcome out, for every runtime (the Lambda handler
 * in process-batch.ts, the long-running worker in worker.ts). It validates the body, refuses to
 * start with less than `minRemainingMs` before `deadline`, runs the job (aborted `safetyMarginMs`
 * before `deadline`, or when `signal` fires), and decides from the error class alone (`isRetryable`):
 * - **done**: extracted, already extracted (skipped), or routed: forwarded to the long-video queue
 *   because this run could not finish it (src/service/routing.ts; the budget is `deadline` minus
 *   `safetyMarginMs`, so the Lambda routes by its remaining time and the worker by its job timeout);
 * - **recorded**: a permanent failure, written to `extraction_errors`; the message may be deleted;
 * - **retry**: a transient or deadline failure (recorded too), or a permanent one whose row could
 *   not be written; the message must come back.
 * Never throws.
 *
 * @example
 * ```ts
 * const r = await processMessage(body, { messageId, attempt: 1, deadline: Date.now() + 900_000 }, deps);
 * if (r.result !== 'retry') await queue.delete(receiptHandle);
 * ```
 */
import { randomUUID } from 'node:crypto';
import { errorMessage, FramesError, isRetryable } from '../errors.js';
import type { AppLogger } from '../logger.js';
import { DeadlineGuard } from './deadline.js';
import { StageFailure, type Stage } from './errors.js';
import { runJob, type JobDeps, type JobStats } from './job.js';
import { parseMessage, safeIdentity, type VideoMessage } from './message.js';
import type { MetricsSink, Outcome } from './metrics.js';

export interface BatchSettings {
  /** Messages processed at once (the Lambda handler per batch, the worker's default concurrency). */
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

export interface MessageOptions {
  /** The queue's id of this delivery (error rows, metrics, logs). */
  messageId: string;
  /** Delivery count, 1 on the first (SQS ApproximateReceiveCount). */
  attempt: number;
  /** Epoch ms by which the work must be over (the Lambda's end, the worker's job timeout). */
  deadline: number;
  /** Stops the work early (worker shutdown); it is then given back like a deadline. */
  signal?: AbortSignal | undefined;
  /** Prefix of the claim's owner id (the Lambda request id); default a random id. */
  requestId?: string | undefined;
  /**
   * What a whole run gets, for the routing check (duration x rate against it): the Lambda passes the
   * time left when its batch started, so a record that waited behind others is not refused for want
   * of a time a fresh invocation would have (it is given back at the deadline instead). Default: the
   * time to `deadline` when the message starts.
   */
  runBudgetMs?: number | undefined;
  /** Clock (tests). */
  now?: () => number;
}

/** What became of a message: done, recorded (permanent) or retry (it must come back). */
export type MessageResult = 'done' | 'recorded' | 'retry';

export interface MessageOutcome {
  messageId: string;
  result: MessageResult;
  /** The finer outcome, as in the metrics. */
  outcome: Outcome;
  stage?: Stage;
  error?: string;
  code?: string;
}

/** Process one message body. Never throws: the outcome says whether the message must come back. */
export async function processMessage(body: string, o: MessageOptions, deps: ProcessorDeps): Promise<MessageOutcome> {
  const now = o.now ?? Date.now;
  const guard = new DeadlineGuard(() => o.deadline - now(), deps.batch);
  try {
    return await processWithGuard(body, o, guard, deps);
  } finally {
    guard.dispose();
  }
}

async function processWithGuard(body: string, o: MessageOptions, guard: DeadlineGuard, deps: ProcessorDeps): Promise<MessageOutcome> {
  const { messageId, attempt } = o;
  const identity = safeIdentity(body);
  const log = deps.logger.createChild({ persistentKeys: { messageId, shortcode: identity.shortcode ?? '', platform: identity.platform ?? '', attempt } });
  const stats: JobStats = { stageMs: {} };
  let msg: VideoMessage | undefined;

  const emit = (outcome: Outcome) => {
    try {
      deps.metrics.videoProcessed({ platform: msg?.platform ?? identity.platform ?? 'unknown', shortcode: msg?.shortcode ?? identity.shortcode ?? '', messageId, outcome, ...pick(stats) });
    } catch (err) {
      log.warn('metrics failed', { error: errorMessage(err) });
    }
  };

  const fail = async (stage: Stage, cause: unknown): Promise<MessageOutcome> => {
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
    emit(outcome);
    // A permanent failure that could not be recorded comes back too, so it is recorded on a later delivery.
    return { messageId, result: retryable || !recorded ? 'retry' : 'recorded', outcome, stage, code, error: message };
  };

  try {
    msg = parseMessage(body);
  } catch (err) {
    return fail('message', err);
  }
  try {
    guard.assertCanStart();
  } catch (err) {
    return fail('deadline', err);
  }
  log.info('processing video', { remainingMs: Math.round(guard.remainingMs()) });
  const signal = o.signal ? AbortSignal.any([guard.signal, o.signal]) : guard.signal;
  try {
    const fullRunMs = (o.runBudgetMs ?? guard.remainingMs()) - deps.batch.safetyMarginMs;
    const budgetMs = () => fullRunMs;
    const result = await runJob(msg, { messageId, owner: `${o.requestId ?? randomUUID()}:${messageId}`, signal, logger: log, body, budgetMs }, deps, stats);
    const outcome: Outcome = result.outcome;
    emit(outcome);
    return { messageId, result: 'done', outcome, ...(result.outcome === 'routed' ? { code: result.code } : {}) };
  } catch (err) {
    if (err instanceof StageFailure) return fail(err.stage, err.cause);
    return fail('extract', err);
  }
}

function pick(stats: JobStats) {
  const { scenes, frames, fallbackUsed, videoBytes, frameBytes, stageMs } = stats;
  return { scenes, frames, fallbackUsed, videoBytes, frameBytes, stageMs: { ...stageMs } };
}
