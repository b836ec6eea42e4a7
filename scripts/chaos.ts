/**
 * Chaos run: drives a few hundred SQS messages (good videos, duplicates, malformed bodies, hostile
 * shortcodes, missing / unknown / corrupt / not-downloaded videos) through the Lambda handler against
 * the local stack (fauxqs S3 + SQS with a real redrive policy, PostgreSQL, the PostgREST stand-in)
 * while faults are injected by WRAPPING the real parts, never by mocking them:
 *
 * - S3: a fault-injecting HTTP proxy in front of fauxqs answers a seeded fraction of requests with
 *   500 InternalError / 503 SlowDown (some before forwarding, some after the request was applied,
 *   so the client cannot know whether its write landed). The real AWS SDK parses the errors.
 * - Supabase: the same kind of proxy in front of the PostgREST stand-in answers a seeded fraction
 *   of RPC calls with 503 PGRST001 (again some after the SQL ran).
 * - ffmpeg: FFMPEG_PATH points at a bash wrapper that execs the real ffmpeg, except for a planned
 *   fraction of runs that it SIGKILLs after a short delay (mid-video).
 * - time: some batches get a simulated Lambda context with too little time to start, or with so
 *   little that the deadline fires in the middle of the work.
 *
 * The handler is `createHandler(() => buildDeps(env, { metrics }))` from src/lambda.ts: the exported
 * handler's code path, with an in-memory metrics sink instead of EMF lines on stdout. Two pollers
 * (`pollOnce` from src/service/local-runtime.ts, batches of up to 10) run until the queue and its
 * redeliveries drain; failed records are made visible again after `failVisibilitySec` (what the
 * queue's visibility timeout does on AWS, shortened so redeliveries happen fast). Then it checks
 * Postgres, S3, the DLQ and the scratch dir, and prints one line:
 *
 *   chaos: sent=N extracted=N permanent=N dlq=N lost=0 duplicates=0
 *
 * Usage: `npm run chaos` (220 messages), `npm run chaos -- --small` (60), `--messages=N`, `--seed=N`
 * (or CHAOS_MESSAGES / CHAOS_SEED). Exits 1 if anything was lost or duplicated or a check failed.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { BatchEntry, Queue, ReceivedMessage } from '../src/adapters/queue.js';
import { createHandler } from '../src/lambda.js';
import { sleep } from '../src/service/deadline.js';
import { prng } from '../test/fixtures/synth.js';
import { pollOnce } from '../src/service/local-runtime.js';
import { MemoryMetrics } from '../src/service/metrics.js';
import { buildDeps } from '../src/service/runtime.js';
import { startLocalStack, type LocalStack } from '../test/helpers/local-stack.js';
import { ffmpegBin, makeCorruptVideo, makeCutsVideo } from '../test/fixtures/videos.js';

// ---- seeded PRNG: mulberry32 from the video fixtures (same seed -> same fault decisions) -------

// ---- options and report --------------------------------------------------------------------------

export interface ChaosOptions {
  /** Messages to send (default 220). */
  messages?: number;
  seed?: number;
  /** Fraction of S3 requests that fail (default 0.25). */
  s3FaultRate?: number;
  /** Fraction of Supabase RPC calls that fail with 503 (default 0.15). */
  supabaseFaultRate?: number;
  /** Fraction of ffmpeg runs planned to be SIGKILLed mid-run (default 0.15; runs that finish first are not killed). */
  ffmpegKillRate?: number;
  /** Fraction of batches whose context has too little time to start (default 0.08). */
  noTimeRate?: number;
  /** Fraction of batches whose deadline fires in the middle of the work (default 0.08). */
  tightTimeRate?: number;
  maxReceiveCount?: number;
  /** Seconds before a failed record is delivered again (default 2). */
  failVisibilitySec?: number;
  /** Pollers running at once (default 2). */
  pollers?: number;
  /** DLQ redrive rounds after the queue drains (default 1). */
  redriveRounds?: number;
  /** Give up after this long (default 15 min). */
  timeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export type Kind = 'good' | 'duplicate' | 'malformed' | 'hostile' | 'missing' | 'unknown' | 'corrupt' | 'not_downloaded';

export interface ChaosReport {
  seed: number;
  sent: number;
  extracted: number;
  permanent: number;
  dlq: number;
  lost: number;
  duplicates: number;
  durationMs: number;
  line: string;
  byKind: Record<string, { sent: number; extracted: number; permanent: number; dlq: number; lost: number }>;
  faults: {
    s3Requests: number;
    s3Faults: number;
    supabaseCalls: number;
    supabaseFaults: number;
    ffmpegRuns: number;
    ffmpegKills: number;
    noTimeBatches: number;
    tightTimeBatches: number;
    batches: number;
  };
  goodVideos: number;
  goodVideosExtracted: number;
  /** Manifest writes beyond one per extracted video (rework after a failure late in the job). */
  reworkManifestWrites: number;
  receives: number;
  /** Messages moved from the DLQ back to the queue (redrive rounds). */
  redriven: number;
  /**
   * Known, documented imperfections that do not lose or duplicate work: frame objects an earlier,
   * interrupted attempt uploaded that the final manifest.json does not list (manifest.json is the
   * source of truth; such leftovers remain only when the retried stale-frame cleanup itself keeps
   * failing - see README, "Failure semantics").
   */
  warnings: string[];
  /** Every failed check, one line each (lost and duplicated messages included). */
  problems: string[];
}

interface Planned {
  kind: Kind;
  /** SQS message ids of this message: the original, plus one per DLQ redrive. */
  ids: string[];
  body: string;
  /** platform/shortcode for kinds that name a real (or deliberately absent) video. */
  video?: string;
  /** Acceptable permanent error codes. */
  codes: string[];
}

// ---- fault-injecting HTTP proxy --------------------------------------------------------------------

interface Fault {
  /** Answer without forwarding, or forward and then throw the real answer away. */
  when: 'before' | 'after';
  status: number;
  contentType: string;
  body: string;
}

interface ProxyObservation {
  method: string;
  path: string;
  requestBody: Buffer;
  upstreamStatus: number;
  upstreamBody: Buffer;
}

interface FaultProxy {
  url: string;
  requests: number;
  faults: number;
  close(): Promise<void>;
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection', 'upgrade']);

function startFaultProxy(target: string, decide: (method: string, path: string) => Fault | null, observe?: (o: ProxyObservation) => void): Promise<FaultProxy> {
  const t = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const proxy: FaultProxy = { url: '', requests: 0, faults: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      proxy.requests++;
      const method = req.method ?? 'GET';
      const p = req.url ?? '/';
      const fault = decide(method, p);
      const sendFault = (f: Fault) => {
        proxy.faults++;
        if (res.writableEnded || res.destroyed) return;
        res.writeHead(f.status, { 'content-type': f.contentType, 'content-length': Buffer.byteLength(f.body) });
        res.end(f.body);
      };
      if (fault?.when === 'before') return sendFault(fault);
      const body = Buffer.concat(chunks);
      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
      headers['content-length'] = body.length;
      const up = http.request({ host: t.hostname, port: t.port, method, path: p, headers, agent }, (ures) => {
        const out: Buffer[] = [];
        ures.on('data', (c: Buffer) => out.push(c));
        ures.on('error', () => {
          if (!res.headersSent) res.writeHead(502).end();
        });
        ures.on('end', () => {
          const ubody = Buffer.concat(out);
          try {
            observe?.({ method, path: p, requestBody: body, upstreamStatus: ures.statusCode ?? 0, upstreamBody: ubody });
          } catch {
            // observation is best effort
          }
          if (fault?.when === 'after') return sendFault(fault);
          if (res.writableEnded || res.destroyed) return;
          const rh: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(ures.headers)) if (v !== undefined && !HOP.has(k)) rh[k] = v;
          rh['content-length'] = ubody.length;
          res.writeHead(ures.statusCode ?? 502, rh);
          res.end(ubody);
        });
      });
      up.on('error', (err) => {
        if (!res.headersSent && !res.destroyed) res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err));
      });
      up.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      proxy.close = async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        agent.destroy();
      };
      resolve(proxy);
    });
  });
}

function s3Fault(rng: () => number, rate: number): Fault | null {
  if (rng() >= rate) return null;
  const r = rng();
  const when = rng() < 0.6 ? 'before' : 'after';
  const [status, code, message] = r < 0.45 ? [503, 'SlowDown', 'Please reduce your request rate.'] : r < 0.8 ? [500, 'InternalError', 'We encountered an internal error. Please try again.'] : [503, 'ServiceUnavailable', 'Service is unable to handle request.'];
  return {
    when,
    status,
    contentType: 'application/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>chaos</RequestId><HostId>chaos</HostId></Error>`,
  };
}

function supabaseFault(rng: () => number, rate: number): Fault | null {
  if (rng() >= rate) return null;
  return {
    when: rng() < 0.6 ? 'before' : 'after',
    status: 503,
    contentType: 'application/json',
    body: JSON.stringify({ code: 'PGRST001', message: 'Database client error. Retrying the connection.', details: null, hint: null }),
  };
}

// ---- ffmpeg wrapper that kills some runs mid-video ---------------------------------------------------

async function makeKillingFfmpeg(dir: string, realFfmpeg: string, rng: () => number, rate: number): Promise<{ path: string; runs(): Promise<number>; kills(): Promise<number> }> {
  await mkdir(dir, { recursive: true });
  // One line per ffmpeg run, in spawn order: 0 = run normally, otherwise seconds until SIGKILL.
  const plan = Array.from({ length: 50_000 }, () => (rng() < rate ? (0.02 + rng() * 0.25).toFixed(3) : '0'));
  await writeFile(path.join(dir, 'plan'), `${plan.join('\n')}\n`);
  const script = `#!/usr/bin/env bash
# chaos: run the real ffmpeg, but SIGKILL the runs the plan says to kill, after the planned delay.
d=${JSON.stringify(dir)}
n=$( { flock 9; c=$(( $(cat "$d/count" 2>/dev/null || echo 0) + 1 )); echo "$c" > "$d/count"; echo "$c"; } 9>"$d/lock" )
delay=$(sed -n "\${n}p" "$d/plan")
if [ -z "$delay" ] || [ "$delay" = 0 ]; then exec ${JSON.stringify(realFfmpeg)} "$@"; fi
${JSON.stringify(realFfmpeg)} "$@" &
pid=$!
( exec </dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&-; sleep "$delay"; kill -KILL "$pid" 2>/dev/null && touch "$d/killed.$n" ) &
killer=$!
wait "$pid"
rc=$?
kill "$killer" 2>/dev/null
# Killed mid-run: die by the same signal, so the caller sees a signal-killed ffmpeg.
if [ "$rc" -eq 137 ]; then kill -KILL $$; fi
exit "$rc"
`;
  const p = path.join(dir, 'ffmpeg');
  await writeFile(p, script);
  await chmod(p, 0o755);
  return {
    path: p,
    runs: async () => Number((await readFile(path.join(dir, 'count'), 'utf8').catch(() => '0')).trim()) || 0,
    kills: async () => (await readdir(dir)).filter((f) => f.startsWith('killed.')).length,
  };
}

// ---- the message plan ------------------------------------------------------------------------------

const MALFORMED: Array<() => string> = [
  () => 'not json',
  () => '{',
  () => '[]',
  () => 'null',
  () => '42',
  () => '"instagram/abc"',
  () => '{"shortcode":123,"platform":"instagram"}',
  () => '{"shortcode":"abc","platform":["instagram"]}',
  () => '{"platform":"instagram"}',
  () => '{"shortcode":"abc"}',
  () => '{}',
  () => '{"shortcode":null,"platform":"instagram"}',
  () => '{"shortcode":"abc","platform":"instagram","minFrames":"lots"}',
  () => '{"shortcode":"abc","platform":"instagram","minFrames":100000}',
  () => JSON.stringify({ shortcode: 'abc', platform: 'instagram', pad: 'x'.repeat(250 * 1024) }),
  () => JSON.stringify({ Type: 'Notification', MessageId: 'sns-1', TopicArn: 'arn:aws:sns:us-east-1:000000000000:t', Message: JSON.stringify({ shortcode: 'abc', platform: 'instagram' }) }),
  () => '{"shortcode":"abc","platform":"instagram"',
  () => "{'shortcode':'abc','platform':'instagram'}",
];

const HOSTILE: Array<() => string> = [
  () => JSON.stringify({ shortcode: '../../etc/passwd', platform: 'instagram' }),
  () => JSON.stringify({ shortcode: 'abc/../../x', platform: 'instagram' }),
  () => JSON.stringify({ shortcode: '..', platform: 'instagram' }),
  () => JSON.stringify({ shortcode: 'abc', platform: '../videos' }),
  () => JSON.stringify({ shortcode: 'abc%2F..%2Fx', platform: 'instagram' }),
  () => JSON.stringify({ shortcode: '\u0430bc', platform: 'instagram' }), // Cyrillic a
  () => JSON.stringify({ shortcode: '\uff21\uff22\uff23', platform: 'instagram' }), // full-width ABC
  () => JSON.stringify({ shortcode: 'abc\u200b', platform: 'instagram' }), // zero-width space
  () => JSON.stringify({ shortcode: 'abc\u202e', platform: 'instagram' }), // RTL override
  () => JSON.stringify({ shortcode: 'abc\u0000', platform: 'instagram' }), // NUL (escaped in JSON)
  () => JSON.stringify({ shortcode: 'abc\n', platform: 'instagram' }),
  () => JSON.stringify({ shortcode: ' abc', platform: 'instagram' }),
  () => JSON.stringify({ shortcode: 'a'.repeat(65), platform: 'instagram' }),
  () => JSON.stringify({ shortcode: '-abc', platform: 'instagram' }),
  () => JSON.stringify({ shortcode: 'abc', platform: 'Instagram' }),
  () => JSON.stringify({ shortcode: 'abc', platform: 'insta gram' }),
  () => JSON.stringify({ shortcode: 'C:\\windows', platform: 'instagram' }),
  () => JSON.stringify({ shortcode: 'file:///etc/passwd', platform: 'instagram' }),
];

function planMessages(n: number, rng: () => number): { plan: Planned[]; good: string[] } {
  const goodCount = Math.max(3, Math.round(n * 0.18));
  const dupCount = Math.max(2, Math.round(n * 0.16));
  const good = Array.from({ length: goodCount }, (_, i) => `instagram/good${String(i).padStart(3, '0')}`);
  const plan: Planned[] = [];
  const body = (v: string) => {
    const [platform, shortcode] = v.split('/') as [string, string];
    return JSON.stringify({ shortcode, platform });
  };
  for (const v of good) plan.push({ ids: [], kind: 'good', body: body(v), video: v, codes: [] });
  for (let i = 0; i < dupCount; i++) {
    const v = good[Math.floor(rng() * good.length)]!;
    plan.push({ ids: [], kind: 'duplicate', body: body(v), video: v, codes: [] });
  }
  const badKinds: Kind[] = ['malformed', 'hostile', 'missing', 'corrupt', 'not_downloaded', 'unknown', 'malformed', 'hostile'];
  const counters: Record<string, number> = {};
  for (let i = 0; plan.length < n; i++) {
    const kind = badKinds[i % badKinds.length]!;
    const k = (counters[kind] = (counters[kind] ?? 0) + 1);
    const v = `tiktok/${kind.replace('_', '')}${String(k).padStart(3, '0')}`;
    switch (kind) {
      case 'malformed':
        plan.push({ ids: [], kind, body: MALFORMED[(k - 1) % MALFORMED.length]!(), codes: ['INVALID_MESSAGE'] });
        break;
      case 'hostile':
        plan.push({ ids: [], kind, body: HOSTILE[(k - 1) % HOSTILE.length]!(), codes: ['INVALID_MESSAGE'] });
        break;
      case 'missing':
        plan.push({ ids: [], kind, body: body(v), video: v, codes: ['VIDEO_NOT_FOUND'] });
        break;
      case 'unknown':
        plan.push({ ids: [], kind, body: body(v), video: v, codes: ['UNKNOWN_VIDEO'] });
        break;
      case 'corrupt':
        plan.push({ ids: [], kind, body: body(v), video: v, codes: ['UNREADABLE_MEDIA', 'TRUNCATED_VIDEO', 'EMPTY_FILE', 'NO_FRAMES', 'UNSUPPORTED_INPUT', 'NO_VIDEO_STREAM'] });
        break;
      case 'not_downloaded':
        plan.push({ ids: [], kind, body: body(v), video: v, codes: ['NOT_DOWNLOADED'] });
        break;
      default:
        break;
    }
  }
  // Shuffle (Fisher-Yates) so kinds and duplicates are spread over batches.
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return { plan, good };
}

// ---- the queue as the pollers see it: remembers receipt handles so failures can come back fast -------

class TrackingQueue implements Queue {
  readonly url: string;
  readonly handles = new Map<string, string>();
  receives = 0;
  readonly #inner: Queue;
  constructor(inner: Queue) {
    this.#inner = inner;
    this.url = inner.url;
  }
  send(body: string) {
    return this.#inner.send(body);
  }
  sendBatch(entries: BatchEntry[], signal?: AbortSignal) {
    return this.#inner.sendBatch(entries, signal);
  }
  async receive(max: number, waitSeconds?: number, visibilityTimeout?: number, signal?: AbortSignal): Promise<ReceivedMessage[]> {
    const msgs = await this.#inner.receive(max, waitSeconds, visibilityTimeout, signal);
    for (const m of msgs) this.handles.set(m.messageId, m.receiptHandle);
    this.receives += msgs.length;
    return msgs;
  }
  delete(receiptHandle: string) {
    return this.#inner.delete(receiptHandle);
  }
  changeVisibility(receiptHandle: string, seconds: number) {
    return this.#inner.changeVisibility(receiptHandle, seconds);
  }
}

async function queueDepth(stack: LocalStack): Promise<number> {
  const r = await stack.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.queue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = r.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}

async function listAll(stack: LocalStack, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await stack.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

// ---- the run ---------------------------------------------------------------------------------------

export async function runChaos(o: ChaosOptions = {}): Promise<ChaosReport> {
  const t0 = Date.now();
  const seed = (o.seed ?? Date.now() % 2_147_483_647) >>> 0;
  const n = o.messages ?? 220;
  const log = o.log ?? (() => undefined);
  const maxReceiveCount = o.maxReceiveCount ?? 3;
  const failVisibilitySec = o.failVisibilitySec ?? 2;
  const rngPlan = prng(seed);
  const rngS3 = prng(seed ^ 0x5eed_0001);
  const rngSb = prng(seed ^ 0x5eed_0002);
  const rngFf = prng(seed ^ 0x5eed_0003);
  const rngTime = prng(seed ^ 0x5eed_0004);
  const s3Rate = o.s3FaultRate ?? 0.25;
  const sbRate = o.supabaseFaultRate ?? 0.15;

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'chaos-'));
  const scratch = path.join(workDir, 'scratch');
  await mkdir(scratch, { recursive: true });
  let stack: LocalStack | undefined;
  let s3Proxy: FaultProxy | undefined;
  let sbProxy: FaultProxy | undefined;
  const savedFfmpeg = process.env.FFMPEG_PATH;
  try {
    log(`chaos: seed=${seed} messages=${n} s3FaultRate=${s3Rate} supabaseFaultRate=${sbRate} maxReceiveCount=${maxReceiveCount}`);
    const { plan, good } = planMessages(n, rngPlan);

    // Sample media: a few distinct tiny clips (cycled over the good videos) and two kinds of corrupt file.
    const realFfmpeg = ffmpegBin();
    const variants = await Promise.all(
      [1, 2, 3].map((cuts) => makeCutsVideo(path.join(workDir, 'media'), { seconds: 2, width: 160, height: 120, cuts })),
    );
    const corrupt = await makeCorruptVideo(path.join(workDir, 'media'));
    const truncated = path.join(workDir, 'media', 'truncated.mp4');
    await writeFile(truncated, (await readFile(variants[2]!)).subarray(0, 2048));
    const zero = path.join(workDir, 'media', 'zero.mp4');
    await writeFile(zero, Buffer.alloc(0));
    const corrupts = [corrupt, truncated, zero];

    stack = await startLocalStack({ maxReceiveCount, visibilityTimeout: 30 });
    const st = stack;
    // Seed the videos table and the videos bucket (directly, not through the faulty proxies).
    const seeded = new Set<string>();
    let gi = 0;
    let ci = 0;
    for (const v of good) {
      const [platform, shortcode] = v.split('/') as [string, string];
      await st.seedVideo(platform, shortcode);
      await st.putVideo(platform, shortcode, variants[gi++ % variants.length]!);
    }
    for (const m of plan) {
      if (!m.video || seeded.has(m.video) || m.kind === 'good' || m.kind === 'duplicate' || m.kind === 'unknown') continue;
      seeded.add(m.video);
      const [platform, shortcode] = m.video.split('/') as [string, string];
      await st.seedVideo(platform, shortcode, { downloaded: m.kind !== 'not_downloaded' });
      if (m.kind === 'corrupt') await st.putVideo(platform, shortcode, corrupts[ci++ % corrupts.length]!);
    }

    // Fault injection around the real services.
    const completions = new Map<string, number>();
    const manifestWrites = new Map<string, number>();
    s3Proxy = await startFaultProxy(
      st.fauxqs.endpoint,
      () => s3Fault(rngS3, s3Rate),
      (ob) => {
        const m = /^\/[^/]+\/([^/?]+)\/([^/?]+)\/frames\/manifest\.json/.exec(ob.path);
        if (ob.method === 'PUT' && m && ob.upstreamStatus === 200) manifestWrites.set(`${m[1]}/${m[2]}`, (manifestWrites.get(`${m[1]}/${m[2]}`) ?? 0) + 1);
      },
    );
    sbProxy = await startFaultProxy(
      st.env.SUPABASE_URL!,
      () => supabaseFault(rngSb, sbRate),
      (ob) => {
        if (!ob.path.startsWith('/rest/v1/rpc/complete_video') || ob.upstreamStatus !== 200) return;
        const res = JSON.parse(ob.upstreamBody.toString()) as { status?: string };
        const req = JSON.parse(ob.requestBody.toString()) as { p_platform?: string; p_shortcode?: string };
        if (res.status === 'completed') {
          const k = `${req.p_platform}/${req.p_shortcode}`;
          completions.set(k, (completions.get(k) ?? 0) + 1);
        }
      },
    );
    const ff = await makeKillingFfmpeg(path.join(workDir, 'ffmpeg-wrapper'), realFfmpeg, rngFf, o.ffmpegKillRate ?? 0.15);
    process.env.FFMPEG_PATH = ff.path;

    const env: Record<string, string> = {
      ...st.env,
      S3_ENDPOINT: s3Proxy.url,
      SUPABASE_URL: sbProxy.url,
      S3_RETRIES: '3',
      S3_RETRY_DELAY: '25',
      SUPABASE_RETRIES: '2',
      MIN_REMAINING_MS: '1500',
      SAFETY_MARGIN_MS: '700',
      CONCURRENCY_LIMIT: '2',
      CLAIM_LEASE_SECONDS: '10',
      MAX_RECEIVE_COUNT: String(maxReceiveCount),
      TMPDIR_FRAMES: scratch,
      LOG_LEVEL: 'SILENT',
    };
    const metrics = new MemoryMetrics();
    const handler = createHandler(async () => buildDeps(env, { metrics }));

    // Send everything (SendMessageBatch, 10 at a time).
    const byId = new Map<string, Planned>();
    for (let i = 0; i < plan.length; i += 10) {
      const chunk = plan.slice(i, i + 10);
      const res = await st.queue.sendBatch(chunk.map((m, j) => ({ id: `m${i + j}`, body: m.body })));
      if (res.failed.length) throw new Error(`could not send ${res.failed.length} messages: ${res.failed.map((f) => `${f.id} ${f.code} ${f.message}`).join('; ')}`);
      for (const s of res.successful) {
        const m = chunk[Number(s.id.slice(1)) - i]!;
        m.ids.push(s.messageId);
        byId.set(s.messageId, m);
      }
    }
    log(`chaos: sent ${byId.size} messages (${good.length} good videos)`);

    // Pollers.
    const q = new TrackingQueue(st.queue);
    let batches = 0;
    let noTime = 0;
    let tight = 0;
    let done = false;
    let timedOut = false;
    let redriven = 0;
    const deadlineAt = t0 + (o.timeoutMs ?? 15 * 60_000);
    const poller = async (id: number) => {
      let idle = 0;
      while (!done) {
        if (Date.now() > deadlineAt) {
          timedOut = true;
          done = true;
          break;
        }
        const r = rngTime();
        const noTimeRate = o.noTimeRate ?? 0.08;
        // Random, but every run has at least one batch of each kind (small runs have few batches).
        const forceNoTime = noTime === 0 && batches >= 2;
        const forceTight = tight === 0 && batches >= 4;
        const remainingMs =
          forceNoTime || r < noTimeRate ? 1000 : forceTight || r < noTimeRate + (o.tightTimeRate ?? 0.12) ? 1800 + Math.floor(rngTime() * 2500) : 900_000;
        const res = await pollOnce(q, handler, { region: st.region, maxMessages: 1 + Math.floor(rngTime() * 10), waitSeconds: 0, visibilityTimeout: 60, remainingMs });
        if (res.received === 0) {
          idle++;
          if (idle % 4 === 0 && (await queueDepth(st)) === 0) done = true;
          await sleep(250);
          continue;
        }
        idle = 0;
        batches++;
        if (remainingMs === 1000) noTime++;
        else if (remainingMs < 900_000) tight++;
        for (const mid of res.failed) {
          const rh = q.handles.get(mid);
          if (rh) await q.changeVisibility(rh, failVisibilitySec).catch(() => undefined);
        }
        if (batches % 10 === 0) log(`chaos: poller ${id}: ${batches} batches, ${q.receives} receives, ${metrics.videos.length} records processed, queue depth ${await queueDepth(st)}`);
      }
    };
    const drain = async () => {
      done = false;
      await Promise.all(Array.from({ length: o.pollers ?? 2 }, (_, i) => poller(i + 1)));
    };
    await drain();
    // Redrive: what an operator does after the DLQ alarm, once (faults stay on). A message that
    // exhausted its receives under injected faults gets one more set of deliveries.
    for (let round = 0; round < (o.redriveRounds ?? 1) && !timedOut; round++) {
      const moved: Array<{ m: Planned; body: string; rh: string }> = [];
      for (;;) {
        const got = await st.dlq.receive(10, 0, 600);
        if (got.length === 0) break;
        for (const d of got) {
          const m = byId.get(d.messageId);
          if (m) moved.push({ m, body: d.body, rh: d.receiptHandle });
        }
      }
      if (moved.length === 0) break;
      for (let i = 0; i < moved.length; i += 10) {
        const chunk = moved.slice(i, i + 10);
        const res = await st.queue.sendBatch(chunk.map((x, j) => ({ id: `r${j}`, body: x.body })));
        for (const sres of res.successful) {
          const x = chunk[Number(sres.id.slice(1))]!;
          x.m.ids.push(sres.messageId);
          byId.set(sres.messageId, x.m);
          await st.dlq.delete(x.rh);
        }
      }
      redriven += moved.length;
      log(`chaos: redrove ${moved.length} messages from the DLQ`);
      await drain();
    }
    process.env.FFMPEG_PATH = savedFfmpeg;

    // ---- checks -----------------------------------------------------------------------------------
    const problems: string[] = [];
    const warnings: string[] = [];
    if (timedOut) problems.push(`timed out after ${Date.now() - t0} ms with ${await queueDepth(st)} messages still in the queue`);

    const dlqIds = new Set<string>();
    for (;;) {
      const got = await st.dlq.receive(10, 0, 600);
      if (got.length === 0) break;
      for (const m of got) dlqIds.add(m.messageId);
    }
    const rows = (await st.db.query<{ platform: string; shortcode: string; is_extracted: boolean; frame_count: number | null; frames_manifest_key: string | null; extraction_owner: string | null; live: boolean | null }>(
      'select platform, shortcode, is_extracted, frame_count, frames_manifest_key, extraction_owner, extraction_lease_until > now() as live from public.videos',
    )).rows;
    const videoRow = new Map(rows.map((r) => [`${r.platform}/${r.shortcode}`, r]));
    const errRows = (await st.db.query<{ message_id: string | null; error_code: string; retryable: boolean; final: boolean }>('select message_id, error_code, retryable, final from public.extraction_errors')).rows;
    const errsByMsg = new Map<string, typeof errRows>();
    for (const e of errRows) if (e.message_id) errsByMsg.set(e.message_id, [...(errsByMsg.get(e.message_id) ?? []), e]);

    const byKind: ChaosReport['byKind'] = {};
    let extracted = 0;
    let permanent = 0;
    let dlq = 0;
    let lost = 0;
    for (const m of plan) {
      const mid = m.ids.join('+');
      const k = (byKind[m.kind] ??= { sent: 0, extracted: 0, permanent: 0, dlq: 0, lost: 0 });
      k.sent++;
      const errs = m.ids.flatMap((id) => errsByMsg.get(id) ?? []);
      const inDlq = m.ids.some((id) => dlqIds.has(id));
      const perm = errs.filter((e) => !e.retryable);
      const isGood = m.kind === 'good' || m.kind === 'duplicate';
      if (isGood && videoRow.get(m.video!)?.is_extracted) {
        extracted++;
        k.extracted++;
        if (perm.length) problems.push(`good video ${m.video} (message ${mid}) got a permanent error: ${perm.map((e) => e.error_code).join(',')}`);
      } else if (perm.length) {
        permanent++;
        k.permanent++;
        if (isGood) problems.push(`good video ${m.video} (message ${mid}) recorded as permanent ${perm[0]!.error_code}`);
        else if (!perm.some((e) => m.codes.includes(e.error_code))) problems.push(`${m.kind} message ${mid} ${m.body.slice(0, 80)}: permanent code ${perm.map((e) => e.error_code).join(',')}, expected one of ${m.codes.join(',')}`);
      } else if (inDlq && errs.length > 0) {
        dlq++;
        k.dlq++;
        if (!errs.some((e) => e.final)) problems.push(`message ${mid} (${m.kind}) is in the DLQ but no error row is marked final`);
      } else {
        lost++;
        k.lost++;
        problems.push(`LOST: ${m.kind} message ${mid} ${m.body.slice(0, 80)} (in DLQ: ${inDlq}, error rows: ${errs.map((e) => `${e.error_code}/${e.retryable ? 'T' : 'P'}`).join(',') || 'none'})`);
      }
    }

    // Frames, manifest and status agree for every extracted video; nothing else was written.
    const allFrameKeys = await listAll(st, st.framesBucket);
    const goodSet = new Set(good);
    for (const key of allFrameKeys) {
      const prefix = key.split('/').slice(0, 2).join('/');
      if (!goodSet.has(prefix)) problems.push(`unexpected object in the frames bucket: ${key}`);
    }
    let goodExtracted = 0;
    let duplicates = 0;
    let rework = 0;
    for (const v of good) {
      const row = videoRow.get(v);
      const c = completions.get(v) ?? 0;
      if (c > 1) {
        duplicates++;
        problems.push(`DUPLICATE: ${v} was completed ${c} times`);
      }
      if (!row?.is_extracted) {
        const ids = plan.filter((m) => m.video === v).flatMap((m) => m.ids);
        problems.push(`good video ${v} was not extracted (its messages: ${ids.map((id) => `${id}${dlqIds.has(id) ? ' in DLQ' : ''} [${(errsByMsg.get(id) ?? []).map((e) => e.error_code).join(',')}]`).join('; ')})`);
        continue;
      }
      goodExtracted++;
      if (c !== 1) problems.push(`${v} is extracted but complete_video reported 'completed' ${c} times`);
      rework += Math.max(0, (manifestWrites.get(v) ?? 0) - 1);
      const keys = allFrameKeys.filter((k) => k.startsWith(`${v}/frames/`));
      const frames = keys.filter((k) => !k.endsWith('/manifest.json')).sort();
      const manifestKey = `${v}/frames/manifest.json`;
      if (!keys.includes(manifestKey)) {
        problems.push(`${v}: no manifest.json`);
        continue;
      }
      const manifest = JSON.parse((await st.getObject(st.framesBucket, manifestKey)).body.toString()) as { frames?: unknown[]; frameKeys?: string[] };
      if (row.frames_manifest_key !== manifestKey) problems.push(`${v}: frames_manifest_key is ${row.frames_manifest_key}`);
      const listed = [...(manifest.frameKeys ?? [])].sort();
      const missing = listed.filter((k) => !frames.includes(k));
      if (manifest.frames?.length !== row.frame_count || listed.length !== row.frame_count || missing.length) {
        problems.push(`${v}: manifest (${manifest.frames?.length} frames, ${listed.length} keys, ${missing.length} missing in S3) and frame_count (${row.frame_count}) disagree`);
      }
      // Frames of an earlier, interrupted attempt that the manifest does not list (see the report).
      const orphans = frames.filter((k) => !listed.includes(k));
      if (orphans.length) warnings.push(`${v}: ${orphans.length} frame object(s) not in manifest.json left from an earlier attempt: ${orphans.join(', ')}`);
    }
    for (const r of rows) {
      if (r.live) problems.push(`claim still held on ${r.platform}/${r.shortcode} by ${r.extraction_owner}`);
      if (!goodSet.has(`${r.platform}/${r.shortcode}`) && r.is_extracted) problems.push(`${r.platform}/${r.shortcode} should not be extracted`);
    }
    const leftovers = await readdir(scratch);
    if (leftovers.length) problems.push(`temporary files left behind in ${scratch}: ${leftovers.join(', ')}`);

    const faults = {
      s3Requests: s3Proxy.requests,
      s3Faults: s3Proxy.faults,
      supabaseCalls: sbProxy.requests,
      supabaseFaults: sbProxy.faults,
      ffmpegRuns: await ff.runs(),
      ffmpegKills: await ff.kills(),
      noTimeBatches: noTime,
      tightTimeBatches: tight,
      batches,
    };
    const sent = plan.length;
    const line = `chaos: sent=${sent} extracted=${extracted} permanent=${permanent} dlq=${dlq} lost=${lost} duplicates=${duplicates}`;
    return {
      seed,
      sent,
      extracted,
      permanent,
      dlq,
      lost,
      duplicates,
      durationMs: Date.now() - t0,
      line,
      byKind,
      faults,
      goodVideos: good.length,
      goodVideosExtracted: goodExtracted,
      reworkManifestWrites: rework,
      redriven,
      warnings,
      receives: q.receives,
      problems,
    };
  } finally {
    if (savedFfmpeg === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = savedFfmpeg;
    await Promise.allSettled([s3Proxy?.close(), sbProxy?.close()]);
    await stack?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

// ---- CLI -------------------------------------------------------------------------------------------

function argValue(name: string): string | undefined {
  const a = process.argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (!a) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : 'true';
}

async function main(): Promise<number> {
  const small = argValue('small') !== undefined;
  const messages = Number(argValue('messages') ?? process.env.CHAOS_MESSAGES ?? (small ? 60 : 220));
  const seedArg = argValue('seed') ?? process.env.CHAOS_SEED;
  const report = await runChaos({
    messages,
    ...(seedArg ? { seed: Number(seedArg) } : {}),
    log: (l) => process.stderr.write(`${l}\n`),
  });
  const f = report.faults;
  const pct = (a: number, b: number) => `${b ? ((100 * a) / b).toFixed(1) : '0'}%`;
  process.stderr.write(
    [
      `chaos: seed=${report.seed} duration=${(report.durationMs / 1000).toFixed(1)}s receives=${report.receives} batches=${f.batches} redriven=${report.redriven}`,
      `chaos: faults: S3 ${f.s3Faults}/${f.s3Requests} (${pct(f.s3Faults, f.s3Requests)}), Supabase ${f.supabaseFaults}/${f.supabaseCalls} (${pct(f.supabaseFaults, f.supabaseCalls)}), ffmpeg killed ${f.ffmpegKills}/${f.ffmpegRuns}, batches out of time: ${f.noTimeBatches} before start + ${f.tightTimeBatches} mid-work`,
      `chaos: good videos extracted ${report.goodVideosExtracted}/${report.goodVideos}; manifest rewrites after late failures: ${report.reworkManifestWrites}`,
      `chaos: by kind: ${Object.entries(report.byKind).map(([k, v]) => `${k} ${v.sent} (x${v.extracted} p${v.permanent} d${v.dlq} l${v.lost})`).join(', ')}`,
      ...report.warnings.map((w) => `chaos: WARN: ${w}`),
      ...report.problems.map((p) => `chaos: PROBLEM: ${p}`),
      '',
    ].join('\n'),
  );
  process.stdout.write(`${report.line}\n`);
  return report.lost > 0 || report.duplicates > 0 || report.problems.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`chaos: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    },
  );
}
