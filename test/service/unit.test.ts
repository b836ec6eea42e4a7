/**
 * Unit tests of the service pieces with in-memory twins (fast). The integration proof with real
 * S3/SQS (fauxqs), Postgres, supabase-js and ffmpeg is in integration.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger, REDACTED } from '../../src/logger.js';
import { DeadlineGuard } from '../../src/service/deadline.js';
import { parseMessage, InvalidMessageError } from '../../src/service/message.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import { processBatch, type ProcessorDeps } from '../../src/service/process-batch.js';
import { processMessage } from '../../src/service/process-message.js';
import { JOB_STAGES, runJob, type JobStage, type JobStats } from '../../src/service/job.js';
import { runStages } from '../../src/service/stages.js';
import { StageFailure } from '../../src/service/errors.js';
import { simulatedContext } from '../../src/service/local-runtime.js';
import { DeadlineError, InvalidVideoError, isRetryable } from '../../src/errors.js';
import { ClaimLockedError, NotDownloadedError, ObjectStoreError, StatusStoreError } from '../../src/service/errors.js';
import { MemoryObjectStore, MemoryStatusStore, ScriptedEngine } from '../helpers/memory.js';
import { sqsEvent, testSettings } from '../helpers/service-fixtures.js';

const BASE_ENV = { S3_BUCKET_VIDEOS: 'videos', SUPABASE_URL: 'http://localhost:54321', SUPABASE_KEY: 'service-role-secret-123' };

/** Capture everything written to stdout and stderr (Powertools writes errors to stderr). */
function captureOutput(): { lines: () => string[]; restore: () => void } {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  const chunks: string[] = [];
  for (const s of streams) {
    s.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push((typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()).replace(/\n?$/, '\n'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof s.write;
  }
  return {
    lines: () => chunks.join('').split('\n').filter(Boolean),
    restore: () => streams.forEach((s, i) => (s.write = originals[i]!)),
  };
}

const event = sqsEvent;

function deps(o: { engine?: ScriptedEngine; objects?: MemoryObjectStore; status?: MemoryStatusStore; concurrency?: number; minRemainingMs?: number; safetyMarginMs?: number } = {}) {
  const objects = o.objects ?? new MemoryObjectStore();
  const status = o.status ?? new MemoryStatusStore();
  const metrics = new MemoryMetrics();
  const d: ProcessorDeps = {
    objects,
    status,
    engine: o.engine ?? new ScriptedEngine(),
    metrics,
    logger: createLogger({ level: 'SILENT' }),
    settings: testSettings(),
    batch: { concurrencyLimit: o.concurrency ?? 2, minRemainingMs: o.minRemainingMs ?? 0, safetyMarginMs: o.safetyMarginMs ?? 0, maxReceiveCount: 3 },
  };
  return { d, objects, status, metrics };
}

const body = (shortcode: string, platform = 'instagram') => JSON.stringify({ shortcode, platform });

describe('config', () => {
  it('lists every bad variable in one error', () => {
    // Prepare
    const env = { SUPABASE_KEY: 'k', CONCURRENCY_LIMIT: 'many', S3_RETRIES: '-1', DEBUG: 'maybe', SUPABASE_URL: 'not a url' };
    // Act
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    // Assess
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues.join('\n');
    for (const name of ['S3_BUCKET_VIDEOS', 'SUPABASE_URL', 'CONCURRENCY_LIMIT', 'S3_RETRIES', 'DEBUG']) expect(issues).toContain(name);
    expect(isRetryable(err)).toBe(false);
  });

  it('applies the documented defaults', () => {
    const c = loadConfig(BASE_ENV);
    expect(c).toMatchObject({ framesBucket: 'videos', minFrames: 3, sceneThreshold: 27, concurrencyLimit: 2, minRemainingMs: 60000, s3Retries: 3, s3RetryDelayMs: 1000, debug: false, logLevel: 'INFO' });
    expect(loadConfig({ ...BASE_ENV, DEBUG: 'true' }).logLevel).toBe('DEBUG');
  });
});

describe('message', () => {
  it('accepts a valid body', () => {
    expect(parseMessage(body('C8xYz_1-a'))).toEqual({ shortcode: 'C8xYz_1-a', platform: 'instagram', overrides: {} });
  });

  it.each([
    ['not json', 'nope'],
    ['array', '[]'],
    ['missing platform', '{"shortcode":"abc"}'],
    ['traversal shortcode', body('../etc')],
    ['slash', body('a/b')],
    ['dotdot platform', body('abc', '..')],
    ['control char', body('ab\u0000c')],
    ['unicode look-alike', body('ab\u2215c')],
    ['too long', body('a'.repeat(65))],
    ['upper-case platform', body('abc', 'Instagram')],
    ['number shortcode', '{"shortcode":12,"platform":"x"}'],
  ])('rejects %s', (_name, raw) => {
    expect(() => parseMessage(raw)).toThrow(InvalidMessageError);
  });
});

describe('deadline guard', () => {
  it('refuses to start below MIN_REMAINING_MS and fires before the end', async () => {
    // Prepare
    // Fires ~400 ms in with ~600 ms left: the > 100 ms check below leaves 500 ms for a late timer on a loaded runner.
    const ctx = simulatedContext({ remainingMs: 1000 });
    // Act
    const guard = new DeadlineGuard(() => ctx.getRemainingTimeInMillis(), { minRemainingMs: 200, safetyMarginMs: 600 });
    const before = guard.canStart();
    await new Promise((r) => guard.signal.addEventListener('abort', r));
    // Assess
    expect(before).toBe(true);
    expect(guard.canStart()).toBe(false);
    expect(ctx.getRemainingTimeInMillis()).toBeGreaterThan(100);
    expect(() => guard.assertCanStart()).toThrow(/MIN_REMAINING_MS/);
    guard.dispose();
  });
});

describe('logger redaction', () => {
  it('never prints a secret', () => {
    // Prepare
    const secret = 'sb-service-role-very-secret-value';
    const cap = captureOutput();
    try {
      const log = createLogger({ level: 'DEBUG', secrets: [secret] });
      // Act
      log.info(`connecting with ${secret}`);
      log.debug('headers', { apikey: secret, Authorization: `Bearer ${secret}`, nested: { supabaseKey: secret, note: `k=${secret}` } });
      log.error('failed', new Error(`request failed: apikey=${secret}`));
      log.createChild({ persistentKeys: { messageId: 'm1' } }).warn('child', { token: 'abc', value: `x${secret}x` });
    } finally {
      cap.restore();
    }
    // Assess
    const lines = cap.lines();
    expect(lines.length).toBe(4);
    for (const l of lines) {
      expect(l).not.toContain(secret);
      expect(() => JSON.parse(l)).not.toThrow();
    }
    expect(lines.join('\n')).toContain(REDACTED);
  });
});

describe('processBatch (in-memory twins)', () => {
  it('extracts, uploads frames then manifest, and removes stale frames', async () => {
    // Prepare
    const { d, objects, status } = deps();
    status.seed('instagram', 'abc');
    objects.objects.set('videos/instagram/abc/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
    objects.objects.set('frames/instagram/abc/frames/7.jpg', { body: Buffer.from('old'), contentType: 'image/jpeg' });
    // Act
    const res = await processBatch(event(body('abc')), simulatedContext(), d);
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    const keys = [...objects.objects.keys()].filter((k) => k.startsWith('frames/')).sort();
    expect(keys).toEqual(['frames/instagram/abc/frames/0.jpg', 'frames/instagram/abc/frames/1.jpg', 'frames/instagram/abc/frames/2.jpg', 'frames/instagram/abc/frames/manifest.json']);
    expect(objects.objects.get('frames/instagram/abc/frames/manifest.json')?.contentType).toBe('application/json');
    expect(status.rows.get('instagram/abc')).toMatchObject({ extracted: true, frameCount: 3, owner: null });
  });

  it('runs at most CONCURRENCY_LIMIT videos at once', async () => {
    // Prepare
    const engine = new ScriptedEngine({ frames: 2, delayMs: 20 });
    const { d, objects, status } = deps({ engine, concurrency: 2 });
    const codes = ['a1', 'a2', 'a3', 'a4', 'a5'];
    for (const c of codes) {
      status.seed('tiktok', c);
      objects.objects.set(`videos/tiktok/${c}/video.mp4`, { body: Buffer.from('v'), contentType: 'video/mp4' });
    }
    // Act
    const res = await processBatch(event(...codes.map((c) => body(c, 'tiktok'))), simulatedContext(), d);
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(engine.runs).toBe(5);
    expect(engine.maxRunning).toBe(2);
  });

  it('reports only transient failures; records every failure', async () => {
    // Prepare
    const { d, objects, status } = deps({ engine: new ScriptedEngine({ fail: new InvalidVideoError('UNREADABLE_MEDIA', 'corrupt') }) });
    status.seed('instagram', 'corrupt');
    status.seed('instagram', 'notdl', false);
    status.seed('instagram', 'nofile');
    objects.objects.set('videos/instagram/corrupt/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
    const flaky = new MemoryStatusStore();
    Object.assign(d, { status: Object.assign(Object.create(status) as MemoryStatusStore, { claim: async () => { throw new StatusStoreError('down', 503); }, recordError: status.recordError.bind(status) }) });
    const ev = event(body('corrupt'), body('notdl'), body('nofile'), 'garbage', body('../x'));
    // Act: the status store is down for claims only in the first run
    const down = await processBatch(ev, simulatedContext(), d);
    Object.assign(d, { status });
    const up = await processBatch(ev, simulatedContext(), d);
    // Assess
    expect(flaky.errors).toEqual([]);
    expect(down.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m0', 'm1', 'm2']);
    expect(up.batchItemFailures).toEqual([]);
    const codes = status.errors.slice(-5).map((e) => `${e.stage}:${e.code}:${e.retryable}`).sort();
    expect(codes).toEqual(['claim:NOT_DOWNLOADED:false', 'download:VIDEO_NOT_FOUND:false', 'extract:UNREADABLE_MEDIA:false', 'message:INVALID_MESSAGE:false', 'message:INVALID_MESSAGE:false']);
    expect(status.rows.get('instagram/corrupt')?.owner).toBeNull();
  });

  it('gives back a permanent failure it could not record', async () => {
    const { d, status } = deps();
    d.status = Object.assign(Object.create(status) as MemoryStatusStore, { recordError: async () => { throw new StatusStoreError('down', 503); } });
    const res = await processBatch(event('garbage'), simulatedContext(), d);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
  });

  it('aborts mid-video at the deadline, releases the claim and gives the record back', async () => {
    // Prepare: the engine needs ~2 s; the context has 1.2 s, the safety margin is 0.4 s.
    const engine = new ScriptedEngine({ frames: 20, delayMs: 100 });
    const { d, objects, status, metrics } = deps({ engine, minRemainingMs: 500, safetyMarginMs: 400, concurrency: 1 });
    // A rate at which the scripted 3 s video fits the run, so it is attempted (not routed) and aborted.
    d.routing = { msPerVideoSecond: 1 };
    status.seed('instagram', 'slow');
    status.seed('instagram', 'next');
    objects.objects.set('videos/instagram/slow/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
    // Act
    const t0 = Date.now();
    const res = await processBatch(event(body('slow'), body('next')), simulatedContext({ remainingMs: 1200 }), d);
    // Assess
    expect(Date.now() - t0).toBeLessThan(1200);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m0', 'm1']);
    expect(status.released).toContain('instagram/slow');
    expect(status.rows.get('instagram/slow')).toMatchObject({ extracted: false, owner: null });
    expect(status.errors.map((e) => `${e.stage}:${e.code}`)).toEqual(['extract:DEADLINE', 'deadline:DEADLINE']);
    expect(engine.runs).toBe(1);
    expect(metrics.videos.map((m) => m.outcome)).toEqual(['deadline', 'deadline']);
  });

  it('retries flaky uploads with backoff and cleans the scratch dir', async () => {
    // Prepare
    const objects = new MemoryObjectStore();
    // The first attempt of each of the first three uploads fails once (deterministic whatever the
    // interleaving; S3_RETRIES is 2, so each recovers on its retry).
    const failedOnce = new Set<string>();
    const realPut = objects.put.bind(objects);
    objects.put = async (...args) => {
      const key = args[1];
      if (failedOnce.size < 3 && !failedOnce.has(key)) {
        failedOnce.add(key);
        throw new ObjectStoreError('S3 put: InternalError (HTTP 500)', 500);
      }
      return realPut(...args);
    };
    const { d, status, metrics } = deps({ objects });
    status.seed('instagram', 'flaky');
    objects.objects.set('videos/instagram/flaky/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
    d.settings.tmpDir = await mkdtemp(path.join(os.tmpdir(), 'frames-unit-'));
    // Act
    const res = await processBatch(event(body('flaky')), simulatedContext(), d);
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(status.rows.get('instagram/flaky')?.extracted).toBe(true);
    expect(metrics.videos[0]).toMatchObject({ outcome: 'extracted', frames: 3, scenes: 3 });
    expect(failedOnce.size).toBe(3);
    expect(await readdir(d.settings.tmpDir)).toEqual([]);
    await rm(d.settings.tmpDir, { recursive: true, force: true });
  });

  it('treats a live claim of another delivery as transient', async () => {
    const { d, status, objects } = deps();
    status.seed('instagram', 'busy');
    objects.objects.set('videos/instagram/busy/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
    await status.claim('instagram', 'busy', 'someone-else', 60);
    const res = await processBatch(event(body('busy')), simulatedContext(), d);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(new ClaimLockedError('a', 'b').retryable).toBe(true);
    expect(new NotDownloadedError('a', 'b').retryable).toBe(false);
    expect(existsSync('/nonexistent')).toBe(false);
  });
});

describe('processMessage (the core both faces use)', () => {
  const opts = (o: Partial<Parameters<typeof processMessage>[1]> = {}) => ({ messageId: 'm1', attempt: 1, deadline: Date.now() + 60_000, ...o });

  it('says done, recorded or retry for a body, with no SQS event or Lambda context', async () => {
    // Prepare
    const { d, objects, status } = deps();
    status.seed('instagram', 'good');
    status.seed('instagram', 'notdl', false);
    objects.objects.set('videos/instagram/good/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
    status.seed('instagram', 'busy');
    await status.claim('instagram', 'busy', 'someone-else', 60);
    // Act
    const done = await processMessage(body('good'), opts(), d);
    const recorded = await processMessage(body('notdl'), opts({ messageId: 'm2' }), d);
    const retry = await processMessage(body('busy'), opts({ messageId: 'm3', attempt: 3 }), d);
    // Assess
    expect(done).toEqual({ messageId: 'm1', result: 'done', outcome: 'extracted' });
    expect(recorded).toMatchObject({ messageId: 'm2', result: 'recorded', outcome: 'permanent_failure', stage: 'claim', code: 'NOT_DOWNLOADED' });
    expect(retry).toMatchObject({ messageId: 'm3', result: 'retry', outcome: 'transient_failure', stage: 'claim', code: 'CLAIM_LOCKED' });
    expect(status.errors.map((e) => `${e.messageId}:${e.attempt}:${e.final}`)).toEqual(['m2:1:false', 'm3:3:true']);
  });

  it('does not start with less than minRemainingMs before the deadline', async () => {
    const { d, status, objects } = deps({ minRemainingMs: 5_000 });
    status.seed('instagram', 'late');
    objects.objects.set('videos/instagram/late/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
    const r = await processMessage(body('late'), opts({ deadline: Date.now() + 1_000 }), d);
    expect(r).toMatchObject({ result: 'retry', outcome: 'deadline', stage: 'deadline', code: 'DEADLINE' });
    expect(status.rows.get('instagram/late')).toMatchObject({ owner: null, extracted: false });
  });

  it('stops when its signal fires (worker shutdown): claim released, given back as a deadline', async () => {
    const engine = new ScriptedEngine({ frames: 50, delayMs: 20 });
    const { d, status, objects } = deps({ engine });
    status.seed('instagram', 'stop');
    objects.objects.set('videos/instagram/stop/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new DeadlineError('worker shutting down')), 100);
    const r = await processMessage(body('stop'), opts({ signal: controller.signal }), d);
    expect(r).toMatchObject({ result: 'retry', outcome: 'deadline', stage: 'extract', code: 'DEADLINE', error: 'worker shutting down' });
    expect(status.released).toEqual(['instagram/stop']);
  });
});

describe('job stages', () => {
  it('times every stage of the list and ends at the first stage that returns a result', async () => {
    const seen: string[] = [];
    const step = (name: JobStage['name'], result?: string) => ({ name, run: async () => (seen.push(name), result) });
    const stageMs: Record<string, number | undefined> = {};
    const r = await runStages([step('claim'), step('download', 'stop'), step('extract')], {}, stageMs);
    expect(r).toBe('stop');
    expect(seen).toEqual(['claim', 'download']);
    expect(Object.keys(stageMs)).toEqual(['claim', 'download']);
  });

  it('tags a failure with its stage, and keeps a stage a step names itself', async () => {
    const boom = new Error('boom');
    const fail = (name: JobStage['name'], err: unknown) => ({ name, run: async () => Promise.reject(err) });
    const ok = { name: 'claim' as const, run: async () => undefined };
    await expect(runStages([ok, fail('manifest', boom)], {}, {})).rejects.toEqual(expect.objectContaining({ stage: 'manifest', cause: boom }));
    await expect(runStages([fail('extract', new StageFailure('upload', boom))], {}, {})).rejects.toEqual(expect.objectContaining({ stage: 'upload', cause: boom }));
    await expect(runStages([ok], {}, {})).rejects.toBeInstanceOf(StageFailure);
  });

  it('runJob records each JOB_STAGES time, and a failed stage releases the claim under its name', async () => {
    // Prepare
    const { d, objects, status } = deps();
    status.seed('instagram', 'timed');
    status.seed('instagram', 'nomanifest');
    for (const c of ['timed', 'nomanifest']) objects.objects.set(`videos/instagram/${c}/video.mp4`, { body: Buffer.from('v'), contentType: 'video/mp4' });
    const ctx = (c: string) => ({ messageId: c, owner: `o:${c}`, signal: new AbortController().signal, logger: createLogger({ level: 'SILENT' }) });
    const msg = (c: string) => parseMessage(body(c));
    const stats: JobStats = { stageMs: {} };
    const putManifestFails = JOB_STAGES.map((s) => (s.name === 'manifest' ? { ...s, run: async () => Promise.reject(new ObjectStoreError('S3 put: SlowDown (HTTP 503)', 503)) } : s));
    // Act
    await runJob(msg('timed'), ctx('timed'), d, stats);
    const failure = await runJob(msg('nomanifest'), ctx('nomanifest'), d, { stageMs: {} }, putManifestFails).catch((e: unknown) => e);
    // Assess
    expect(Object.keys(stats.stageMs).sort()).toEqual([...JOB_STAGES.map((s) => s.timing ?? s.name), 'probe', 'analyze', 'total'].sort());
    expect(failure).toBeInstanceOf(StageFailure);
    expect(failure).toMatchObject({ stage: 'manifest', cause: expect.any(ObjectStoreError) });
    expect(status.rows.get('instagram/nomanifest')).toMatchObject({ owner: null, extracted: false });
  });
  it('gives the claim back after a failure even when the first round of release calls fails, and stops after the second', async () => {
    // Prepare: a store whose release fails `failures` times with a transient error (an outage).
    class FlakyRelease extends MemoryStatusStore {
      calls = 0;
      constructor(private failures: number) { super(); }
      override async release(platform: string, shortcode: string, owner: string): Promise<void> {
        this.calls++;
        if (this.failures-- > 0) throw new StatusStoreError('supabase rpc release_video: 503 PGRST001', 503);
        return super.release(platform, shortcode, owner);
      }
    }
    const run = async (failures: number) => {
      const status = new FlakyRelease(failures);
      const { d, objects } = deps({ status });
      status.seed('instagram', 'gone');
      objects.objects.set('videos/instagram/gone/video.mp4', { body: Buffer.from('v'), contentType: 'video/mp4' });
      const failing = JOB_STAGES.map((s) => (s.name === 'manifest' ? { ...s, run: async () => Promise.reject(new ObjectStoreError('S3 put: SlowDown (HTTP 503)', 503)) } : s));
      const ctx = { messageId: 'm', owner: 'o:gone', signal: new AbortController().signal, logger: createLogger({ level: 'SILENT' }) };
      const failure = await runJob(parseMessage(body('gone')), ctx, d, { stageMs: {} }, failing).catch((e: unknown) => e);
      return { status, failure };
    };
    // Act
    const once = await run(1);
    const always = await run(10);
    // Assess: the job's own failure is what is reported either way; one failed round is recovered.
    expect(once.failure).toMatchObject({ stage: 'manifest', cause: expect.any(ObjectStoreError) });
    expect(once.status.calls).toBe(2);
    expect(once.status.rows.get('instagram/gone')).toMatchObject({ owner: null });
    expect(always.failure).toMatchObject({ stage: 'manifest', cause: expect.any(ObjectStoreError) });
    expect(always.status.calls).toBe(2);
    expect(always.status.rows.get('instagram/gone')?.owner).toBe('o:gone');
  });
});
