/**
 * `enqueueVideos` / `parseEnqueueInput` / `frames enqueue` against a real local SQS server (fauxqs).
 * Faults are injected into a real SQSClient with a middleware, never by mocking the queue.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateQueueCommand, SQSClient, type SendMessageBatchCommandInput, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { SqsQueue } from '../../src/adapters/sqs-queue.js';
import { registerServiceCommands } from '../../src/cli/service-commands.js';
import { enqueueVideos, parseEnqueueInput } from '../../src/service/enqueue.js';
import { startFauxqs, type FauxqsServer } from '../helpers/fauxqs.js';

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test-secret-key' };
let fq: FauxqsServer;
let sqs: SQSClient;
let workDir: string;
let queueSeq = 0;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret-key';
  [fq, workDir] = await Promise.all([startFauxqs(), mkdtemp(path.join(os.tmpdir(), 'frames-enq-'))]);
  sqs = new SQSClient({ region, endpoint: fq.endpoint, credentials });
}, 60_000);

afterAll(async () => {
  sqs?.destroy();
  await fq?.stop();
  await rm(workDir, { recursive: true, force: true });
});

async function newQueue(): Promise<string> {
  const r = await sqs.send(new CreateQueueCommand({ QueueName: `enqueue-${++queueSeq}`, Attributes: { VisibilityTimeout: '60' } }));
  return r.QueueUrl!;
}

/** Receive everything on the queue (each message once: visibility 60 s) and return the parsed bodies. */
async function drain(url: string): Promise<Array<Record<string, unknown>>> {
  const q = new SqsQueue(sqs, url);
  const out: Array<Record<string, unknown>> = [];
  for (;;) {
    const msgs = await q.receive(10, 0, 60);
    if (msgs.length === 0) return out;
    out.push(...msgs.map((m) => JSON.parse(m.body) as Record<string, unknown>));
  }
}

const keysOf = (bodies: Array<Record<string, unknown>>) => bodies.map((b) => `${String(b.platform)}/${String(b.shortcode)}`).sort();

interface BatchCall {
  ids: string[];
  shortcodes: string[];
}

/**
 * A real SQSClient that records every SendMessageBatch and fails chosen entries: `transientOnce`
 * shortcodes fail once with a server-side error (retryable), `senderFault` shortcodes always fail as
 * the sender's fault (permanent); `requestFailuresLeft` whole requests fail with HTTP 500 first.
 */
function faultyClient(o: { transientOnce?: string[]; senderFault?: string[]; requestFailuresLeft?: number } = {}) {
  const client = new SQSClient({ region, endpoint: fq.endpoint, credentials, maxAttempts: 1 });
  const calls: BatchCall[] = [];
  const failedOnce = new Set<string>();
  let requestFailuresLeft = o.requestFailuresLeft ?? 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'SendMessageBatchCommand') return next(args);
      const input = args.input as SendMessageBatchCommandInput;
      const entries = input.Entries ?? [];
      const shortcodeOf = (body: string | undefined) => (JSON.parse(body ?? '{}') as { shortcode: string }).shortcode;
      calls.push({ ids: entries.map((e) => e.Id!), shortcodes: entries.map((e) => shortcodeOf(e.MessageBody)) });
      if (requestFailuresLeft > 0) {
        requestFailuresLeft--;
        throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      }
      const injected: NonNullable<SendMessageBatchCommandOutput['Failed']> = [];
      const kept = entries.filter((e) => {
        const sc = shortcodeOf(e.MessageBody);
        if (o.senderFault?.includes(sc)) {
          injected.push({ Id: e.Id!, SenderFault: true, Code: 'InvalidParameterValue', Message: 'rejected by the fault injector' });
          return false;
        }
        if (o.transientOnce?.includes(sc) && !failedOnce.has(sc)) {
          failedOnce.add(sc);
          injected.push({ Id: e.Id!, SenderFault: false, Code: 'InternalError', Message: 'injected transient failure' });
          return false;
        }
        return true;
      });
      if (kept.length === 0) return { output: { Successful: [], Failed: injected, $metadata: {} }, response: {} } as never;
      const res = await next({ ...args, input: { ...input, Entries: kept } });
      const output = res.output as SendMessageBatchCommandOutput;
      output.Failed = [...(output.Failed ?? []), ...injected];
      return res;
    },
    { step: 'initialize', name: 'faultInjector' },
  );
  return { client, calls };
}

describe('parseEnqueueInput', () => {
  it('reads CSV (with or without header), JSON lines and a mix; reports bad lines by number', () => {
    // Prepare
    const text = [
      '\uFEFFplatform,shortcode',
      'instagram,C8xYz_1-a',
      '',
      '# a comment',
      '{"shortcode":"abc","platform":"tiktok","minFrames":3}',
      'instagram,../../etc/passwd',
      '{"shortcode":"x y","platform":"instagram"}',
      '{not json',
      'instagram,a,b',
      ' "youtube" , "Q1" ',
      '{"shortcode":"ok2"}',
      '["instagram","arr"]',
    ].join('\r\n');
    // Act
    const { items, invalid } = parseEnqueueInput(text);
    // Assess
    expect(items).toEqual([
      { platform: 'instagram', shortcode: 'C8xYz_1-a', line: 2 },
      { platform: 'tiktok', shortcode: 'abc', minFrames: 3, line: 5 },
      { platform: 'youtube', shortcode: 'Q1', line: 10 },
    ]);
    expect(invalid.map((i) => i.line)).toEqual([6, 7, 8, 9, 11, 12]);
    expect(invalid[0]!.error).toMatch(/shortcode must be/);
    expect(invalid[2]!.error).toBe('not valid JSON');
    expect(invalid[3]!.error).toMatch(/expected 2 CSV columns/);
    expect(invalid[4]!.error).toMatch(/platform/);
  });

  it('honours a shortcode,platform header and parses header-less CSV as platform,shortcode', () => {
    // Act
    const swapped = parseEnqueueInput('shortcode,platform\nabc,instagram\n');
    const plain = parseEnqueueInput('instagram,abc\ntiktok,def');
    // Assess
    expect(swapped).toEqual({ items: [{ shortcode: 'abc', platform: 'instagram', line: 2 }], invalid: [] });
    expect(plain.items.map((i) => `${i.platform}/${i.shortcode}`)).toEqual(['instagram/abc', 'tiktok/def']);
  });
});

describe('enqueueVideos against the local SQS server', () => {
  it('CSV + JSON lines with duplicates and bad lines: exact counts, and exactly the valid messages are on the queue', async () => {
    // Prepare
    const url = await newQueue();
    const csv = 'platform,shortcode\ninstagram,a1\ninstagram,a2\ninstagram,a1\ninstagram,bad/slash\n';
    const jsonl = '{"shortcode":"t1","platform":"tiktok"}\n{"shortcode":"a2","platform":"instagram"}\n{"shortcode":"t1","platform":"tiktok"}\nnope,too,many\n{"shortcode":"t2","platform":"tiktok","sceneThreshold":30}\n';
    const a = parseEnqueueInput(csv);
    const b = parseEnqueueInput(jsonl);
    // Act
    const res = await enqueueVideos(new SqsQueue(sqs, url), [...a.items, ...b.items]);
    const bodies = await drain(url);
    // Assess
    expect(a.invalid.map((i) => i.line)).toEqual([5]);
    expect(b.invalid.map((i) => i.line)).toEqual([4]);
    expect(res).toEqual({ sent: 4, duplicates: 3, invalid: [], failed: [] });
    expect(keysOf(bodies)).toEqual(['instagram/a1', 'instagram/a2', 'tiktok/t1', 'tiktok/t2']);
    expect(bodies.find((x) => x.shortcode === 't2')).toEqual({ shortcode: 't2', platform: 'tiktok', sceneThreshold: 30 });
  });

  it('validates library input: hostile shortcodes and platforms never reach the queue', async () => {
    // Prepare
    const url = await newQueue();
    const { client, calls } = faultyClient();
    const items = [
      { shortcode: '../../etc/passwd', platform: 'instagram' },
      { shortcode: 'ok1', platform: 'instagram' },
      { shortcode: 'a\u0000b', platform: 'instagram' },
      { shortcode: 'ok2', platform: 'Insta/../x' },
      { shortcode: 'x'.repeat(65), platform: 'instagram' },
    ];
    // Act
    const res = await enqueueVideos(new SqsQueue(client, url), items);
    const bodies = await drain(url);
    client.destroy();
    // Assess
    expect(res.sent).toBe(1);
    expect(res.invalid.map((i) => i.line)).toEqual([1, 3, 4, 5]);
    expect(calls.flatMap((c) => c.shortcodes)).toEqual(['ok1']);
    expect(keysOf(bodies)).toEqual(['instagram/ok1']);
  });

  it('more than 10 items go out as SendMessageBatch requests of at most 10', async () => {
    // Prepare
    const url = await newQueue();
    const { client, calls } = faultyClient();
    const items = Array.from({ length: 25 }, (_, i) => ({ shortcode: `v${i}`, platform: 'instagram' }));
    // Act
    const res = await enqueueVideos(new SqsQueue(client, url), items, { concurrency: 2 });
    const bodies = await drain(url);
    client.destroy();
    // Assess
    expect(res).toEqual({ sent: 25, duplicates: 0, invalid: [], failed: [] });
    expect(calls.map((c) => c.ids.length).sort((x, y) => x - y)).toEqual([5, 10, 10]);
    expect(keysOf(bodies)).toEqual(items.map((i) => `instagram/${i.shortcode}`).sort());
  });

  it('entries that fail transiently are retried (only they), sender faults are reported and not retried', async () => {
    // Prepare
    const url = await newQueue();
    const { client, calls } = faultyClient({ transientOnce: ['v1', 'v3', 'v11'], senderFault: ['v5'] });
    const items = Array.from({ length: 12 }, (_, i) => ({ shortcode: `v${i}`, platform: 'instagram' }));
    // Act
    const res = await enqueueVideos(new SqsQueue(client, url), items, { minDelayMs: 10, concurrency: 1 });
    const bodies = await drain(url);
    client.destroy();
    // Assess
    expect(res.sent).toBe(11);
    expect(res.failed).toEqual([{ item: { shortcode: 'v5', platform: 'instagram', line: 6 }, error: 'InvalidParameterValue: rejected by the fault injector' }]);
    expect(calls.map((c) => c.shortcodes)).toEqual([
      ['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9'],
      ['v1', 'v3'],
      ['v10', 'v11'],
      ['v11'],
    ]);
    expect(keysOf(bodies)).toEqual(items.filter((i) => i.shortcode !== 'v5').map((i) => `instagram/${i.shortcode}`).sort());
  });

  it('a whole request failing with a 5xx is retried; a rejected request (no such queue) fails fast without retries', async () => {
    // Prepare
    const url = await newQueue();
    const flaky = faultyClient({ requestFailuresLeft: 2 });
    const wrong = faultyClient();
    const items = [{ shortcode: 'r1', platform: 'instagram' }, { shortcode: 'r2', platform: 'instagram' }];
    // Act
    const ok = await enqueueVideos(new SqsQueue(flaky.client, url), items, { minDelayMs: 10 });
    const bad = await enqueueVideos(new SqsQueue(wrong.client, `${fq.endpoint}/000000000000/no-such-queue`), items, { minDelayMs: 10 });
    flaky.client.destroy();
    wrong.client.destroy();
    // Assess
    expect(ok).toEqual({ sent: 2, duplicates: 0, invalid: [], failed: [] });
    expect(flaky.calls).toHaveLength(3);
    expect(keysOf(await drain(url))).toEqual(['instagram/r1', 'instagram/r2']);
    expect(bad.sent).toBe(0);
    expect(bad.failed.map((f) => f.item.shortcode)).toEqual(['r1', 'r2']);
    expect(bad.failed[0]!.error).toMatch(/SendMessageBatch rejected/);
    expect(wrong.calls).toHaveLength(1);
  });
});

describe('`frames enqueue`', () => {
  async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number | string | undefined }> {
    const out: string[] = [];
    const err: string[] = [];
    const saved = { env: { ...process.env }, exitCode: process.exitCode, out: process.stdout.write, err: process.stderr.write };
    Object.assign(process.env, { SQS_ENDPOINT: fq.endpoint, AWS_REGION: region });
    delete process.env.SQS_QUEUE_URL;
    process.exitCode = undefined;
    process.stdout.write = ((c: string | Uint8Array) => (out.push(String(c)), true)) as typeof process.stdout.write;
    process.stderr.write = ((c: string | Uint8Array) => (err.push(String(c)), true)) as typeof process.stderr.write;
    try {
      await registerServiceCommands(new Command('frames').exitOverride()).parseAsync(['node', 'frames', 'enqueue', ...args]);
      return { out: out.join(''), err: err.join(''), exitCode: process.exitCode };
    } finally {
      process.stdout.write = saved.out;
      process.stderr.write = saved.err;
      process.env = saved.env;
      process.exitCode = saved.exitCode;
    }
  }

  it('sends a file, prints the counts, reports bad lines and exits non-zero when something was invalid', async () => {
    // Prepare
    const url = await newQueue();
    const file = path.join(workDir, 'videos.txt');
    await writeFile(file, 'platform,shortcode\ninstagram,f1\ninstagram,f1\n{"shortcode":"f2","platform":"tiktok"}\ninstagram,../x\n');
    // Act
    const r = await run(['--queue-url', url, '--file', file]);
    // Assess
    expect(r.out).toBe('enqueue: sent=2 duplicates=1 invalid=1 failed=0\n');
    expect(r.err).toMatch(/^invalid line 5: shortcode must be/);
    expect(r.exitCode).toBe(1);
    expect(keysOf(await drain(url))).toEqual(['instagram/f1', 'tiktok/f2']);
  });

  it('sends one video from flags to SQS_QUEUE_URL and exits 0', async () => {
    // Prepare
    const url = await newQueue();
    // Act
    const r = await run(['--queue-url', url, '--shortcode', 'one1', '--platform', 'instagram']);
    // Assess
    expect(r).toEqual({ out: 'enqueue: sent=1 duplicates=0 invalid=0 failed=0\n', err: '', exitCode: undefined });
    expect(keysOf(await drain(url))).toEqual(['instagram/one1']);
  });
});
