/**
 * `runWorker` against the real local stack: fauxqs (S3 + SQS with a redrive policy), PostgreSQL
 * through the PostgREST stand-in, the real engine and ffmpeg. SQS calls are counted by a middleware
 * on a real SQSClient; slow or failing S3 is a wrapper around the real object store.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ObjectStore } from '../../src/adapters/object-store.js';
import { SqsQueue } from '../../src/adapters/sqs-queue.js';
import { sleep } from '../../src/service/deadline.js';
import { ObjectStoreError } from '../../src/service/errors.js';
import type { Engine } from '../../src/service/job.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import { buildDeps, type DepsOverrides } from '../../src/service/runtime.js';
import { handleShutdownSignals, runWorker, type WorkerMessageResult, type WorkerOptions } from '../../src/service/worker.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { makeCutsVideo } from '../fixtures/videos.js';

let stack: LocalStack;
let workDir: string;
let clip: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'frames-worker-'));
  [stack, clip] = await Promise.all([startLocalStack({ maxReceiveCount: 2, visibilityTimeout: 1 }), makeCutsVideo(workDir, { seconds: 3, width: 160, height: 120, cuts: 2 })]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rm(workDir, { recursive: true, force: true });
});

/** A real SQSClient on the stack that counts commands by name. */
function countingQueue() {
  const client = new SQSClient({ region: stack.region, endpoint: stack.fauxqs.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test-secret-key' } });
  const counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'commandCounter' },
  );
  return { queue: new SqsQueue(client, stack.queue.url), counts, client };
}

async function makeDeps(env: Record<string, string> = {}, o: DepsOverrides = {}) {
  const real = (await import('../../src/engine/index.js')) as unknown as Engine;
  const engine = {
    runs: 0,
    extractFrames: (p: string, opts: Parameters<Engine['extractFrames']>[1]) => {
      engine.runs++;
      return real.extractFrames(p, opts);
    },
    buildManifest: (r: Parameters<Engine['buildManifest']>[0]) => real.buildManifest(r),
  };
  const deps = await buildDeps(
    { ...stack.env, S3_RETRY_DELAY: '20', SUPABASE_RETRIES: '1', MIN_REMAINING_MS: '0', SAFETY_MARGIN_MS: '0', TMPDIR_FRAMES: path.join(workDir, 'scratch'), LOG_LEVEL: 'SILENT', ...env },
    { fetch: stack.standIn.fetch, metrics: new MemoryMetrics(), engine, ...o },
  );
  return { deps, engine };
}

/** The real store with a delay before every download (a "long" video). */
const slowDownload =
  (ms: number, started?: () => void) =>
  (inner: ObjectStore): ObjectStore => ({
    download: async (bucket, key, dest, signal) => {
      started?.();
      await sleep(ms, signal);
      return inner.download(bucket, key, dest, signal);
    },
    head: (...a) => inner.head(...a),
    put: (...a) => inner.put(...a),
    list: (...a) => inner.list(...a),
    deleteMany: (...a) => inner.deleteMany(...a),
  });

async function queueDepth(url: string): Promise<{ visible: number; inFlight: number }> {
  const r = await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return { visible: Number(r.Attributes?.ApproximateNumberOfMessages), inFlight: Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

const msg = (shortcode: string, platform = 'instagram') => JSON.stringify({ shortcode, platform });

/** Start the worker in the background; results arrive through `results`. */
function startWorker(o: Omit<WorkerOptions, 'signal' | 'onMessage'>) {
  const controller = new AbortController();
  const results: WorkerMessageResult[] = [];
  const done = runWorker({ ...o, signal: controller.signal, onMessage: (r) => results.push(r) });
  return { controller, results, done };
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('frames worker against the local stack', () => {
  it('processes a good video end to end and deletes it; permanent failures are recorded and deleted too', async () => {
    // Prepare
    const { deps, engine } = await makeDeps();
    const { queue, counts, client } = countingQueue();
    await stack.seedVideo('instagram', 'wgood');
    await stack.putVideo('instagram', 'wgood', clip);
    await stack.seedVideo('instagram', 'wnotdl', { downloaded: false });
    const goodId = await stack.queue.send(msg('wgood'));
    const notDlId = await stack.queue.send(msg('wnotdl'));
    const badId = await stack.queue.send('{"shortcode":"../../etc","platform":"instagram"}');
    const results: WorkerMessageResult[] = [];
    // Act
    const stats = await runWorker({ queue, deps, waitSeconds: 1, visibilityTimeout: 10, concurrency: 3, once: true, onMessage: (r) => results.push(r) });
    client.destroy();
    // Assess
    const byId = new Map(results.map((r) => [r.messageId, r]));
    expect(byId.get(goodId)).toMatchObject({ outcome: 'extracted', action: 'deleted', receiveCount: 1 });
    expect(byId.get(notDlId)).toMatchObject({ outcome: 'permanent_failure', action: 'deleted' });
    expect(byId.get(badId)).toMatchObject({ outcome: 'permanent_failure', action: 'deleted' });
    expect(stats).toMatchObject({ received: 3, deleted: 3, leftForRetry: 0, givenBack: 0, abortedInFlight: false });
    expect(counts.DeleteMessageCommand).toBe(3);
    const row = await stack.video('instagram', 'wgood');
    expect(row).toMatchObject({ is_extracted: true, extraction_owner: null });
    const keys = await stack.listFrames('instagram', 'wgood');
    expect(keys).toContain('instagram/wgood/frames/manifest.json');
    expect(keys.length).toBe(row!.frame_count! + 1);
    expect((await stack.errors('instagram', 'wnotdl')).map((e) => `${e.stage}:${e.error_code}:${e.retryable}`)).toEqual(['claim:NOT_DOWNLOADED:false']);
    expect(engine.runs).toBe(1);
    expect(await queueDepth(stack.queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('extends visibility while a slow job runs: ChangeMessageVisibility is called and nobody else receives the message', async () => {
    // Prepare: the download takes 4.5 s; the visibility timeout is 2 s (heartbeat every 1 s).
    let started = false;
    const { deps, engine } = await makeDeps({}, { wrapObjects: slowDownload(4500, () => (started = true)) });
    const { queue, counts, client } = countingQueue();
    await stack.seedVideo('instagram', 'wslow');
    await stack.putVideo('instagram', 'wslow', clip);
    const id = await stack.queue.send(msg('wslow'));
    // Act
    const w = startWorker({ queue, deps, waitSeconds: 1, visibilityTimeout: 2, concurrency: 1 });
    await until(() => started, 10_000, 'the job to start');
    const stolen: string[] = [];
    while (w.results.length === 0) {
      // Another consumer polls the queue the whole time: a redelivery would show up here.
      const got = await stack.queue.receive(10, 0, 30);
      stolen.push(...got.map((m) => m.messageId));
      await sleep(300);
    }
    w.controller.abort();
    const stats = await w.done;
    client.destroy();
    // Assess
    expect(stolen).toEqual([]);
    expect(w.results).toEqual([expect.objectContaining({ messageId: id, outcome: 'extracted', action: 'deleted', receiveCount: 1 })]);
    expect(w.results[0]!.ms).toBeGreaterThan(4000);
    expect(counts.ChangeMessageVisibilityCommand).toBeGreaterThanOrEqual(3);
    expect(stats.heartbeats).toBe(counts.ChangeMessageVisibilityCommand);
    expect(stats.heartbeatErrors).toBe(0);
    expect(engine.runs).toBe(1);
    expect((await stack.video('instagram', 'wslow'))?.is_extracted).toBe(true);
  });

  it('graceful stop on SIGTERM: no new polls, the job in flight finishes and is deleted, the worker resolves', async () => {
    // Prepare
    let started = false;
    const { deps } = await makeDeps({}, { wrapObjects: slowDownload(1500, () => (started = true)) });
    const { queue, counts, client } = countingQueue();
    await stack.seedVideo('instagram', 'wterm');
    await stack.putVideo('instagram', 'wterm', clip);
    await stack.queue.send(msg('wterm'));
    const controller = new AbortController();
    // Jest gives each test file its own `process` object, so the signal is emitted on a stand-in;
    // the CLI test below sends a real SIGTERM to a real `frames worker` process.
    const signals = new EventEmitter();
    const seen: string[] = [];
    const uninstall = handleShutdownSignals(controller, { target: signals, onSignal: (s) => seen.push(s), onSecondSignal: (s) => seen.push(`again:${s}`) });
    const results: WorkerMessageResult[] = [];
    const done = runWorker({ queue, deps, waitSeconds: 2, visibilityTimeout: 10, concurrency: 2, shutdownTimeoutMs: 20_000, signal: controller.signal, onMessage: (r) => results.push(r) });
    await until(() => started, 10_000, 'the job to start');
    // Act
    signals.emit('SIGTERM', 'SIGTERM');
    await until(() => controller.signal.aborted, 2_000, 'the signal handler');
    const receivesAtStop = counts.ReceiveMessageCommand;
    const t0 = Date.now();
    signals.emit('SIGINT', 'SIGINT');
    const stats = await done;
    uninstall();
    client.destroy();
    // Assess
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(counts.ReceiveMessageCommand).toBe(receivesAtStop);
    expect(results).toEqual([expect.objectContaining({ outcome: 'extracted', action: 'deleted' })]);
    expect(stats).toMatchObject({ deleted: 1, givenBack: 0, abortedInFlight: false });
    expect(seen).toEqual(['SIGTERM', 'again:SIGINT']);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
    expect((await stack.video('instagram', 'wterm'))?.is_extracted).toBe(true);
  });

  it('stop via AbortSignal while idle returns promptly; at the shutdown deadline in-flight work is aborted, released and given back', async () => {
    // Prepare: an idle worker in a 2 s long poll (it lets the poll finish: no message is lost to an
    // abandoned poll), and a worker whose download would take 60 s.
    const idle = await makeDeps();
    const a = startWorker({ queue: stack.queue, deps: idle.deps, waitSeconds: 2, visibilityTimeout: 5 });
    await sleep(300);
    const t0 = Date.now();
    a.controller.abort();
    const idleStats = await a.done;
    const idleStopMs = Date.now() - t0;

    let started = false;
    const { deps, engine } = await makeDeps({}, { wrapObjects: slowDownload(60_000, () => (started = true)) });
    await stack.seedVideo('instagram', 'wabort');
    await stack.putVideo('instagram', 'wabort', clip);
    const id = await stack.queue.send(msg('wabort'));
    const b = startWorker({ queue: stack.queue, deps, waitSeconds: 1, visibilityTimeout: 30, concurrency: 1, shutdownTimeoutMs: 500 });
    await until(() => started, 10_000, 'the job to start');
    // Act
    const t1 = Date.now();
    b.controller.abort();
    const stats = await b.done;
    const abortMs = Date.now() - t1;
    const back = await stack.queue.receive(10, 1, 30);
    // Assess
    expect(idleStopMs).toBeLessThan(3_500);
    expect(idleStats.received).toBe(0);
    expect(abortMs).toBeLessThan(5_000);
    expect(stats).toMatchObject({ abortedInFlight: true, givenBack: 1, deleted: 0 });
    expect(b.results).toEqual([expect.objectContaining({ messageId: id, outcome: 'deadline', action: 'given_back' })]);
    expect(back.map((m) => m.messageId)).toEqual([id]);
    expect(await stack.video('instagram', 'wabort')).toMatchObject({ is_extracted: false, extraction_owner: null });
    expect((await stack.errors('instagram', 'wabort')).map((e) => `${e.stage}:${e.error_code}:${e.retryable}`)).toEqual(['download:DEADLINE:true']);
    expect(engine.runs).toBe(0);
    await stack.queue.delete(back[0]!.receiptHandle);
  });

  it('a transient failure that never recovers ends in the DLQ after maxReceiveCount (2), with error rows', async () => {
    // Prepare: every S3 put fails like a 503.
    const wrapObjects = (inner: ObjectStore): ObjectStore => ({
      head: (...a) => inner.head(...a),
      download: (...a) => inner.download(...a),
      list: (...a) => inner.list(...a),
      deleteMany: (...a) => inner.deleteMany(...a),
      put: async () => {
        throw new ObjectStoreError('S3 put: SlowDown (HTTP 503)', 503);
      },
    });
    const { deps } = await makeDeps({ S3_RETRIES: '1' }, { wrapObjects });
    await stack.seedVideo('instagram', 'wdlq');
    await stack.putVideo('instagram', 'wdlq', clip);
    const id = await stack.queue.send(msg('wdlq'));
    // Act
    const w = startWorker({ queue: stack.queue, deps, waitSeconds: 1, visibilityTimeout: 1, concurrency: 1 });
    const dead: string[] = [];
    await until(
      async () => {
        dead.push(...(await stack.dlq.receive(10, 0, 30)).map((m) => m.messageId));
        return dead.includes(id);
      },
      30_000,
      'the message to reach the DLQ',
    );
    w.controller.abort();
    const stats = await w.done;
    // Assess
    expect(dead).toEqual([id]);
    expect(w.results.map((r) => `${r.receiveCount}:${r.outcome}:${r.action}`)).toEqual(['1:transient_failure:left_for_retry', '2:transient_failure:left_for_retry']);
    expect(stats).toMatchObject({ deleted: 0, leftForRetry: 2 });
    const errs = await stack.errors('instagram', 'wdlq');
    expect(errs.map((e) => `${e.stage}:${e.attempt}:${e.retryable}:${e.final}`)).toEqual(['upload:1:true:false', 'upload:2:true:true']);
    expect(await stack.video('instagram', 'wdlq')).toMatchObject({ is_extracted: false, extraction_owner: null });
    expect(await queueDepth(stack.queue.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('`frames worker` as a real process: works the queue, then a real SIGTERM stops it with exit code 0', async () => {
    // Prepare
    await stack.seedVideo('tiktok', 'wcli');
    await stack.putVideo('tiktok', 'wcli', clip);
    const id = await stack.queue.send(msg('wcli', 'tiktok'));
    const env = {
      ...process.env,
      ...stack.env,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test-secret-key',
      LOG_LEVEL: 'SILENT',
      MIN_REMAINING_MS: '0',
      TMPDIR_FRAMES: path.join(workDir, 'scratch'),
    };
    const script = `const { main } = await import(${JSON.stringify(path.resolve('src/cli/main.ts'))}); process.exitCode = await main(['node', 'frames', ...process.argv.slice(1)]);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, 'worker', '--wait-seconds', '2', '--visibility-timeout', '30'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await until(() => out.includes(id), 40_000, `the worker to process the message (stderr: ${err})`);
      // Act
      child.kill('SIGTERM');
      const code = await exited;
      // Assess
      expect(code).toBe(0);
      expect(err).toContain('SIGTERM received');
      // stdout also carries the EMF metrics lines; the worker's own lines have an `action` / start with `worker:`.
      const lines = out.trim().split('\n');
      const results = lines.filter((l) => l.startsWith('{') && l.includes('"action"')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(results).toEqual([expect.objectContaining({ messageId: id, outcome: 'extracted', action: 'deleted' })]);
      expect(lines.at(-1)).toMatch(/^worker: \{.*"deleted":1/);
      expect((await stack.video('tiktok', 'wcli'))?.is_extracted).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('rejects invalid options with a message that says what is allowed', async () => {
    // Prepare
    const { deps } = await makeDeps();
    // Act
    const run = runWorker({ queue: stack.queue, deps, waitSeconds: 30, visibilityTimeout: 0 });
    // Assess
    await expect(run).rejects.toThrow(/waitSeconds must be an integer from 0 to 20, got 30; visibilityTimeout must be an integer from 1 to 43200, got 0/);
  });
});
