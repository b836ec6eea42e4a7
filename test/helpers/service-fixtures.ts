/** Shared fixtures for service unit tests: SQS events and the job settings the in-memory twins run with. */
import type { SQSEvent } from 'aws-lambda';
import type { ProcessorDeps } from '../../src/service/process-batch.js';

/** An SQS event with one record per body (`m0`, `m1`, ...), as the Lambda event source sends it. */
export function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i}`,
      receiptHandle: `r${i}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
      awsRegion: 'us-east-1',
    })),
  };
}

/** Job settings for tests: fast retries, small concurrency. */
export function testSettings(overrides: Partial<ProcessorDeps['settings']> = {}): ProcessorDeps['settings'] {
  return {
    videosBucket: 'videos',
    framesBucket: 'frames',
    minFrames: 3,
    sceneThreshold: 27,
    extractMode: 'scene',
    frameFormat: 'jpeg',
    frameQuality: 85,
    frameMaxWidth: 0,
    s3Retries: 2,
    s3RetryDelayMs: 1,
    uploadConcurrency: 4,
    claimLeaseSeconds: 60,
    ...overrides,
  };
}
