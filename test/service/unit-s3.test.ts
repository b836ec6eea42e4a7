/**
 * S3 error classification with the real S3 client against a tiny local HTTP server that answers like
 * S3 does: 403 AccessDenied and 404 NoSuchKey are permanent (recorded, not retried); throttling, 5xx
 * and other 403s (expired credentials) stay transient. Runs through processBatch so the job's
 * retry/record decisions are covered too, not only the adapter's mapping.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createS3Client, S3ObjectStore, VideoNotReadableError } from '../../src/adapters/s3-object-store.js';
import { isRetryable, PermanentError, VideoNotFoundError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { simulatedContext } from '../../src/service/local-runtime.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import { processBatch, type ProcessorDeps } from '../../src/service/process-batch.js';
import { ObjectStoreError } from '../../src/service/errors.js';
import { MemoryStatusStore, ScriptedEngine } from '../helpers/memory.js';
import { sqsEvent, testSettings } from '../helpers/service-fixtures.js';

interface S3Reply {
  status: number;
  code: string;
  message: string;
}

/** A fake S3 endpoint: every GET answers with the current reply as an S3 XML error. */
async function startFakeS3(): Promise<{ endpoint: string; requests: string[]; reply: S3Reply; server: Server }> {
  const state = { requests: [] as string[], reply: { status: 403, code: 'AccessDenied', message: 'Access Denied' } };
  const server = createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      const { status, code, message } = state.reply;
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'R1', 'content-length': Buffer.byteLength(xml) });
      res.end(req.method === 'HEAD' ? undefined : xml);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    get requests() {
      return state.requests;
    },
    get reply() {
      return state.reply;
    },
    set reply(r: S3Reply) {
      state.reply = r;
    },
  };
}

let s3: Awaited<ReturnType<typeof startFakeS3>>;
let store: S3ObjectStore;
let dir: string;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDLOCALTEST';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local-secret-access-key';
  s3 = await startFakeS3();
  store = new S3ObjectStore(createS3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, connectTimeoutMs: 2000, readTimeoutMs: 5000 }));
  dir = await mkdtemp(path.join(os.tmpdir(), 'frames-s3-unit-'));
});

afterAll(async () => {
  store?.client.destroy();
  s3?.server.closeAllConnections();
  await new Promise((r) => s3?.server.close(r));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  s3.requests.length = 0;
});

async function downloadError(reply: S3Reply): Promise<unknown> {
  s3.reply = reply;
  try {
    await store.download('videos', 'instagram/abc/video.mp4', path.join(dir, 'video.mp4'));
  } catch (err) {
    return err;
  }
  throw new Error('download should have failed');
}

describe('S3ObjectStore.download error mapping (real S3 client, local endpoint)', () => {
  it('maps 403 AccessDenied on the video to a permanent "missing or not readable" error', async () => {
    const err = await downloadError({ status: 403, code: 'AccessDenied', message: 'Access Denied' });
    expect(err).toBeInstanceOf(VideoNotReadableError);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe('video missing or not readable (S3 AccessDenied): videos/instagram/abc/video.mp4');
    expect((err as VideoNotReadableError).code).toBe('VIDEO_NOT_READABLE');
    expect(isRetryable(err)).toBe(false);
    expect(s3.requests).toEqual(['GET /videos/instagram/abc/video.mp4?x-id=GetObject']);
  });

  it('maps 404 NoSuchKey to VideoNotFoundError (permanent)', async () => {
    const err = await downloadError({ status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' });
    expect(err).toBeInstanceOf(VideoNotFoundError);
    expect((err as Error).message).toBe('video not found: s3://videos/instagram/abc/video.mp4');
    expect(isRetryable(err)).toBe(false);
  });

  it.each([
    [{ status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }],
    [{ status: 500, code: 'InternalError', message: 'We encountered an internal error.' }],
    [{ status: 403, code: 'ExpiredToken', message: 'The provided token has expired.' }],
  ])('keeps %j transient', async (reply) => {
    const err = await downloadError(reply);
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect(isRetryable(err)).toBe(true);
  });
});

describe('job classification of S3 download failures', () => {
  function deps(status: MemoryStatusStore): ProcessorDeps {
    return {
      objects: store,
      status,
      engine: new ScriptedEngine(),
      metrics: new MemoryMetrics(),
      logger: createLogger({ level: 'SILENT' }),
      settings: testSettings({ tmpDir: dir }),
      batch: { concurrencyLimit: 1, minRemainingMs: 0, safetyMarginMs: 0, maxReceiveCount: 5 },
    };
  }
  const event = sqsEvent(JSON.stringify({ shortcode: 'abc', platform: 'instagram' }));

  it.each([
    ['AccessDenied', { status: 403, code: 'AccessDenied', message: 'Access Denied' }, 'VIDEO_NOT_READABLE', /video missing or not readable \(S3 AccessDenied\): videos\/instagram\/abc\/video\.mp4/],
    ['NoSuchKey', { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' }, 'VIDEO_NOT_FOUND', /video not found/],
  ])('records %s as permanent after one attempt, without giving the message back', async (_name, reply, code, message) => {
    // Prepare
    s3.reply = reply;
    const status = new MemoryStatusStore();
    status.seed('instagram', 'abc');
    // Act
    const res = await processBatch(event, simulatedContext(), deps(status));
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    expect(res.outcomes[0]).toMatchObject({ outcome: 'permanent_failure', result: 'recorded', stage: 'download', code });
    expect(status.errors).toEqual([expect.objectContaining({ stage: 'download', code, retryable: false, final: false, message: expect.stringMatching(message) })]);
    // The HEAD before it (routing) gets a bodiless 403/404: size unknown, the GetObject decides; not retried.
    expect(s3.requests.map((r) => r.split(' ')[0])).toEqual(['HEAD', 'GET']);
    expect(status.rows.get('instagram/abc')).toMatchObject({ extracted: false, owner: null }); // claim released
  });

  it('retries throttling (s3Retries) and then gives the message back to the queue (here at the HEAD of the route stage)', async () => {
    s3.reply = { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' };
    const status = new MemoryStatusStore();
    status.seed('instagram', 'abc');
    const res = await processBatch(event, simulatedContext(), deps(status));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }]);
    expect(res.outcomes[0]).toMatchObject({ outcome: 'transient_failure', result: 'retry', stage: 'route', code: 'OBJECT_STORE_UNAVAILABLE' });
    expect(s3.requests).toEqual(Array(3).fill('HEAD /videos/instagram/abc/video.mp4')); // 1 + s3Retries
  });
});
