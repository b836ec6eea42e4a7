/**
 * AWS Lambda entry point: SQS event -> partial batch response. Thin by design: dependencies are
 * built once per cold start, lazily on the first invocation (the module import stays cheap), and
 * everything else lives in src/service.
 *
 * Configure the event source mapping with `ReportBatchItemFailures`.
 *
 * @example
 * ```ts
 * import { handler } from './lambda.js';
 * const { batchItemFailures } = await handler(sqsEvent, context);
 * ```
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { RemainingTimeContext } from './service/process-batch.js';
import type { ProcessorDeps } from './service/process-message.js';

export type Handler = (event: SQSEvent, context: Context | RemainingTimeContext) => Promise<SQSBatchResponse>;

/** Make a handler over a dependency factory (called once, on first use; retried if it fails). */
export function createHandler(makeDeps: () => Promise<ProcessorDeps>): Handler {
  let deps: Promise<ProcessorDeps> | undefined;
  return async (event, context) => {
    deps ??= makeDeps().catch((err: unknown) => {
      deps = undefined;
      throw err;
    });
    // A configuration problem throws here: the whole batch goes back to the queue, nothing is dropped.
    const ready = await deps;
    const { processBatch } = await import('./service/process-batch.js');
    const { batchItemFailures } = await processBatch(event, context, ready);
    return { batchItemFailures };
  };
}

/** The Lambda handler. */
export const handler: Handler = createHandler(async () => (await import('./service/runtime.js')).buildDeps(process.env));
