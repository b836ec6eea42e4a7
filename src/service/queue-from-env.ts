/** The work queue from SQS_QUEUE_URL / SQS_ENDPOINT / AWS_REGION (CLI enqueue and worker). */
import type { Env } from '../config.js';
import { ValidationError } from '../errors.js';
import { createSqsClient, SqsQueue } from '../adapters/sqs-queue.js';

export function queueFromEnv(env: Env): { queue: SqsQueue; region: string } {
  const url = env.SQS_QUEUE_URL?.trim();
  if (!url) throw new ValidationError('INVALID_CONFIG', 'invalid configuration', ['SQS_QUEUE_URL is required for enqueue/worker']);
  const region = env.AWS_REGION?.trim() || 'us-east-1';
  const endpoint = env.SQS_ENDPOINT?.trim() || undefined;
  return { queue: new SqsQueue(createSqsClient({ region, endpoint }), url), region };
}
