/**
 * `frames extract --out s3://bucket/prefix` against fauxqs (the local S3 emulator): the real CLI
 * with S3_ENDPOINT, then the S3 sink over the service's S3 adapter with injected faults (some
 * uploads fail once and are retried; a permanent failure gives a clear error and no manifest).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Client, S3ObjectStore } from '../../src/adapters/s3-object-store.js';
import { ObjectStoreError } from '../../src/adapters/errors.js';
import type { ObjectStore } from '../../src/adapters/object-store.js';
import { removeDeadSpools, S3Sink } from '../../src/cli/s3-sink.js';
import { extractToSink } from '../../src/cli/write-frames.js';
import { collectFrames } from '../../src/engine/extract.js';
import { PermanentError } from '../../src/errors.js';
import type { Manifest } from '../../src/engine/index.js';
import { exec, ff, makeTmp, removeTmp, repoRoot } from '../engine/helpers.js';
import { startFauxqs, type FauxqsServer } from '../helpers/fauxqs.js';

let fq: FauxqsServer;
let s3: S3Client;
let store: S3ObjectStore;
let tmp: string;
let clip: string;
const BUCKET = 'frames-out';
const env = () => ({ ...process.env, S3_ENDPOINT: fq.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });

beforeAll(async () => {
  tmp = await makeTmp('cli-s3');
  clip = path.join(tmp, 'clip.mp4');
  [fq] = await Promise.all([
    startFauxqs(),
    ff(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=30', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]),
  ]);
  s3 = createS3Client({ region: 'us-east-1', endpoint: fq.endpoint, forcePathStyle: true, connectTimeoutMs: 5000, readTimeoutMs: 30000 });
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  store = new S3ObjectStore(s3);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const r = await exec(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  if (r.code !== 0) throw new Error(`build failed: ${r.stdout.toString()}`);
}, 120_000);
afterAll(async () => { await fq?.stop(); await removeTmp(tmp); });

const getText = async (key: string): Promise<string> => (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString()) ?? '';

/** The real store, with puts of chosen keys failing as `fail` says. */
function faulty(fail: (key: string, attempt: number) => Error | null): ObjectStore & { attempts: Map<string, number> } {
  const attempts = new Map<string, number>();
  return {
    attempts,
    head: (...a) => store.head(...a),
    download: (...a) => store.download(...a),
    list: (...a) => store.list(...a),
    deleteMany: (...a) => store.deleteMany(...a),
    put: async (bucket, key, body, type, signal) => {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      const err = fail(key, n);
      if (err) throw err;
      return store.put(bucket, key, body, type, signal);
    },
  };
}

describe('frames extract --out s3://', () => {
  it('uploads the frames and the manifest; a second run is skipped as finished', async () => {
    // Act
    const r = await exec(process.execPath, [path.join(repoRoot, 'bin/frames.js'), 'extract', clip, '-o', `s3://${BUCKET}/runs/one`, '--fps', '1', '--name', 'f{frame:04}'], { env: env() });

    // Assert
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const keys = await store.list(BUCKET, 'runs/one/');
    const m = JSON.parse(await getText('runs/one/manifest.json')) as Manifest;
    expect(m.frames.length).toBe(4);
    expect(keys.sort()).toEqual([...m.frames.map((f) => `runs/one/${f.file}`), 'runs/one/manifest.json'].sort());
    expect(m.frames[0]?.file).toMatch(/^f\d{4}\.jpg$/);
    const again = await exec(process.execPath, [path.join(repoRoot, 'bin/frames.js'), 'extract', tmp, '-o', `s3://${BUCKET}/runs/folder`, '--fps', '1'], { env: env() });
    expect(again.code).toBe(0);
    expect((await store.list(BUCKET, 'runs/folder/clip/')).length).toBe(5);
  });

  it('uploads that fail once are retried: every frame arrives, manifest last', async () => {
    // Prepare: every second frame's first attempt fails (a 503), and the manifest's too.
    let k = 0;
    const firstTry = new Set<string>();
    const s = faulty((key, n) => (n === 1 && (key.endsWith('manifest.json') || k++ % 2 === 0) ? (firstTry.add(key), new ObjectStoreError('S3 503 SlowDown (injected)', 503)) : null));
    const sink = new S3Sink(s, { bucket: BUCKET, prefix: 'retry/' }, { concurrency: 2, retry: { retries: 3, minDelayMs: 10 } });

    // Act
    const { manifest } = await extractToSink(clip, sink, { mode: 'interval', interval: 0.5 });

    // Assert
    expect(firstTry.size).toBeGreaterThan(2);
    for (const key of firstTry) expect(s.attempts.get(key)).toBe(2);
    const keys = await store.list(BUCKET, 'retry/');
    expect(keys.sort()).toEqual([...manifest.frames.map((f) => `retry/${f.file}`), 'retry/manifest.json'].sort());
    expect(JSON.parse(await getText('retry/manifest.json'))).toEqual(JSON.parse(JSON.stringify(manifest)));
    // ffmpeg wrote the JPEGs into the sink's own local folder (unpicked candidates too): gone now.
    expect(sink.spool?.dir).toMatch(/frames-s3-/);
    expect(existsSync(sink.spool?.dir as string)).toBe(false);
  });

  it('--mode all as PNG: each object is the image the library yields, encoded into the sink\'s local folder and read back for its upload; the folder is gone after the run', async () => {
    // Prepare: a look into the sink's folder at each upload.
    const seen = new Set<string>();
    const sink: S3Sink = new S3Sink(faulty(() => {
      const dir = sink.spool?.dir as string;
      if (existsSync(dir)) for (const n of readdirSync(dir)) seen.add(n); // (gone before the manifest)
      return null;
    }), { bucket: BUCKET, prefix: 'png/' });
    const opts = { mode: 'all' as const, format: 'png' as const };

    // Act
    const { manifest } = await extractToSink(clip, sink, opts);

    // Assert
    const { frames } = await collectFrames(clip, opts);
    expect(manifest.frames).toHaveLength(120);
    expect(frames).toHaveLength(120);
    for (const k of [0, 1, 59, 119]) {
      const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `png/${k}.png` }));
      const bytes = Buffer.from(await (body.Body as NonNullable<typeof body.Body>).transformToByteArray());
      expect(bytes.equals((frames[k] as (typeof frames)[number]).data)).toBe(true);
      expect(manifest.frames[k]?.bytes).toBe(bytes.length);
    }
    expect((await store.list(BUCKET, 'png/')).length).toBe(121);
    expect([...seen].filter((n) => /^\.spool\.\d+\.[0-9a-z]+-e-\d{8}\.png$/.test(n)).length).toBeGreaterThan(10);
    expect(sink.spool?.dir).toMatch(/frames-s3-/);
    expect(existsSync(sink.spool?.dir as string)).toBe(false);
  });

  it('a permanent failure: a clear error naming the upload, no manifest, the frames it wrote deleted', async () => {
    // Prepare
    const s = faulty((key) => (key.endsWith('/3.jpg') ? new PermanentError('ACCESS_DENIED', 'S3 403 AccessDenied on PutObject (injected)') : null));
    const sink = new S3Sink(s, { bucket: BUCKET, prefix: 'perm/' }, { retry: { retries: 3, minDelayMs: 10 } });

    // Act
    const err = await extractToSink(clip, sink, { mode: 'interval', interval: 0.5 }).catch((e: unknown) => e);

    // Assert
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/upload to s3:\/\/frames-out\/perm\/ failed: .*AccessDenied/);
    expect(s.attempts.get('perm/3.jpg')).toBe(1); // permanent: not retried
    expect(await store.list(BUCKET, 'perm/')).toEqual([]);
    expect(existsSync(sink.spool?.dir as string)).toBe(false);
  });
});

describe('the S3 sink\'s local folders', () => {
  it('a killed run\'s folder (its process gone) is removed when the next sink begins; live runs\' folders and other files stay', async () => {
    // Prepare: folders named for a process that has exited, for this one, for a live one.
    const root = path.join(tmp, 'tmpdir');
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.once('exit', r));
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    const names = { dead: `frames-s3-${gone.pid}-aB3xYz`, own: `frames-s3-${process.pid}-Qw12er`, live: `frames-s3-${live.pid}-Zx98cv`, other: 'frames-s3-notes' };
    for (const n of Object.values(names)) await mkdir(path.join(root, n), { recursive: true });
    await writeFile(path.join(root, names.dead, '.spool.1.x-e-00000001.png'), 'half an image');

    // Act: a sink begins with that as its temp folder.
    const sink = new S3Sink(store, { bucket: BUCKET, prefix: 'tmpclean/' }, { tmpDir: root });
    let during: string[];
    try {
      await sink.begin();
      during = readdirSync(root);
      await sink.abandon();
      await removeDeadSpools(root); // again: nothing more goes
    } finally {
      live.kill();
    }

    // Assert
    expect(during).toContain(path.basename(sink.spool?.dir as string));
    expect(during).not.toContain(names.dead);
    expect(readdirSync(root).sort()).toEqual([names.own, names.live, names.other].sort());
  });
});

