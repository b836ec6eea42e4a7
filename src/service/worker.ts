/**
 * A long-running SQS worker for videos that do not fit in Lambda's 15 minutes (ECS, EC2, a laptop).
 * It is the worker's face of {@link processMessage}, the core the Lambda handler uses too: each
 * message runs with a deadline `jobTimeoutMs` away (hours by default, not 15 minutes) and the
 * worker's abort signal, and is acknowledged as soon as it is done. Around it, the worker does what
 * the Lambda event source mapping does for the handler:
 * - long-polls (`WaitTimeSeconds`, default 20) for up to `concurrency` messages in flight;
 * - extends the visibility of every message in progress (ChangeMessageVisibility every
 *   `visibilityTimeout / 2`), so a slow video is not redelivered to another worker meanwhile;
 * - deletes the message on success and on a permanent (recorded) failure; leaves transient failures
 *   alone, so they come back after the visibility timeout and, after maxReceiveCount, land in the DLQ;
 * - on `signal` (SIGTERM/SIGINT via {@link handleShutdownSignals}) starts no new poll (a poll in
 *   progress ends within `waitSeconds`; anything it returns is given back at once), lets the work in
 *   flight finish for up to `shutdownTimeoutMs`, then aborts it (claim released, error row recorded as
 *   DEADLINE), gives those messages back (visibility 0) and resolves;
 * - holds ECS task scale-in protection while any message is in progress (`protection`; a no-op
 *   outside ECS), so scaling in on queue depth never stops a task mid-video. Budget for a stop:
 *   max(waitSeconds, shutdownTimeoutMs) plus a few seconds (ECS stopTimeout, default 30 s).
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const uninstall = handleShutdownSignals(controller);
 * const stats = await runWorker({ queue, deps: await buildDeps(process.env), signal: controller.signal });
 * uninstall();
 * ```
 */
import type { TaskProtection } from '../adapters/ecs-task-protection.js';
import type { Queue, ReceivedMessage } from '../adapters/queue.js';
import { DeadlineError, errorMessage, ValidationError } from '../errors.js';
import { sleep } from './deadline.js';
import type { Outcome } from './metrics.js';
import { processMessage, type ProcessorDeps } from './process-message.js';

export interface WorkerOptions {
  queue: Queue;
  /** The same dependencies the Lambda handler uses (`buildDeps(process.env)`). */
  deps: ProcessorDeps;
  /** Long-poll wait per ReceiveMessage, 0-20 s (default 20). */
  waitSeconds?: number;
  /** Visibility timeout set on receive and on every heartbeat, 1-43200 s (default 300). */
  visibilityTimeout?: number;
  /** Heartbeat period in ms (default visibilityTimeout / 2). */
  heartbeatMs?: number;
  /** Messages processed at once, 1-100 (default deps.batch.concurrencyLimit). */
  concurrency?: number;
  /** Time one video may take before it is aborted and given back (default 6 h; Lambda's cap is 15 min). */
  jobTimeoutMs?: number;
  /** After a stop request, how long in-flight work may still run before it is aborted (default 25 000 ms). */
  shutdownTimeoutMs?: number;
  /** Stop as soon as a receive comes back empty (drain the queue, then exit). */
  once?: boolean;
  /** Stop request (SIGTERM/SIGINT): no new polls; in-flight work finishes or is aborted at the shutdown deadline. */
  signal?: AbortSignal;
  /** Scale-in protection while work is in flight (ECS: EcsTaskProtection.fromEnv; default none). */
  protection?: TaskProtection;
  /** Called once per message when the worker is done with it. */
  onMessage?: (r: WorkerMessageResult) => void;
}

export type WorkerAction = 'deleted' | 'left_for_retry' | 'given_back';

export interface WorkerMessageResult {
  messageId: string;
  receiveCount: number;
  outcome: Outcome | 'error';
  action: WorkerAction;
  error?: string;
  ms: number;
}

export interface WorkerStats {
  polls: number;
  received: number;
  deleted: number;
  /** Transient failures left invisible until the visibility timeout (then redelivered, eventually the DLQ). */
  leftForRetry: number;
  /** Aborted at shutdown and made visible again at once. */
  givenBack: number;
  heartbeats: number;
  heartbeatErrors: number;
  /** Protection changes that failed (logged; the work goes on). */
  protectionErrors: number;
  receiveErrors: number;
  /** True when in-flight work had to be aborted at the shutdown deadline. */
  abortedInFlight: boolean;
}

interface ResolvedOptions {
  waitSeconds: number;
  visibilityTimeout: number;
  heartbeatMs: number;
  concurrency: number;
  jobTimeoutMs: number;
  shutdownTimeoutMs: number;
}

function resolveOptions(o: WorkerOptions): ResolvedOptions {
  const issues: string[] = [];
  const int = (name: string, v: number | undefined, def: number, min: number, max: number): number => {
    const n = v ?? def;
    if (!Number.isInteger(n) || n < min || n > max) issues.push(`${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    return n;
  };
  const waitSeconds = int('waitSeconds', o.waitSeconds, 20, 0, 20);
  const visibilityTimeout = int('visibilityTimeout', o.visibilityTimeout, 300, 1, 43_200);
  const heartbeatMs = int('heartbeatMs', o.heartbeatMs, Math.max(100, Math.floor((visibilityTimeout * 1000) / 2)), 100, visibilityTimeout * 1000 - 1);
  const concurrency = int('concurrency', o.concurrency, Math.min(100, Math.max(1, o.deps.batch.concurrencyLimit)), 1, 100);
  const jobTimeoutMs = int('jobTimeoutMs', o.jobTimeoutMs, 6 * 3_600_000, 1_000, 2_000_000_000);
  const shutdownTimeoutMs = int('shutdownTimeoutMs', o.shutdownTimeoutMs, 25_000, 0, 3_600_000);
  if (issues.length) throw new ValidationError('INVALID_WORKER_OPTIONS', 'invalid worker options', issues);
  return { waitSeconds, visibilityTimeout, heartbeatMs, concurrency, jobTimeoutMs, shutdownTimeoutMs };
}

/**
 * Poll the queue and process messages until `signal` fires (or, with `once`, the queue is empty).
 * Resolves with counters; rejects only for invalid options.
 *
 * @example
 * ```ts
 * const stats = await runWorker({ queue, deps, waitSeconds: 1, visibilityTimeout: 30, once: true });
 * // { polls: 2, received: 1, deleted: 1, leftForRetry: 0, givenBack: 0, heartbeats: 0, ... }
 * ```
 */
export async function runWorker(o: WorkerOptions): Promise<WorkerStats> {
  const opt = resolveOptions(o);
  const { queue } = o;
  const log = o.deps.logger.createChild({ persistentKeys: { component: 'worker' } });
  const stats: WorkerStats = { polls: 0, received: 0, deleted: 0, leftForRetry: 0, givenBack: 0, heartbeats: 0, heartbeatErrors: 0, protectionErrors: 0, receiveErrors: 0, abortedInFlight: false };
  const stop = o.signal ?? new AbortController().signal;
  const abortWork = new AbortController();
  const inflight = new Set<Promise<void>>();
  // From the stop request on, in-flight work has shutdownTimeoutMs left; then it is aborted and given back.
  let shutdownTimer: NodeJS.Timeout | undefined;
  const onStop = () => {
    log.info('stop requested: no new polls; finishing in-flight work', { inFlight: inflight.size, shutdownTimeoutMs: opt.shutdownTimeoutMs });
    shutdownTimer = setTimeout(() => {
      if (inflight.size === 0) return;
      stats.abortedInFlight = true;
      log.warn('shutdown deadline reached: aborting in-flight work and giving it back', { inFlight: inflight.size });
      abortWork.abort(new DeadlineError(`worker shutting down: in-flight work aborted ${opt.shutdownTimeoutMs} ms after the stop request`));
    }, opt.shutdownTimeoutMs);
  };
  const stopped = new Promise<void>((resolve) => {
    if (stop.aborted) {
      onStop();
      return resolve();
    }
    stop.addEventListener('abort', () => (onStop(), resolve()), { once: true });
  });

  // Protection follows "anything in flight": on with the first message, off when the last one ends.
  // Changes are chained so an "off" never overtakes the "on" before it.
  let protectionChain: Promise<void> = Promise.resolve();
  let protectedNow = false;
  const protect = (on: boolean) => {
    const p = o.protection;
    if (!p?.active || protectedNow === on) return;
    protectedNow = on;
    protectionChain = protectionChain.then(() =>
      p.set(on, on ? opt.jobTimeoutMs / 60_000 + 5 : undefined).catch((err: unknown) => {
        stats.protectionErrors++;
        log.warn('could not change ECS task protection', { enabled: on, error: errorMessage(err) });
      }),
    );
  };

  const handle = async (m: ReceivedMessage): Promise<void> => {
    const t0 = performance.now();
    let lastBeat: Promise<void> = Promise.resolve();
    const beat = setInterval(() => {
      lastBeat = queue.changeVisibility(m.receiptHandle, opt.visibilityTimeout).then(
        () => void stats.heartbeats++,
        (err: unknown) => {
          stats.heartbeatErrors++;
          log.warn('could not extend visibility', { messageId: m.messageId, error: errorMessage(err) });
        },
      );
    }, opt.heartbeatMs);
    let outcome: WorkerMessageResult['outcome'] = 'error';
    let retry = true;
    let error: string | undefined;
    try {
      const r = await processMessage(m.body, { messageId: m.messageId, attempt: Math.max(1, m.receiveCount), deadline: Date.now() + opt.jobTimeoutMs, signal: abortWork.signal }, o.deps);
      outcome = r.outcome;
      retry = r.result === 'retry';
      error = r.error;
    } catch (err) {
      // processMessage does not throw; if it ever does, the message goes back, nothing is lost.
      error = errorMessage(err);
      log.error('processing failed unexpectedly; leaving the message for redelivery', { messageId: m.messageId, error });
    } finally {
      clearInterval(beat);
      await lastBeat;
    }
    let action: WorkerAction;
    if (!retry) {
      action = 'deleted';
      try {
        await queue.delete(m.receiptHandle);
        stats.deleted++;
      } catch (err) {
        // Redelivery is harmless: the claim finds the video extracted (or the error recorded) and skips it.
        log.warn('could not delete a finished message; it will be redelivered and skipped', { messageId: m.messageId, error: errorMessage(err) });
      }
    } else if (abortWork.signal.aborted) {
      action = 'given_back';
      stats.givenBack++;
      await queue.changeVisibility(m.receiptHandle, 0).catch((err: unknown) => log.warn('could not give the message back; it returns after the visibility timeout', { messageId: m.messageId, error: errorMessage(err) }));
    } else {
      action = 'left_for_retry';
      stats.leftForRetry++;
    }
    const result: WorkerMessageResult = { messageId: m.messageId, receiveCount: m.receiveCount, outcome, action, ms: Math.round(performance.now() - t0), ...(error !== undefined ? { error } : {}) };
    log.info('message done', { ...result });
    try {
      o.onMessage?.(result);
    } catch (err) {
      log.warn('onMessage callback failed', { error: errorMessage(err) });
    }
  };

  log.info('worker started', { queueUrl: queue.url, ...opt });
  let backoffMs = 500;
  while (!stop.aborted) {
    if (inflight.size >= opt.concurrency) {
      await Promise.race([stopped, ...inflight]);
      continue;
    }
    let msgs: ReceivedMessage[];
    try {
      // The poll is not aborted on stop: SQS can still hand messages to a poll the client gave up on,
      // and they would stay invisible for a whole visibility timeout. It ends within waitSeconds.
      msgs = await queue.receive(Math.min(10, opt.concurrency - inflight.size), opt.waitSeconds, opt.visibilityTimeout);
      stats.polls++;
      backoffMs = 500;
    } catch (err) {
      if (stop.aborted) break;
      stats.receiveErrors++;
      log.warn('receive failed; backing off', { error: errorMessage(err), backoffMs });
      await sleep(backoffMs, stop).catch(() => undefined);
      backoffMs = Math.min(backoffMs * 2, 20_000);
      continue;
    }
    stats.received += msgs.length;
    if (stop.aborted) {
      // Received after the stop request: give them back at once instead of starting them.
      await Promise.all(
        msgs.map((m) =>
          queue.changeVisibility(m.receiptHandle, 0).then(
            () => void stats.givenBack++,
            (err: unknown) => log.warn('could not give a message back; it returns after the visibility timeout', { messageId: m.messageId, error: errorMessage(err) }),
          ),
        ),
      );
      break;
    }
    if (msgs.length) {
      protect(true);
      await protectionChain;
    }
    for (const m of msgs) {
      const p: Promise<void> = handle(m).finally(() => {
        inflight.delete(p);
        if (inflight.size === 0) protect(false);
      });
      inflight.add(p);
    }
    if (o.once && msgs.length === 0) break;
  }

  // Stopped (or --once drained): no more polls. In-flight work finishes, or is aborted by the shutdown timer.
  await Promise.allSettled([...inflight]);
  protect(false);
  await protectionChain;
  clearTimeout(shutdownTimer);
  log.info('worker stopped', { ...stats });
  return stats;
}

/**
 * Turn SIGTERM/SIGINT into an abort of `controller` (graceful stop). A second signal calls
 * `onSecondSignal` (the CLI exits at once). Returns a function that removes the listeners.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const uninstall = handleShutdownSignals(controller, { onSignal: (s) => console.error(`${s}: stopping`) });
 * ```
 */
export function handleShutdownSignals(
  controller: AbortController,
  o: { signals?: NodeJS.Signals[]; onSignal?: (signal: NodeJS.Signals) => void; onSecondSignal?: (signal: NodeJS.Signals) => void; target?: NodeJS.EventEmitter } = {},
): () => void {
  const target = o.target ?? process;
  const signals = o.signals ?? ['SIGTERM', 'SIGINT'];
  const listener = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      o.onSecondSignal?.(signal);
      return;
    }
    o.onSignal?.(signal);
    controller.abort(new Error(`${signal} received`));
  };
  for (const s of signals) target.on(s, listener);
  return () => {
    for (const s of signals) target.off(s, listener);
  };
}
