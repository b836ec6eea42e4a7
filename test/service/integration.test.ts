/**
 * Integration tests against real local services started here: fauxqs (S3 + SQS), PostgreSQL with
 * supabase/migrations applied, the real supabase-js client (through the PostgREST stand-in), the
 * real engine and the system ffmpeg. Faults are injected by wrapping real parts, never by mocks.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { registerServiceCommands } from '../../src/cli/service-commands.js';
import os from 'node:os';
import path from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import type { ObjectStore } from '../../src/adapters/object-store.js';
import { createHandler } from '../../src/lambda.js';
import { createLogger } from '../../src/logger.js';
import { sleep } from '../../src/service/deadline.js';
import { ObjectStoreError } from '../../src/service/errors.js';
import type { Engine } from '../../src/service/job.js';
import { pollOnce, simulatedContext } from '../../src/service/local-runtime.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import type { ProcessorDeps } from '../../src/service/process-batch.js';
import { buildDeps, type DepsOverrides } from '../../src/service/runtime.js';
import { toSqsEvent } from '../../src/adapters/sqs-queue.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { faultyFetch } from '../helpers/postgrest-standin.js';
import { makeCorruptVideo, makeCutsVideo } from '../fixtures/videos.js';

let stack: LocalStack;
let workDir: string;
let scratchRoot: string;
let clip: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'frames-it-'));
  scratchRoot = path.join(workDir, 'scratch');
  [stack, clip] = await Promise.all([startLocalStack({ maxReceiveCount: 2, visibilityTimeout: 1 }), makeCutsVideo(workDir, { seconds: 4, width: 320, height: 240 })]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rm(workDir, { recursive: true, force: true });
});

/** Counts engine runs (the real engine underneath). */
async function countingEngine(): Promise<Engine & { runs: number }> {
  const real = (await import('../../src/engine/index.js')) as unknown as Engine;
  const e = {
    runs: 0,
    extractFrames: (p: string, o: Parameters<Engine['extractFrames']>[1]) => {
      e.runs++;
      return real.extractFrames(p, o);
    },
    buildManifest: (r: Parameters<Engine['buildManifest']>[0]) => real.buildManifest(r),
  };
  return e;
}

async function makeDeps(env: Record<string, string> = {}, o: DepsOverrides = {}) {
  const metrics = new MemoryMetrics();
  const engine = await countingEngine();
  const deps = await buildDeps(
    { ...stack.env, S3_RETRY_DELAY: '20', SUPABASE_RETRIES: '1', MIN_REMAINING_MS: '0', SAFETY_MARGIN_MS: '0', TMPDIR_FRAMES: scratchRoot, LOG_LEVEL: 'SILENT', ...env },
    { fetch: stack.standIn.fetch, metrics, engine, ...o },
  );
  return { deps, metrics, engine, handler: createHandler(async () => deps as ProcessorDeps) };
}

let seq = 0;
function sqsEvent(...bodies: string[]): SQSEvent {
  return toSqsEvent(
    bodies.map((body) => ({ messageId: `msg-${++seq}`, receiptHandle: `rh-${seq}`, body, receiveCount: 1, attributes: {} })),
    'arn:aws:sqs:us-east-1:000000000000:frames-extract',
    'us-east-1',
  );
}
const msg = (shortcode: string, platform = 'instagram') => JSON.stringify({ shortcode, platform });

async function scratchLeft(): Promise<string[]> {
  return readdir(scratchRoot).catch(() => []);
}

describe('SQS handler against the local stack', () => {
  it('happy path: frames, manifest and status agree; stale frames of an earlier run are removed', async () => {
    // Prepare
    const { handler, metrics } = await makeDeps();
    await stack.seedVideo('instagram', 'happy1');
    await stack.putVideo('instagram', 'happy1', clip);
    const s3 = stack.s3;
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await s3.send(new PutObjectCommand({ Bucket: stack.framesBucket, Key: 'instagram/happy1/frames/41.jpg', Body: 'stale', ContentType: 'image/jpeg' }));
    // Act
    const res = await handler(sqsEvent(msg('happy1')), simulatedContext());
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const row = await stack.video('instagram', 'happy1');
    const keys = await stack.listFrames('instagram', 'happy1');
    const manifest = JSON.parse((await stack.getObject(stack.framesBucket, 'instagram/happy1/frames/manifest.json')).body.toString()) as {
      frames: { file: string; index: number }[];
      scenes: unknown[];
      frameKeys: string[];
    };
    const frameKeys = keys.filter((k) => !k.endsWith('manifest.json'));
    expect(row).toMatchObject({ is_extracted: true, extraction_owner: null, frames_manifest_key: 'instagram/happy1/frames/manifest.json' });
    expect(row?.frame_count).toBeGreaterThanOrEqual(3);
    expect(frameKeys).toHaveLength(row!.frame_count!);
    expect(manifest.frames).toHaveLength(row!.frame_count!);
    expect([...manifest.frameKeys].sort()).toEqual(frameKeys);
    expect(keys).not.toContain('instagram/happy1/frames/41.jpg');
    expect((await stack.getObject(stack.framesBucket, frameKeys[0]!)).contentType).toBe('image/jpeg');
    expect((await stack.getObject(stack.framesBucket, 'instagram/happy1/frames/manifest.json')).contentType).toBe('application/json');
    expect(metrics.videos[0]).toMatchObject({ outcome: 'extracted', frames: row!.frame_count, platform: 'instagram', shortcode: 'happy1' });
    expect(metrics.videos[0]!.stageMs.total).toBeGreaterThan(0);
    expect(await scratchLeft()).toEqual([]);
  });

  it('not downloaded, already extracted, missing object, corrupt video and malformed messages are permanent', async () => {
    // Prepare
    const { handler, engine } = await makeDeps();
    await stack.seedVideo('instagram', 'notdl', { downloaded: false });
    await stack.seedVideo('instagram', 'done1', { extracted: true, frameCount: 5 });
    await stack.seedVideo('instagram', 'noobj');
    await stack.seedVideo('instagram', 'corrupt1');
    await stack.putVideo('instagram', 'corrupt1', await makeCorruptVideo(workDir));
    const ev = sqsEvent(msg('notdl'), msg('done1'), msg('noobj'), msg('corrupt1'), '{"shortcode":"../../etc/passwd","platform":"instagram"}', 'not json');
    // Act
    const res = await handler(ev, simulatedContext());
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const errs = await stack.errors();
    const byMsg = new Map(errs.map((e) => [e.message_id, e]));
    const ids = ev.Records.map((r) => r.messageId);
    expect(byMsg.get(ids[0]!)).toMatchObject({ stage: 'claim', error_code: 'NOT_DOWNLOADED', retryable: false, attempt: 1 });
    expect(byMsg.has(ids[1]!)).toBe(false);
    expect(byMsg.get(ids[2]!)).toMatchObject({ stage: 'download', error_code: 'VIDEO_NOT_FOUND', retryable: false });
    expect(byMsg.get(ids[3]!)).toMatchObject({ stage: 'extract', retryable: false });
    expect(byMsg.get(ids[4]!)).toMatchObject({ stage: 'message', error_code: 'INVALID_MESSAGE', retryable: false, shortcode: null });
    expect(byMsg.get(ids[5]!)).toMatchObject({ stage: 'message', error_code: 'INVALID_MESSAGE' });
    expect(await stack.listFrames('instagram', 'done1')).toEqual([]);
    expect((await stack.video('instagram', 'noobj'))?.extraction_owner).toBeNull();
    expect((await stack.video('instagram', 'corrupt1'))).toMatchObject({ is_extracted: false, extraction_owner: null });
    expect(engine.runs).toBe(1);
    expect(await scratchLeft()).toEqual([]);
  });

  it('two concurrent deliveries of one message lead to exactly one extraction', async () => {
    // Prepare
    const a = await makeDeps();
    const b = await makeDeps();
    await stack.seedVideo('tiktok', 'dup1');
    await stack.putVideo('tiktok', 'dup1', clip);
    const ev = sqsEvent(msg('dup1', 'tiktok'));
    // Act
    const [ra, rb] = await Promise.all([a.handler(ev, simulatedContext()), b.handler(ev, simulatedContext())]);
    const again = await a.handler(ev, simulatedContext());
    // Assess
    expect(a.engine.runs + b.engine.runs).toBe(1);
    expect(ra.batchItemFailures.length + rb.batchItemFailures.length).toBeLessThanOrEqual(1);
    expect(again.batchItemFailures).toEqual([]);
    expect((await stack.video('tiktok', 'dup1'))?.is_extracted).toBe(true);
    expect(a.engine.runs + b.engine.runs).toBe(1);
  });

  it('a claim left by a crashed run expires', async () => {
    // Prepare: a "crashed" owner holds a lease that has since run out.
    const { handler } = await makeDeps();
    await stack.seedVideo('tiktok', 'crash1');
    await stack.putVideo('tiktok', 'crash1', clip);
    await stack.db.query(`update public.videos set extraction_owner = 'crashed-run', extraction_lease_until = now() + interval '1 hour' where shortcode = 'crash1'`);
    const locked = await handler(sqsEvent(msg('crash1', 'tiktok')), simulatedContext());
    await stack.db.query(`update public.videos set extraction_lease_until = now() - interval '1 second' where shortcode = 'crash1'`);
    // Act
    const res = await handler(sqsEvent(msg('crash1', 'tiktok')), simulatedContext());
    // Assess
    expect(locked.batchItemFailures).toHaveLength(1);
    expect(res.batchItemFailures).toEqual([]);
    expect((await stack.video('tiktok', 'crash1'))?.is_extracted).toBe(true);
  });

  it('S3 upload failures recover through retries', async () => {
    // Prepare: the real S3 store, wrapped so the first 4 puts fail like S3 500s.
    let puts = 0;
    let failed = 0;
    const wrapObjects = (inner: ObjectStore): ObjectStore => ({
      head: (...a) => inner.head(...a),
      download: (...a) => inner.download(...a),
      list: (...a) => inner.list(...a),
      deleteMany: (...a) => inner.deleteMany(...a),
      put: async (...a) => {
        puts++;
        if (failed < 4) {
          failed++;
          throw new ObjectStoreError('S3 put: InternalError (HTTP 500)', 500);
        }
        return inner.put(...a);
      },
    });
    const { handler } = await makeDeps({ S3_RETRIES: '4' }, { wrapObjects });
    await stack.seedVideo('instagram', 'flaky1');
    await stack.putVideo('instagram', 'flaky1', clip);
    // Act
    const res = await handler(sqsEvent(msg('flaky1')), simulatedContext());
    // Assess
    const row = await stack.video('instagram', 'flaky1');
    expect(res.batchItemFailures).toEqual([]);
    expect(row?.is_extracted).toBe(true);
    expect(puts).toBe(row!.frame_count! + 1 + 4);
    expect((await stack.listFrames('instagram', 'flaky1')).length).toBe(row!.frame_count! + 1);
  });

  it('a Supabase outage is transient: the record comes back, nothing is lost', async () => {
    // Prepare
    let down = true;
    const fetch = faultyFetch(stack.standIn.fetch, { isDown: () => down });
    const { handler, engine } = await makeDeps({}, { fetch });
    await stack.seedVideo('instagram', 'sbdown');
    await stack.putVideo('instagram', 'sbdown', clip);
    const ev = sqsEvent(msg('sbdown'));
    // Act
    const during = await handler(ev, simulatedContext());
    down = false;
    const after = await handler(ev, simulatedContext());
    // Assess
    expect(during.batchItemFailures).toEqual([{ itemIdentifier: ev.Records[0]!.messageId }]);
    expect(fetch.failures).toBeGreaterThanOrEqual(2);
    expect(engine.runs).toBe(1);
    expect(after.batchItemFailures).toEqual([]);
    expect((await stack.video('instagram', 'sbdown'))?.is_extracted).toBe(true);
  });

  it('deadline: work in flight is aborted before the Lambda would be killed, the claim released, the record given back', async () => {
    // Prepare: uploads are slow (real S3 behind a 3 s delay); the context has 2.5 s, the margin is 1.5 s.
    const wrapObjects = (inner: ObjectStore): ObjectStore => ({
      head: (...a) => inner.head(...a),
      download: (...a) => inner.download(...a),
      list: (...a) => inner.list(...a),
      deleteMany: (...a) => inner.deleteMany(...a),
      put: async (bucket, key, body, ct, signal) => {
        await sleep(3000, signal);
        return inner.put(bucket, key, body, ct, signal);
      },
    });
    // A routing rate at which the clip fits the run, so it is attempted (not routed as too long) and aborted.
    const { handler, engine } = await makeDeps({ MIN_REMAINING_MS: '500', SAFETY_MARGIN_MS: '1500', CONCURRENCY_LIMIT: '1', ROUTE_MS_PER_VIDEO_SECOND: '1' }, { wrapObjects });
    await stack.seedVideo('instagram', 'late1');
    await stack.seedVideo('instagram', 'late2');
    await stack.putVideo('instagram', 'late1', clip);
    const ev = sqsEvent(msg('late1'), msg('late2'));
    // Act
    const t0 = Date.now();
    const res = await handler(ev, simulatedContext({ remainingMs: 2500 }));
    const elapsed = Date.now() - t0;
    // Assess
    expect(elapsed).toBeLessThan(2500);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(ev.Records.map((r) => r.messageId).sort());
    expect(await stack.video('instagram', 'late1')).toMatchObject({ is_extracted: false, extraction_owner: null });
    const errs = (await stack.errors('instagram', 'late1')).concat(await stack.errors('instagram', 'late2'));
    expect(errs.map((e) => `${e.shortcode}:${e.error_code}:${e.retryable}`).sort()).toEqual(['late1:DEADLINE:true', 'late2:DEADLINE:true']);
    expect(engine.runs).toBe(1);
    expect(await scratchLeft()).toEqual([]);
  });

  it('a transient failure that never recovers ends in the DLQ with error rows (maxReceiveCount 2)', async () => {
    // Prepare: S3 puts always fail; the real handler runs through the local queue poller.
    const wrapObjects = (inner: ObjectStore): ObjectStore => ({ ...inner, head: inner.head.bind(inner), download: inner.download.bind(inner), list: inner.list.bind(inner), deleteMany: inner.deleteMany.bind(inner), put: async () => { throw new ObjectStoreError('S3 put: SlowDown (HTTP 503)', 503); } });
    const { handler } = await makeDeps({ S3_RETRIES: '1' }, { wrapObjects });
    await stack.seedVideo('instagram', 'dlq1');
    await stack.putVideo('instagram', 'dlq1', clip);
    const id = await stack.queue.send(msg('dlq1'));
    // Act
    for (let i = 0; i < 4; i++) {
      await pollOnce(stack.queue, handler, { region: stack.region });
      await sleep(1100);
    }
    const dead = await stack.dlq.receive(10);
    // Assess
    expect(dead.map((m) => m.messageId)).toContain(id);
    const errs = await stack.errors('instagram', 'dlq1');
    expect(errs.map((e) => `${e.stage}:${e.attempt}:${e.retryable}:${e.final}`)).toEqual(['upload:1:true:false', 'upload:2:true:true']);
    expect((await stack.video('instagram', 'dlq1'))?.extraction_owner).toBeNull();
  });

  it('`frames invoke` runs the real handler in-process with a simulated context', async () => {
    // Prepare: the real exported handler, configured from process.env, talking to the stack over HTTP.
    await stack.seedVideo('instagram', 'invoke1');
    await stack.putVideo('instagram', 'invoke1', clip);
    const eventFile = path.join(workDir, 'event.json');
    await writeFile(eventFile, JSON.stringify(sqsEvent(msg('invoke1'))));
    const saved = { ...process.env };
    Object.assign(process.env, stack.env, { LOG_LEVEL: 'SILENT', MIN_REMAINING_MS: '1000', TMPDIR_FRAMES: scratchRoot });
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((c: string | Uint8Array) => (out.push(String(c)), true)) as typeof process.stdout.write;
    try {
      const program = registerServiceCommands(new Command('frames').exitOverride());
      // Act
      await program.parseAsync(['node', 'frames', 'invoke', '--event', eventFile, '--remaining-ms', '120000']);
    } finally {
      process.stdout.write = write;
      process.env = saved;
    }
    // Assess
    const printed = JSON.parse(out.join('').slice(out.join('').indexOf('{\n'))) as { batchItemFailures: unknown[]; records: number };
    expect(printed).toMatchObject({ batchItemFailures: [], records: 1 });
    expect((await stack.video('instagram', 'invoke1'))?.is_extracted).toBe(true);
  });

  it('no secret appears in any log line, and record lines carry messageId, shortcode and platform', async () => {
    // Prepare: debug logs on, a failing Supabase whose error echoes the key back.
    const key = stack.env.SUPABASE_KEY!;
    const leaky = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).includes('claim_video')) throw new TypeError(`fetch failed for apikey=${key}`);
      return stack.standIn.fetch(input, init);
    }) as typeof fetch;
    const lines: string[] = [];
    const streams = [process.stdout, process.stderr];
    const originals = streams.map((s) => s.write);
    for (const s of streams) s.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof s.write;
    try {
      const env = { ...stack.env, DEBUG: 'true', LOG_LEVEL: '', S3_RETRY_DELAY: '10', SUPABASE_RETRIES: '0', MIN_REMAINING_MS: '0', SAFETY_MARGIN_MS: '0' };
      const deps = await buildDeps(env, { fetch: leaky, metrics: new MemoryMetrics(), engine: await countingEngine() });
      await stack.seedVideo('instagram', 'secret1');
      // Act
      await createHandler(async () => deps)(sqsEvent(msg('secret1')), simulatedContext());
    } finally {
      streams.forEach((s, i) => (s.write = originals[i]!));
    }
    // Assess
    const all = lines.join('').split('\n').filter(Boolean);
    expect(all.length).toBeGreaterThan(2);
    for (const l of all) expect(l).not.toContain(key);
    const recordLines = all.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.messageId);
    expect(recordLines.length).toBeGreaterThan(0);
    for (const l of recordLines) expect(l).toMatchObject({ shortcode: 'secret1', platform: 'instagram' });
    const rows = await stack.errors('instagram', 'secret1');
    expect(rows.length).toBe(1);
    expect(rows[0]!.message).not.toContain(key);
    expect(createLogger).toBeDefined();
  });
});
