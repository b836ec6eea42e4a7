/**
 * The Lambda face of {@link processMessage}: an SQS batch in, a partial batch response out. Runs
 * at most `concurrencyLimit` records at once, each with the invocation's deadline (from the
 * context's remaining time) and its receive count as the attempt; records whose outcome is
 * `retry` are reported in `batchItemFailures` (they come back; after maxReceiveCount, the DLQ).
 *
 * @example
 * ```ts
 * const res = await processBatch(event, context, deps); // { batchItemFailures: [{ itemIdentifier: '...' }], outcomes }
 * ```
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processMessage, type MessageOutcome, type ProcessorDeps } from './process-message.js';

export type { BatchSettings, MessageOutcome, ProcessorDeps } from './process-message.js';

/** What a Lambda context must offer (a real Context satisfies it). */
export interface RemainingTimeContext {
  getRemainingTimeInMillis(): number;
  awsRequestId: string;
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

/** Process one SQS batch. Never throws: every record ends up done, recorded, or reported for retry. */
export async function processBatch(event: SQSEvent, context: RemainingTimeContext, deps: ProcessorDeps): Promise<SQSBatchResponse & { outcomes: MessageOutcome[] }> {
  const runBudgetMs = context.getRemainingTimeInMillis();
  const deadline = Date.now() + runBudgetMs;
  const logger = deps.logger.createChild({ persistentKeys: { requestId: context.awsRequestId } });
  const outcomes = await mapWithLimit(event.Records ?? [], deps.batch.concurrencyLimit, (record) =>
    processMessage(
      record.body,
      { messageId: record.messageId, attempt: Math.max(1, Number(record.attributes?.ApproximateReceiveCount) || 1), deadline, runBudgetMs, requestId: context.awsRequestId },
      { ...deps, logger },
    ),
  );
  const failed = outcomes.filter((o) => o.result === 'retry');
  logger.info('batch done', { records: outcomes.length, failed: failed.length, outcomes: outcomes.map((o) => `${o.messageId}:${o.outcome}`) });
  return { batchItemFailures: failed.map((o) => ({ itemIdentifier: o.messageId })), outcomes };
}
