/**
 * `npm run bench -- rate`: processing milliseconds per second of video, the figure behind routing
 * (ROUTE_MS_PER_VIDEO_SECOND). Extracts frames from a generated 1080p H.264 clip with the real engine
 * (probe + analysis + frame encoding, in memory: no S3) and compares ms per video-second with the
 * documented default, as a ratio measured in this run. PASS when the measured rate is below the
 * default (the estimate errs towards routing, not towards timing out). Download and upload time are
 * not in it: the default's margin covers them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectFrames } from '../../src/engine/index.js';
import { DEFAULT_MS_PER_VIDEO_SECOND } from '../../src/service/routing.js';
import { makeCutsVideo } from '../fixtures/videos.js';

export async function run(): Promise<void> {
  console.log('== rate (processing ms per second of video)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'frames-rate-'));
  try {
    const seconds = 20;
    const clip = await makeCutsVideo(dir, { seconds, width: 1920, height: 1080, cuts: 6 });
    const t0 = performance.now();
    const { result } = await collectFrames(clip);
    const ms = performance.now() - t0;
    const rate = ms / result.video.durationSec;
    const ratio = rate / DEFAULT_MS_PER_VIDEO_SECOND;
    console.log(`clip: ${result.video.durationSec.toFixed(1)} s 1920x1080 H.264, ${result.frames.length} frames, ${os.cpus().length} cores`);
    console.log(`measured: ${Math.round(ms)} ms = ${rate.toFixed(1)} ms per video-second; default ROUTE_MS_PER_VIDEO_SECOND ${DEFAULT_MS_PER_VIDEO_SECOND}; ratio ${ratio.toFixed(2)}`);
    console.log(ratio <= 1 ? 'PASS: the default is at or above the measured rate' : 'FAIL: the measured rate is above the default: raise ROUTE_MS_PER_VIDEO_SECOND');
    if (ratio > 1) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
