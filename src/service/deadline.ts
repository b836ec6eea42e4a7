/**
 * Turns the Lambda's remaining time into decisions:
 * - {@link DeadlineGuard.canStart}: refuse to start a video with less than `minRemainingMs` left;
 * - {@link DeadlineGuard.signal}: an AbortSignal that fires `safetyMarginMs` before the Lambda would
 *   be killed, so in-flight work stops cleanly, the claim is released and the record is given back.
 *
 * @example
 * ```ts
 * const guard = new DeadlineGuard(() => context.getRemainingTimeInMillis(), { minRemainingMs: 60_000, safetyMarginMs: 10_000 });
 * try { if (guard.canStart()) await job({ signal: guard.signal }); } finally { guard.dispose(); }
 * ```
 */
import { DeadlineError } from '../errors.js';
import { NotEnoughTimeError } from './errors.js';

export interface DeadlineOptions {
  minRemainingMs: number;
  safetyMarginMs: number;
}

export class DeadlineGuard {
  readonly #remaining: () => number;
  readonly #opts: DeadlineOptions;
  readonly #controller = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  constructor(getRemainingTimeInMillis: () => number, opts: DeadlineOptions) {
    this.#remaining = getRemainingTimeInMillis;
    this.#opts = opts;
    const fireIn = this.#remaining() - opts.safetyMarginMs;
    if (fireIn <= 0) this.#fire();
    else {
      this.#timer = setTimeout(() => this.#fire(), fireIn);
      this.#timer.unref();
    }
  }

  #fire(): void {
    if (!this.#controller.signal.aborted) {
      this.#controller.abort(new DeadlineError(`Lambda deadline: less than ${this.#opts.safetyMarginMs} ms left, work given back to the queue`));
    }
  }

  /** Fires shortly before the Lambda would be killed. The reason is a {@link DeadlineError}. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remainingMs(): number {
    return this.#remaining();
  }

  /** True when there is at least `minRemainingMs` left and the signal has not fired. */
  canStart(): boolean {
    return !this.signal.aborted && this.#remaining() >= this.#opts.minRemainingMs;
  }

  /** Throws {@link NotEnoughTimeError} when a new video must not start. */
  assertCanStart(): void {
    if (!this.canStart()) throw new NotEnoughTimeError(Math.max(0, Math.round(this.#remaining())), this.#opts.minRemainingMs);
  }

  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Resolve after `ms`, or reject with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
