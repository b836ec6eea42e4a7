/**
 * Running the real handler without AWS: a simulated Lambda `Context` whose remaining time counts
 * down, and a queue poller that feeds received messages to the handler as an `SQSEvent` and
 * deletes what succeeded (what the Lambda event source mapping does with ReportBatchItemFailures).
 *
 * @example
 * ```ts
 * const ctx = simulatedContext({ remainingMs: 900_000 });
 * const res = await handler(event, ctx);
 * await pollOnce(queue, handler, { region: 'us-east-1' });
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Queue } from '../adapters/queue.js';
import { queueArnFromUrl, toSqsEvent } from '../adapters/sqs-queue.js';

export interface SimulatedContextOptions {
  /** Time the "Lambda" has left at creation (default 900 000 ms, Lambda's maximum). */
  remainingMs?: number;
  functionName?: string;
  memoryLimitMB?: number;
  /** Clock (tests). */
  now?: () => number;
}

export function simulatedContext(o: SimulatedContextOptions = {}): Context {
  const now = o.now ?? Date.now;
  const deadline = now() + (o.remainingMs ?? 900_000);
  const functionName = o.functionName ?? 'frames-local';
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: String(o.memoryLimitMB ?? 2048),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface PollResult {
  received: number;
  deleted: string[];
  failed: string[];
}

/** Receive one batch, run the handler on it, delete the successes. Failures stay for redelivery (and the DLQ). */
export async function pollOnce(
  queue: Queue,
  handler: SqsHandler,
  o: { region: string; maxMessages?: number; waitSeconds?: number; visibilityTimeout?: number; remainingMs?: number },
): Promise<PollResult> {
  const msgs = await queue.receive(o.maxMessages ?? 10, o.waitSeconds ?? 0, o.visibilityTimeout);
  if (msgs.length === 0) return { received: 0, deleted: [], failed: [] };
  const event = toSqsEvent(msgs, queueArnFromUrl(queue.url, o.region), o.region);
  let failedIds: Set<string>;
  try {
    const res = await handler(event, simulatedContext({ remainingMs: o.remainingMs ?? 900_000 }));
    failedIds = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
  } catch {
    // The whole invocation failed: Lambda would give every message back.
    failedIds = new Set(msgs.map((m) => m.messageId));
  }
  const deleted: string[] = [];
  for (const m of msgs) {
    if (failedIds.has(m.messageId)) continue;
    await queue.delete(m.receiptHandle);
    deleted.push(m.messageId);
  }
  return { received: msgs.length, deleted, failed: [...failedIds] };
}
