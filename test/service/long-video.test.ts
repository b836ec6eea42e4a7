/**
 * A video the Lambda path cannot finish, end to end on the real local stack (fauxqs S3 + SQS,
 * PostgreSQL through the PostgREST stand-in, the real engine and ffmpeg): the Lambda handler
 * routes it to the long-video queue once (also on a redelivery), records ROUTED_TO_WORKER, and
 * `runWorker` on that queue extracts it with the usual claim/complete semantics.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsQueue } from '../../src/adapters/sqs-queue.js';
import { createHandler } from '../../src/lambda.js';
import { simulatedContext } from '../../src/service/local-runtime.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import type { ProcessorDeps } from '../../src/service/process-message.js';
import { buildDeps } from '../../src/service/runtime.js';
import { runWorker, type WorkerMessageResult } from '../../src/service/worker.js';
import { makeCutsVideo } from '../fixtures/videos.js';
import { sqsEvent } from '../helpers/service-fixtures.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

let stack: LocalStack;
let workDir: string;
let clip: string;
let sqs: SQSClient;
let longQueue: SqsQueue;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'frames-long-video-'));
  [stack, clip] = await Promise.all([startLocalStack({ maxReceiveCount: 3 }), makeCutsVideo(workDir, { seconds: 3, width: 160, height: 120, cuts: 2 })]);
  sqs = new SQSClient({ region: stack.region, endpoint: stack.fauxqs.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test-secret-key' } });
  const q = await sqs.send(new CreateQueueCommand({ QueueName: 'frames-long-video' }));
  longQueue = new SqsQueue(sqs, q.QueueUrl!);
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
  await rm(workDir, { recursive: true, force: true });
});

const baseEnv = () => ({ ...stack.env, S3_RETRY_DELAY: '20', SUPABASE_RETRIES: '1', MIN_REMAINING_MS: '0', SAFETY_MARGIN_MS: '0', TMPDIR_FRAMES: path.join(workDir, 'scratch'), LOG_LEVEL: 'SILENT' });

describe('a video past the Lambda budget goes to the Fargate worker', () => {
  it('is forwarded once (also on redelivery), recorded ROUTED_TO_WORKER, then extracted by the worker', async () => {
    // Prepare: at 100 s of processing per video-second the 3 s clip needs 300 s; the invocation has 60 s.
    const lambdaDeps = await buildDeps({ ...baseEnv(), LONG_VIDEO_QUEUE_URL: longQueue.url, ROUTE_MS_PER_VIDEO_SECOND: '100000' }, { fetch: stack.standIn.fetch, metrics: new MemoryMetrics() });
    const handler = createHandler(async () => lambdaDeps as ProcessorDeps);
    await stack.seedVideo('instagram', 'film1');
    await stack.putVideo('instagram', 'film1', clip);
    const body = JSON.stringify({ shortcode: 'film1', platform: 'instagram' });

    // Act 1: the Lambda sees it twice (a redelivery).
    const first = await handler(sqsEvent(body), simulatedContext({ remainingMs: 60_000 }));
    const again = await handler(sqsEvent(body), simulatedContext({ remainingMs: 60_000 }));

    // Assess 1: both done (no retry into the DLQ), one message on the long-video queue, nothing extracted yet.
    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    const forwarded = await longQueue.receive(10, 1, 0);
    expect(forwarded.map((m) => m.body)).toEqual([body]);
    expect(await stack.listFrames('instagram', 'film1')).toEqual([]);
    const routedRow = (await stack.video('instagram', 'film1')) as unknown as Record<string, unknown>;
    expect(routedRow).toMatchObject({ is_extracted: false, extraction_status: 'ROUTED_TO_WORKER' });

    // Act 2: the worker (no long-video queue of its own, hours of budget) takes it.
    const workerDeps = await buildDeps(baseEnv(), { fetch: stack.standIn.fetch, metrics: new MemoryMetrics() });
    const results: WorkerMessageResult[] = [];
    const stats = await runWorker({ queue: longQueue, deps: workerDeps, waitSeconds: 1, visibilityTimeout: 30, concurrency: 1, once: true, onMessage: (r) => results.push(r) });

    // Assess 2: extracted, claim released, the message deleted, frames and the manifest in S3.
    expect(results.map((r) => [r.outcome, r.action])).toEqual([['extracted', 'deleted']]);
    expect(stats).toMatchObject({ received: 1, deleted: 1, leftForRetry: 0 });
    expect(await stack.video('instagram', 'film1')).toMatchObject({ is_extracted: true, extraction_owner: null });
    expect(await stack.listFrames('instagram', 'film1')).toContain('instagram/film1/frames/manifest.json');
    expect(await longQueue.receive(10, 1, 0)).toEqual([]);
  }, 120_000);
});
