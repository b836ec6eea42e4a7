/**
 * The whole local stack in one call, used by the integration tests AND by `npm run demo`:
 * PostgreSQL (migrations applied) + the PostgREST stand-in for supabase-js + fauxqs (S3 and SQS)
 * with the buckets, the work queue and its dead-letter queue (redrive policy) created.
 *
 * @example
 * ```ts
 * const stack = await startLocalStack();
 * const deps = await buildDeps(stack.env, { fetch: stack.standIn.fetch });
 * await stack.stop();
 * ```
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { SqsQueue } from '../../src/adapters/sqs-queue.js';
import { startFauxqs, type FauxqsServer } from './fauxqs.js';
import { applyMigrations, startPostgres, type PostgresServer } from './postgres.js';
import { createPostgrestStandIn, type PostgrestStandIn } from './postgrest-standin.js';

export interface LocalStackOptions {
  videosBucket?: string;
  framesBucket?: string;
  queueName?: string;
  maxReceiveCount?: number;
  /** Visibility timeout of the work queue in seconds (default 30; tests use 1). */
  visibilityTimeout?: number;
  /** Service-role key the stand-in accepts (default: a fake JWT-looking secret). */
  supabaseKey?: string;
}

export interface VideoRow {
  id: number;
  platform: string;
  shortcode: string;
  is_downloaded: boolean;
  is_extracted: boolean;
  frame_count: number | null;
  frames_manifest_key: string | null;
  extraction_owner: string | null;
  extraction_lease_until: Date | null;
  extraction_attempts: number;
}

export interface ErrorRow {
  platform: string | null;
  shortcode: string | null;
  message_id: string | null;
  stage: string;
  error_code: string;
  message: string;
  retryable: boolean;
  attempt: number;
  final: boolean;
}

export interface LocalStack {
  pg: PostgresServer;
  fauxqs: FauxqsServer;
  standIn: PostgrestStandIn;
  db: pg.Pool;
  s3: S3Client;
  sqs: SQSClient;
  queue: SqsQueue;
  dlq: SqsQueue;
  region: string;
  /** Environment for loadConfig/buildDeps pointing at this stack (SUPABASE_URL is the stand-in served over HTTP). */
  env: Record<string, string>;
  videosBucket: string;
  framesBucket: string;
  seedVideo(platform: string, shortcode: string, o?: { downloaded?: boolean; extracted?: boolean; frameCount?: number }): Promise<void>;
  putVideo(platform: string, shortcode: string, file: string | Buffer): Promise<void>;
  video(platform: string, shortcode: string): Promise<VideoRow | undefined>;
  errors(platform?: string, shortcode?: string): Promise<ErrorRow[]>;
  listFrames(platform: string, shortcode: string): Promise<string[]>;
  getObject(bucket: string, key: string): Promise<{ body: Buffer; contentType: string | undefined }>;
  stop(): Promise<void>;
}

export async function startLocalStack(o: LocalStackOptions = {}): Promise<LocalStack> {
  const region = 'us-east-1';
  const videosBucket = o.videosBucket ?? 'frames-videos';
  const framesBucket = o.framesBucket ?? 'frames-frames';
  const supabaseKey = o.supabaseKey ?? 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2VydmljZS1yb2xlLWxvY2FsLXNlY3JldA';
  // Any credentials work with fauxqs; set them so the SDK does not look for real ones.
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret-key';
  process.env.AWS_REGION ??= region;

  const [pgs, fq] = await Promise.all([startPostgres(), startFauxqs()]);
  try {
    await applyMigrations(pgs.connectionString);
    const standIn = createPostgrestStandIn({ connectionString: pgs.connectionString, apiKey: supabaseKey });
    // Also serve the stand-in over HTTP, so anything using the real fetch (e.g. `frames invoke`) reaches it.
    const httpServer = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
        standIn
          .fetch(`http://127.0.0.1${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(chunks.length ? { body: Buffer.concat(chunks).toString() } : {}) })
          .then(async (r) => {
            res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
            res.end(await r.text());
          })
          .catch((err: unknown) => {
            res.writeHead(500);
            res.end(String(err));
          });
      });
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const supabaseUrl = `http://127.0.0.1:${(httpServer.address() as { port: number }).port}`;
    const db = new pg.Pool({ connectionString: pgs.connectionString, max: 4 });
    db.on('error', () => undefined);
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test-secret-key' };
    const s3 = new S3Client({ region, endpoint: fq.endpoint, forcePathStyle: true, credentials });
    const sqs = new SQSClient({ region, endpoint: fq.endpoint, credentials });
    for (const b of new Set([videosBucket, framesBucket])) await s3.send(new CreateBucketCommand({ Bucket: b }));
    const queueName = o.queueName ?? 'frames-extract';
    const dlqRes = await sqs.send(new CreateQueueCommand({ QueueName: `${queueName}-dlq` }));
    const dlqAttrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqRes.QueueUrl, AttributeNames: ['QueueArn'] }));
    const qRes = await sqs.send(
      new CreateQueueCommand({
        QueueName: queueName,
        Attributes: {
          VisibilityTimeout: String(o.visibilityTimeout ?? 30),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqAttrs.Attributes?.QueueArn, maxReceiveCount: o.maxReceiveCount ?? 3 }),
        },
      }),
    );
    const queue = new SqsQueue(sqs, qRes.QueueUrl!);
    const dlq = new SqsQueue(sqs, dlqRes.QueueUrl!);
    const env: Record<string, string> = {
      S3_BUCKET_VIDEOS: videosBucket,
      S3_BUCKET_FRAMES: framesBucket,
      SUPABASE_URL: supabaseUrl,
      SUPABASE_KEY: supabaseKey,
      S3_ENDPOINT: fq.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      SQS_ENDPOINT: fq.endpoint,
      SQS_QUEUE_URL: qRes.QueueUrl!,
      AWS_REGION: region,
      MAX_RECEIVE_COUNT: String(o.maxReceiveCount ?? 3),
    };
    let stopped = false;
    return {
      pg: pgs,
      fauxqs: fq,
      standIn,
      db,
      s3,
      sqs,
      queue,
      dlq,
      region,
      env,
      videosBucket,
      framesBucket,
      async seedVideo(platform, shortcode, v = {}) {
        await db.query(
          `insert into public.videos (platform, shortcode, is_downloaded, is_extracted, frame_count) values ($1, $2, $3, $4, $5)
           on conflict (platform, shortcode) do update set is_downloaded = excluded.is_downloaded, is_extracted = excluded.is_extracted,
             frame_count = excluded.frame_count, extraction_owner = null, extraction_lease_until = null`,
          [platform, shortcode, v.downloaded ?? true, v.extracted ?? false, v.frameCount ?? null],
        );
      },
      async putVideo(platform, shortcode, file) {
        const body = typeof file === 'string' ? await readFile(file) : file;
        await s3.send(new PutObjectCommand({ Bucket: videosBucket, Key: `${platform}/${shortcode}/video.mp4`, Body: body, ContentType: 'video/mp4' }));
      },
      async video(platform, shortcode) {
        const r = await db.query<VideoRow>('select * from public.videos where platform = $1 and shortcode = $2', [platform, shortcode]);
        return r.rows[0];
      },
      async errors(platform, shortcode) {
        const r = platform
          ? await db.query<ErrorRow>('select * from public.extraction_errors where platform = $1 and shortcode = $2 order by id', [platform, shortcode])
          : await db.query<ErrorRow>('select * from public.extraction_errors order by id');
        return r.rows;
      },
      async listFrames(platform, shortcode) {
        const r = await s3.send(new ListObjectsV2Command({ Bucket: framesBucket, Prefix: `${platform}/${shortcode}/frames/` }));
        return (r.Contents ?? []).map((c) => c.Key!).sort();
      },
      async getObject(bucket, key) {
        const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return { body: Buffer.from(await r.Body!.transformToByteArray()), contentType: r.ContentType };
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        s3.destroy();
        sqs.destroy();
        httpServer.closeAllConnections();
        await new Promise((r) => httpServer.close(r));
        await Promise.allSettled([db.end(), standIn.close()]);
        await Promise.allSettled([fq.stop(), pgs.stop()]);
      },
    };
  } catch (err) {
    await Promise.allSettled([fq.stop(), pgs.stop()]);
    throw err;
  }
}
