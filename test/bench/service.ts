/**
 * Service bench (wired into `npm run bench` by test/bench/index.ts):
 * 1. End-to-end handler time for one 60 s 720p video against the local services (fauxqs S3+SQS,
 *    Postgres via supabase-js + stand-in), compared with the engine alone writing the same frames to
 *    a local directory (what `frames extract` does). Target: ratio <= 1.15.
 * 2. Cold start: importing src/lambda in a fresh `node` process (target <= 300 ms), plus, for honesty,
 *    what the first invocation then loads lazily (AWS SDK, supabase-js, engine).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHandler } from '../../src/lambda.js';
import { simulatedContext } from '../../src/service/local-runtime.js';
import type { Engine } from '../../src/service/job.js';
import { buildDeps } from '../../src/service/runtime.js';
import { toSqsEvent } from '../../src/adapters/sqs-queue.js';
import { startLocalStack } from '../helpers/local-stack.js';
import { makeCutsVideo } from '../fixtures/videos.js';

const run = promisify(execFile);

async function importMs(specifier: string, useTsx: boolean, extra = ''): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); ${extra} process.stdout.write(String(performance.now() - t));`;
  const args = [...(useTsx ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script];
  const { stdout } = await run(process.execPath, args, { cwd: process.cwd(), env: { ...process.env, LOG_LEVEL: 'SILENT' } });
  return Number(stdout.trim());
}

async function median(n: number, f: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await f());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

export async function benchService(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'frames-bench-service-'));
  try {
    console.log('service bench: generating a 60 s 1280x720 clip with 12 cuts...');
    const video = await makeCutsVideo(dir, { seconds: 60, width: 1280, height: 720, cuts: 12 });
    const engine = (await import('../../src/engine/index.js')) as unknown as Engine;

    // Baseline: the engine alone, frames written to a local dir (the work `frames extract` does).
    const extractOnce = async (): Promise<number> => {
      const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
      await mkdir(out);
      const t = performance.now();
      const gen = engine.extractFrames(video, { mode: 'scene', minFrames: 3, threshold: 27, format: 'jpeg', quality: 85 });
      for (let r = await gen.next(); !r.done; r = await gen.next()) await writeFile(path.join(out, `${r.value.index}.${r.value.ext}`), r.value.data);
      const ms = performance.now() - t;
      await rm(out, { recursive: true, force: true });
      return ms;
    };

    const stack = await startLocalStack();
    let handlerMs: number;
    let extractMs: number;
    try {
      const deps = await buildDeps({ ...stack.env, LOG_LEVEL: 'WARN', MIN_REMAINING_MS: '0' }, { fetch: stack.standIn.fetch, metrics: { videoProcessed: () => undefined } });
      const handler = createHandler(async () => deps);
      let i = 0;
      const handlerOnce = async (): Promise<number> => {
        const shortcode = `bench_${i++}`;
        await stack.seedVideo('instagram', shortcode);
        await stack.putVideo('instagram', shortcode, video);
        const ev = toSqsEvent([{ messageId: `b${i}`, receiptHandle: 'x', body: JSON.stringify({ shortcode, platform: 'instagram' }), receiveCount: 1, attributes: {} }], 'arn:aws:sqs:us-east-1:000000000000:q', 'us-east-1');
        const t = performance.now();
        const res = await handler(ev, simulatedContext());
        const ms = performance.now() - t;
        if (res.batchItemFailures.length) throw new Error(`bench handler run failed: ${JSON.stringify(await stack.errors('instagram', shortcode))}`);
        return ms;
      };
      await extractOnce(); // warm-up (page cache, sharp, ffmpeg)
      await handlerOnce();
      // Interleave so both see the same machine state.
      const e: number[] = [];
      const h: number[] = [];
      for (let k = 0; k < 3; k++) {
        e.push(await extractOnce());
        h.push(await handlerOnce());
      }
      e.sort((a, b) => a - b);
      h.sort((a, b) => a - b);
      extractMs = e[1]!;
      handlerMs = h[1]!;
    } finally {
      await stack.stop();
    }
    const ratio = handlerMs / extractMs;
    console.log(`service: end-to-end handler ${(handlerMs / 1000).toFixed(2)} s vs extract ${(extractMs / 1000).toFixed(2)} s -> ratio ${ratio.toFixed(3)} (target <= 1.15) ${ratio <= 1.15 ? 'OK' : 'OVER'}`);

    // Cold start: a fresh node process importing the handler module.
    const built = path.join(process.cwd(), 'dist', 'src', 'lambda.js');
    const useDist = existsSync(built);
    const spec = useDist ? built : path.join(process.cwd(), 'src', 'lambda.ts');
    await importMs(spec, !useDist); // warm the disk cache
    const coldMs = await median(5, () => importMs(spec, !useDist));
    console.log(`service: cold start import of ${useDist ? 'dist/src/lambda.js' : 'src/lambda.ts (via tsx; run npm run build for the real figure)'} ${coldMs.toFixed(0)} ms (target <= 300) ${coldMs <= 300 ? 'OK' : 'OVER'}`);
    const runtimeSpec = useDist ? path.join(process.cwd(), 'dist', 'src', 'service', 'runtime.js') : path.join(process.cwd(), 'src', 'service', 'runtime.ts');
    const engineSpec = useDist ? path.join(process.cwd(), 'dist', 'src', 'engine', 'index.js') : path.join(process.cwd(), 'src', 'engine', 'index.ts');
    const lazyMs = await median(3, () => importMs(runtimeSpec, !useDist, `await import(${JSON.stringify(engineSpec)});`));
    console.log(`service: first-invocation lazy load (AWS SDK, supabase-js, engine) ${lazyMs.toFixed(0)} ms (paid once per cold start, inside the first invoke)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  benchService().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
