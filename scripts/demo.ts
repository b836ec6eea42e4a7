/**
 * `npm run demo`: the whole service locally, no AWS and no Docker.
 * Starts the local stack (fauxqs for S3 + SQS, PostgreSQL with the migrations, the PostgREST
 * stand-in for supabase-js), generates a ~10 s 640x360 clip with 4 hard cuts (ffmpeg lavfi),
 * stores it at {platform}/{shortcode}/video.mp4, marks it downloaded, sends the SQS message, runs the
 * real Lambda handler through a local queue poller, then prints the frames and the final status.
 * The last line is `demo ok: N frames ...`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHandler } from '../src/lambda.js';
import { pollOnce } from '../src/service/local-runtime.js';
import { buildDeps } from '../src/service/runtime.js';
import { startLocalStack } from '../test/helpers/local-stack.js';
import { makeCutsVideo } from '../test/fixtures/videos.js';

async function main(): Promise<number> {
  const t0 = performance.now();
  const platform = 'instagram';
  const shortcode = 'DemoClip_01';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'frames-demo-'));
  console.log('starting local stack (fauxqs S3+SQS, PostgreSQL + migrations, supabase-js via PostgREST stand-in)...');
  const [stack, video] = await Promise.all([startLocalStack({ visibilityTimeout: 30 }), makeCutsVideo(dir, { seconds: 10, width: 640, height: 360, cuts: 4 })]);
  try {
    console.log(`  S3/SQS at ${stack.fauxqs.endpoint}, Postgres at ${stack.pg.host}:${stack.pg.port}`);
    console.log(`sample video: ${video} (10 s, 640x360, 4 hard cuts)`);
    await stack.putVideo(platform, shortcode, video);
    await stack.seedVideo(platform, shortcode, { downloaded: true });
    const messageId = await stack.queue.send(JSON.stringify({ shortcode, platform }));
    console.log(`sent message ${messageId} to ${stack.queue.url}`);

    // The same handler factory as src/lambda.ts `handler`, with supabase-js talking to the stand-in.
    Object.assign(process.env, stack.env, { LOG_LEVEL: process.env.LOG_LEVEL ?? 'INFO', TMPDIR_FRAMES: dir });
    const handler = createHandler(() => buildDeps(process.env, { fetch: stack.standIn.fetch }));
    let processed = 0;
    for (let i = 0; i < 10 && processed === 0; i++) {
      const r = await pollOnce(stack.queue, handler, { region: stack.region, remainingMs: 900_000 });
      processed += r.deleted.length;
      if (r.failed.length) console.log(`poll: ${r.failed.length} message(s) failed and will come back`);
    }

    const keys = await stack.listFrames(platform, shortcode);
    console.log(`\nframes in s3://${stack.framesBucket}/${platform}/${shortcode}/frames/:`);
    for (const k of keys) {
      const o = await stack.getObject(stack.framesBucket, k);
      console.log(`  ${k.padEnd(48)} ${String(o.body.length).padStart(8)} bytes  ${o.contentType ?? ''}`);
    }
    const manifest = JSON.parse((await stack.getObject(stack.framesBucket, `${platform}/${shortcode}/frames/manifest.json`)).body.toString()) as {
      scenes: unknown[];
      frames: { index: number; time: number; scene: number }[];
      fallbackUsed: boolean;
    };
    for (const f of manifest.frames) console.log(`  frame ${f.index}: scene ${f.scene} at ${f.time.toFixed(2)} s`);
    const row = await stack.video(platform, shortcode);
    const errors = await stack.errors(platform, shortcode);
    console.log('\nfinal status:', JSON.stringify({ is_downloaded: row?.is_downloaded, is_extracted: row?.is_extracted, frame_count: row?.frame_count, frames_manifest_key: row?.frames_manifest_key, extraction_owner: row?.extraction_owner }));
    if (errors.length) console.log('extraction_errors:', JSON.stringify(errors));
    const frames = keys.filter((k) => !k.endsWith('manifest.json')).length;
    if (!row?.is_extracted || frames === 0 || frames !== row.frame_count) {
      console.log(`demo FAILED: is_extracted=${row?.is_extracted}, ${frames} frames in S3, frame_count=${row?.frame_count}`);
      return 1;
    }
    console.log(`demo ok: ${frames} frames, ${manifest.scenes.length} scenes, is_extracted=true in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  } finally {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
