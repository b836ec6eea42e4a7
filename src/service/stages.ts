/**
 * Runs a job as a list of named stages: each stage is timed into `stageMs`, a failure is tagged
 * with the stage it happened in ({@link StageFailure}), and a stage may end the job early by
 * returning its result (e.g. "already extracted"). Adding a stage is one entry in the list.
 *
 * @example
 * ```ts
 * const result = await runStages([{ name: 'claim', run: claim }, { name: 'download', run: download }], state, stats.stageMs);
 * ```
 */
import { StageFailure, type Stage } from './errors.js';

export interface StageStep<S, R> {
  name: Stage;
  /** Key of `stageMs` the stage's time goes to (default: its name). */
  timing?: string;
  /** Do the stage's work on the shared state; a returned value ends the job with that result. */
  run(state: S): Promise<R | undefined>;
}

/**
 * Run `steps` in order until one returns a result. Rejects with a {@link StageFailure} naming the
 * failing stage (a stage may throw its own StageFailure to name a different one, e.g. `upload`).
 * Also rejects when no stage returned a result, since a job that just stops would lose the message.
 */
export async function runStages<S, R>(steps: readonly StageStep<S, R>[], state: S, stageMs: Record<string, number | undefined>): Promise<R> {
  for (const step of steps) {
    const t0 = performance.now();
    let result: R | undefined;
    try {
      result = await step.run(state);
    } catch (err) {
      throw err instanceof StageFailure ? err : new StageFailure(step.name, err);
    } finally {
      stageMs[step.timing ?? step.name] = Math.round(performance.now() - t0);
    }
    if (result !== undefined) return result;
  }
  throw new StageFailure(steps.at(-1)?.name ?? 'complete', new Error('the job ended without a result'));
}
