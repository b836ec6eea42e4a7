/**
 * Malformed and hostile SQS bodies through the Lambda handler against the local stack (fauxqs S3,
 * PostgreSQL via the PostgREST stand-in, the real engine). Each row of the table is one body and its
 * documented outcome (README, "Failure semantics"): the failure is PERMANENT, recorded once in
 * extraction_errors with the expected stage and code, NOT returned in batchItemFailures (so SQS
 * deletes it), and nothing is written to S3 or to the videos table. A few bodies that look odd but
 * are valid are in the table too, with their outcome (an unknown video).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { toSqsEvent } from '../../src/adapters/sqs-queue.js';
import { createHandler } from '../../src/lambda.js';
import { simulatedContext } from '../../src/service/local-runtime.js';
import { MAX_BODY_BYTES } from '../../src/service/message.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import type { ProcessorDeps } from '../../src/service/process-batch.js';
import { buildDeps } from '../../src/service/runtime.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

let stack: LocalStack;
let workDir: string;
let handler: ReturnType<typeof createHandler>;
let metrics: MemoryMetrics;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'frames-hostile-msg-'));
  stack = await startLocalStack();
  metrics = new MemoryMetrics();
  const deps = await buildDeps(
    { ...stack.env, LOG_LEVEL: 'SILENT', MIN_REMAINING_MS: '0', SAFETY_MARGIN_MS: '0', SUPABASE_RETRIES: '0', TMPDIR_FRAMES: path.join(workDir, 'scratch') },
    { fetch: stack.standIn.fetch, metrics },
  );
  handler = createHandler(async () => deps as ProcessorDeps);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rm(workDir, { recursive: true, force: true });
});

const j = (o: unknown) => JSON.stringify(o);
const ok = (shortcode: string, platform = 'instagram') => j({ shortcode, platform });

interface Row {
  name: string;
  body: string;
  /** Documented outcome: always permanent (recorded, not retried). */
  code: 'INVALID_MESSAGE' | 'UNKNOWN_VIDEO';
  stage: 'message' | 'claim';
  /** Substring of the recorded error message. */
  says?: string;
}

const INVALID = (name: string, body: string, says?: string): Row => ({ name, body, code: 'INVALID_MESSAGE', stage: 'message', ...(says ? { says } : {}) });
const UNKNOWN = (name: string, body: string): Row => ({ name, body, code: 'UNKNOWN_VIDEO', stage: 'claim' });

const TABLE: Row[] = [
  // Not JSON / not an object
  INVALID('not JSON', 'not json', 'not JSON'),
  INVALID('empty body', '', 'empty'),
  INVALID('whitespace body', '  \n\t ', 'empty'),
  INVALID('truncated JSON', '{"shortcode":"abc","platform":"instagram"', 'not JSON'),
  INVALID('single-quoted pseudo-JSON', "{'shortcode':'abc','platform':'instagram'}", 'not JSON'),
  INVALID('byte-order mark before the JSON', `\uFEFF${ok('abc')}`, 'not JSON'),
  INVALID('JSON array', '[{"shortcode":"abc","platform":"instagram"}]', 'JSON object'),
  INVALID('JSON null', 'null', 'JSON object'),
  INVALID('JSON number', '42', 'JSON object'),
  INVALID('JSON string', '"instagram/abc"', 'JSON object'),
  INVALID('JSON true', 'true', 'JSON object'),
  // Missing fields / wrong types
  INVALID('empty object', '{}', 'shortcode'),
  INVALID('missing platform', j({ shortcode: 'abc' }), 'platform'),
  INVALID('missing shortcode', j({ platform: 'instagram' }), 'shortcode'),
  INVALID('shortcode is a number', j({ shortcode: 123, platform: 'instagram' }), 'shortcode must be a string'),
  INVALID('shortcode is null', j({ shortcode: null, platform: 'instagram' }), 'shortcode'),
  INVALID('shortcode is an object', j({ shortcode: { $ne: '' }, platform: 'instagram' }), 'shortcode'),
  INVALID('platform is an array', j({ shortcode: 'abc', platform: ['instagram'] }), 'platform'),
  INVALID('shortcode is empty', ok(''), 'shortcode'),
  INVALID('shortcode of 65 characters', ok('a'.repeat(65)), 'shortcode'),
  INVALID('minFrames is a string', j({ shortcode: 'abc', platform: 'instagram', minFrames: '5' }), 'minFrames'),
  INVALID('minFrames out of range', j({ shortcode: 'abc', platform: 'instagram', minFrames: 100_000 }), 'minFrames'),
  INVALID('sceneThreshold negative', j({ shortcode: 'abc', platform: 'instagram', sceneThreshold: -1 }), 'sceneThreshold'),
  INVALID('__proto__ instead of fields', '{"__proto__":{"shortcode":"abc","platform":"instagram"}}', 'shortcode'),
  // Size
  INVALID('256 KB body', j({ shortcode: 'abc', platform: 'instagram', pad: 'x'.repeat(256 * 1024 - 60) }), `larger than ${MAX_BODY_BYTES} bytes`),
  INVALID('one byte over the size limit', j({ shortcode: 'abc', platform: 'instagram', pad: 'x'.repeat(MAX_BODY_BYTES - 44) }), `larger than ${MAX_BODY_BYTES} bytes`),
  // Path traversal and key injection
  INVALID('path traversal in shortcode', ok('../../etc/passwd'), 'shortcode'),
  INVALID('slash in shortcode', ok('abc/def'), 'shortcode'),
  INVALID('shortcode ".."', ok('..'), 'shortcode'),
  INVALID('path traversal in platform', ok('abc', '../videos'), 'platform'),
  INVALID('URL-encoded traversal', ok('abc%2F..%2Fx'), 'shortcode'),
  INVALID('backslash traversal', ok('..\\..\\windows'), 'shortcode'),
  INVALID('file URL as shortcode', ok('file:///etc/passwd'), 'shortcode'),
  INVALID('leading dot (hidden name)', ok('.hidden'), 'shortcode'),
  INVALID('leading dash (option-like)', ok('-i'), 'shortcode'),
  // Unicode look-alikes and control characters
  INVALID('Cyrillic look-alike letter', ok('\u0430bc'), 'shortcode'),
  INVALID('full-width letters', ok('\uff21\uff22\uff23'), 'shortcode'),
  INVALID('zero-width space', ok('abc\u200b'), 'shortcode'),
  INVALID('right-to-left override', ok('abc\u202egpj'), 'shortcode'),
  INVALID('NUL character', ok('abc\u0000'), 'shortcode'),
  INVALID('newline (log injection)', ok('abc\n{"level":"ERROR"}'), 'shortcode'),
  INVALID('tab', ok('ab\tc'), 'shortcode'),
  INVALID('platform in upper case', ok('abc', 'Instagram'), 'platform'),
  INVALID('platform with a space', ok('abc', 'insta gram'), 'platform'),
  // Envelopes: the queue must get raw bodies (SNS raw message delivery on)
  INVALID(
    'SNS envelope',
    j({ Type: 'Notification', MessageId: 'b1c2', TopicArn: 'arn:aws:sns:us-east-1:000000000000:videos', Message: ok('abc'), Timestamp: '2025-01-01T00:00:00.000Z' }),
    'shortcode',
  ),
  INVALID('EventBridge envelope', j({ version: '0', 'detail-type': 'VideoDownloaded', source: 'downloader', detail: { shortcode: 'abc', platform: 'instagram' } }), 'shortcode'),
  INVALID('last duplicate key wins: the hostile value', '{"shortcode":"abc","shortcode":"../x","platform":"instagram"}', 'shortcode'),
  // Odd but valid: accepted, then a permanent UNKNOWN_VIDEO (no such row)
  UNKNOWN('last duplicate key wins: a valid value', '{"shortcode":"../x","shortcode":"dupkey1","platform":"instagram"}'),
  UNKNOWN('unknown extra fields are ignored', j({ shortcode: 'extra1', platform: 'instagram', bucket: '../../other', key: '/etc/passwd' })),
  UNKNOWN('shortcode of exactly 64 characters', ok('b'.repeat(64))),
];

let seq = 0;
describe('malformed and hostile messages', () => {
  it('the table has at least 30 malformed bodies', () => {
    expect(TABLE.filter((r) => r.code === 'INVALID_MESSAGE').length).toBeGreaterThanOrEqual(30);
  });

  it.each(TABLE.map((r) => [r.name, r] as const))('%s -> permanent, recorded, not retried, nothing written', async (_name, row) => {
    // Prepare
    const messageId = `hostile-${++seq}`;
    const event = toSqsEvent([{ messageId, receiptHandle: `rh-${seq}`, body: row.body, receiveCount: 1, attributes: {} }], 'arn:aws:sqs:us-east-1:000000000000:frames-extract', 'us-east-1');
    const videosBefore = (await stack.db.query<{ n: string }>('select count(*) as n from public.videos')).rows[0]!.n;
    // Act
    const res = await handler(event, simulatedContext());
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const errs = (await stack.db.query<{ stage: string; error_code: string; retryable: boolean; final: boolean; message: string; shortcode: string | null; platform: string | null }>(
      'select * from public.extraction_errors where message_id = $1',
      [messageId],
    )).rows;
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ stage: row.stage, error_code: row.code, retryable: false, final: false });
    if (row.says) expect(errs[0]!.message).toContain(row.says);
    expect(errs[0]!.message.length).toBeLessThanOrEqual(2000);
    // Only values that pass the strict patterns ever reach the shortcode/platform columns.
    for (const v of [errs[0]!.shortcode, errs[0]!.platform]) if (v !== null) expect(v).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);
    expect((await stack.db.query<{ n: string }>('select count(*) as n from public.videos')).rows[0]!.n).toBe(videosBefore);
    expect(metrics.videos.find((v) => v.messageId === messageId)?.outcome).toBe('permanent_failure');
  });

  it('nothing at all was written to S3 and no scratch directory was left', async () => {
    // Prepare / Act: the table above ran. Assess
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.framesBucket }));
    expect(listed.Contents ?? []).toEqual([]);
    expect(await readdir(path.join(workDir, 'scratch')).catch(() => [])).toEqual([]);
  });

  it('a batch mixing all of them with a valid unknown video reports no failures (all permanent)', async () => {
    // Prepare
    const bodies = TABLE.map((r) => r.body);
    const event = toSqsEvent(
      bodies.map((body, i) => ({ messageId: `mix-${i}`, receiptHandle: `rh-mix-${i}`, body, receiveCount: 1, attributes: {} })),
      'arn:aws:sqs:us-east-1:000000000000:frames-extract',
      'us-east-1',
    );
    // Act
    const res = await handler(event, simulatedContext());
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const n = (await stack.db.query<{ n: string }>("select count(*) as n from public.extraction_errors where message_id like 'mix-%' and not retryable")).rows[0]!.n;
    expect(Number(n)).toBe(bodies.length);
  });
});
