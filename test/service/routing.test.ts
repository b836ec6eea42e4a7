/**
 * Routing decisions (src/service/routing.ts) and their effect on one message, with the in-memory
 * twins: too long for the time left / too large for the scratch disk -> forwarded once to the
 * long-video queue (ROUTED_TO_WORKER) or, without one, a permanent VIDEO_TOO_LONG / VIDEO_TOO_LARGE;
 * a redelivery is done without forwarding again, also while the worker holds the claim.
 * ECS task protection is tested against a local HTTP server standing in for the ECS agent.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { BatchEntry, BatchSendResult, Queue, ReceivedMessage } from '../../src/adapters/queue.js';
import { EcsTaskProtection } from '../../src/adapters/ecs-task-protection.js';
import { createLogger } from '../../src/logger.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import { processMessage, type ProcessorDeps } from '../../src/service/process-message.js';
import { checkDuration, checkSize, freeScratchBytes } from '../../src/service/routing.js';
import { MemoryObjectStore, MemoryStatusStore, ScriptedEngine } from '../helpers/memory.js';
import { testSettings } from '../helpers/service-fixtures.js';

class RecordingQueue implements Queue {
  readonly url = 'http://sqs.local/000000000000/long-videos';
  readonly sent: string[] = [];
  async send(body: string): Promise<string> {
    this.sent.push(body);
    return `lv-${this.sent.length}`;
  }
  async sendBatch(_e: BatchEntry[]): Promise<BatchSendResult> {
    return { successful: [], failed: [] };
  }
  async receive(): Promise<ReceivedMessage[]> {
    return [];
  }
  async delete(): Promise<void> {}
  async changeVisibility(): Promise<void> {}
}

const BODY = '{"shortcode":"film1","platform":"instagram"}';

function setup(o: { durationSec?: number; queue?: Queue; msPerVideoSecond?: number; tmpDir?: string } = {}) {
  const objects = new MemoryObjectStore();
  objects.objects.set('videos/instagram/film1/video.mp4', { body: Buffer.from('not really a film'), contentType: 'video/mp4' });
  const status = new MemoryStatusStore();
  status.seed('instagram', 'film1');
  const engine = new ScriptedEngine({ durationSec: o.durationSec ?? 3 });
  const deps: ProcessorDeps = {
    objects,
    status,
    engine,
    metrics: new MemoryMetrics(),
    logger: createLogger({ level: 'SILENT' }),
    settings: testSettings(o.tmpDir ? { tmpDir: o.tmpDir } : {}),
    batch: { concurrencyLimit: 1, minRemainingMs: 0, safetyMarginMs: 1000, maxReceiveCount: 3 },
    longVideoQueue: o.queue,
    routing: { msPerVideoSecond: o.msPerVideoSecond ?? 250 },
  };
  return { deps, status, engine, objects };
}

describe('routing decisions', () => {
  it('too long when duration x rate exceeds the budget; the error names the estimate and the limit', () => {
    expect(checkDuration(60, 250, 15_001)).toBeUndefined();
    const err = checkDuration(5400, 250, 290_000);
    expect(err?.code).toBe('VIDEO_TOO_LONG');
    expect(err?.message).toMatch(/5400\.0 s long: estimated 1350 s of processing exceeds the 290 s this run has/);
    expect(err?.kind).toBe('permanent');
    expect(checkDuration(Number.NaN, 250, 1)).toBeUndefined(); // unknown duration: no guess
  });

  it('too large when the object exceeds the free scratch space; the error names both', () => {
    expect(checkSize(100, 100)).toBeUndefined();
    const err = checkSize(12 * 1_048_576, 4 * 1_048_576);
    expect(err?.code).toBe('VIDEO_TOO_LARGE');
    expect(err?.message).toMatch(/12\.0 MiB: more than the 4\.0 MiB free/);
  });

  it('reads the free space of a real directory', async () => {
    const free = await freeScratchBytes(os.tmpdir());
    expect(free).toBeGreaterThan(0);
  });
});

describe('a video the run cannot finish', () => {
  it('with a long-video queue: forwarded once with the same body, recorded ROUTED_TO_WORKER, claim handed over, nothing extracted', async () => {
    // Prepare: 3 s of video at 1000 ms/s needs 3 s; the run has 2 s left after the 1 s margin.
    const queue = new RecordingQueue();
    const { deps, status, engine, objects } = setup({ queue, msPerVideoSecond: 1000 });
    // Act
    const r = await processMessage(BODY, { messageId: 'm1', attempt: 1, deadline: Date.now() + 3000 }, deps);
    // Assess
    expect(r).toMatchObject({ result: 'done', outcome: 'routed', code: 'ROUTED_TO_WORKER' });
    expect(queue.sent).toEqual([BODY]);
    expect(status.rows.get('instagram/film1')).toMatchObject({ owner: null, extracted: false, routed: expect.stringMatching(/^VIDEO_TOO_LONG: /) });
    expect(status.errors).toEqual([]);
    expect(engine.runs).toBe(1); // probed, not decoded: no frames
    expect([...objects.objects.keys()].filter((k) => k.startsWith('frames/'))).toEqual([]);

    // Act: a redelivery, then one while the worker holds the claim
    const again = await processMessage(BODY, { messageId: 'm1', attempt: 2, deadline: Date.now() + 3000 }, deps);
    await status.claim('instagram', 'film1', 'worker-task:lv-1', 600);
    const whileHeld = await processMessage(BODY, { messageId: 'm1', attempt: 3, deadline: Date.now() + 3000 }, deps);
    // Assess: done both times, no second forward, the worker's claim untouched
    expect(again).toMatchObject({ result: 'done', outcome: 'routed' });
    expect(whileHeld).toMatchObject({ result: 'done', outcome: 'routed' });
    expect(queue.sent).toHaveLength(1);
    expect(status.rows.get('instagram/film1')?.owner).toBe('worker-task:lv-1');
  });

  it('the worker (no long-video queue) takes a routed video and extracts it when its budget allows', async () => {
    const { deps, status } = setup({ msPerVideoSecond: 1000 });
    status.rows.get('instagram/film1')!.routed = 'VIDEO_TOO_LONG: earlier';
    const r = await processMessage(BODY, { messageId: 'w1', attempt: 1, deadline: Date.now() + 3_600_000 }, deps);
    expect(r).toMatchObject({ result: 'done', outcome: 'extracted' });
    expect(status.rows.get('instagram/film1')).toMatchObject({ extracted: true });
  });

  it('without a long-video queue: a permanent VIDEO_TOO_LONG naming the limit, recorded, never retried', async () => {
    const { deps, status } = setup({ msPerVideoSecond: 1000 });
    const r = await processMessage(BODY, { messageId: 'm2', attempt: 1, deadline: Date.now() + 3000 }, deps);
    expect(r).toMatchObject({ result: 'recorded', outcome: 'permanent_failure', code: 'VIDEO_TOO_LONG', stage: 'route' });
    expect(status.errors).toEqual([expect.objectContaining({ code: 'VIDEO_TOO_LONG', retryable: false, message: expect.stringMatching(/exceeds the \d+ s this run has/) })]);
    expect(status.rows.get('instagram/film1')).toMatchObject({ owner: null, extracted: false });
  });

  it('too large for the scratch disk: refused before the download (VIDEO_TOO_LARGE), or forwarded with a queue', async () => {
    // Prepare: a "video" larger than the free space of the scratch dir, by HeadObject size.
    const free = await freeScratchBytes(os.tmpdir());
    const big = { head: async () => ({ bytes: free + 1 }) };
    const a = setup();
    Object.assign(a.objects, big);
    const refused = await processMessage(BODY, { messageId: 'm3', attempt: 1, deadline: Date.now() + 60_000 }, a.deps);
    expect(refused).toMatchObject({ result: 'recorded', code: 'VIDEO_TOO_LARGE', stage: 'route' });
    expect(a.engine.runs).toBe(0);
    const queue = new RecordingQueue();
    const b = setup({ queue });
    Object.assign(b.objects, big);
    const routed = await processMessage(BODY, { messageId: 'm4', attempt: 1, deadline: Date.now() + 60_000 }, b.deps);
    expect(routed).toMatchObject({ result: 'done', outcome: 'routed' });
    expect(queue.sent).toEqual([BODY]);
    expect(b.engine.runs).toBe(0);
  });

  it('a disk that fills up anyway (ENOSPC) is a permanent DISK_FULL for that video', async () => {
    const { deps, status, objects } = setup();
    objects.download = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const r = await processMessage(BODY, { messageId: 'm5', attempt: 1, deadline: Date.now() + 60_000 }, deps);
    expect(r).toMatchObject({ result: 'recorded', outcome: 'permanent_failure', code: 'DISK_FULL', stage: 'download' });
    expect(status.errors[0]).toMatchObject({ code: 'DISK_FULL', retryable: false });
  });
});

describe('ECS task protection', () => {
  it('PUTs the state to $ECS_AGENT_URI/task-protection/v1/state, reports refusals, and is a no-op outside ECS', async () => {
    // Prepare: a local stand-in for the ECS agent
    const seen: Array<{ method: string; url: string; body: unknown }> = [];
    let refuse = false;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, body: JSON.parse(Buffer.concat(chunks).toString()) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(refuse ? { failure: { Arn: 'arn:task', Reason: 'TASK_NOT_VALID', Detail: 'draining' } } : { protection: { ProtectionEnabled: true } }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/abc`;
    try {
      // Act
      const p = EcsTaskProtection.fromEnv({ ECS_AGENT_URI: uri });
      await p.set(true, 245.5);
      await p.set(false);
      refuse = true;
      const refused = p.set(true, 10);
      // Assess
      await expect(refused).rejects.toThrow(/ECS task protection on failed: HTTP 200 TASK_NOT_VALID draining/);
      expect(seen.slice(0, 2)).toEqual([
        { method: 'PUT', url: '/v3/abc/task-protection/v1/state', body: { ProtectionEnabled: true, ExpiresInMinutes: 246 } },
        { method: 'PUT', url: '/v3/abc/task-protection/v1/state', body: { ProtectionEnabled: false } },
      ]);
      const none = EcsTaskProtection.fromEnv({});
      expect(none.active).toBe(false);
      await none.set(true, 5);
      expect(seen).toHaveLength(3);
    } finally {
      server.close();
    }
  });
});
