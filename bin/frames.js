#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli/main.ts, compiled to dist/ by `npm run build`.
//
// Memory: megabyte frame buffers come and go all the time. With glibc's defaults every libuv and
// libvips thread gets its own malloc arena and the mmap threshold creeps up, so freed buffers stay
// resident; V8's default young generation is also larger than this workload needs. Measured with
// `npm run bench -- memory` (1080p, whole process tree): 363 MB at 1 min and 502 MB at 5 min before
// these and the fixes in the engine, 290 and 298 MB after. glibc and V8 read these settings only at
// start-up, so where Node can replace its own process image (>= 22.15) we restart once with them
// (about 40 ms); elsewhere only the thread settings below apply. The environment still wins.
// The mmap threshold is no longer fixed (it was 128 KB): frame buffers are pooled now, and a fixed
// threshold made every sharp encode map and fault in its image-sized buffers anew (20 s of 720p in
// --mode all: 1.2 M minor faults, 5 s of system time; 2 s without). Memory bench after: 271 / 268 MB.
// One arena, not two (2026-12-03): the film's hybrid run peaked at 277-279 MB of tree RSS against
// 295-305, scene mode 720p / 1080p at 190 / 256 MB against 194-200 / 264-268, at the same speed
// (frames are encoded one at a time; --mode all --format webp, four encodes at once, 1% slower).
const MALLOC = { MALLOC_ARENA_MAX: '1' };
// Only commands that handle full-resolution frames need it; `detect` and `--help` start faster without.
const LIGHT = new Set(['detect', 'enqueue', 'help']);
const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
const heavy = command !== undefined && !LIGHT.has(command);
if (heavy && process.platform === 'linux' && typeof process.execve === 'function' && !process.env.FRAMES_MALLOC_SET) {
  const env = { ...MALLOC, ...process.env, FRAMES_MALLOC_SET: '1' };
  const v8Flags = process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) ? [] : ['--max-semi-space-size=4'];
  process.execve(process.execPath, [process.execPath, ...v8Flags, ...process.execArgv, ...process.argv.slice(1)], env);
}
// sharp encodes on libuv's pool: `--mode all` encodes one frame per core at once (the engine caps
// it, FRAMES_ENCODE_THREADS overrides); the other modes encode one at a time whatever the pool size.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(1, Math.min(4, (await import('node:os')).availableParallelism())));
process.env.VIPS_CONCURRENCY ??= '1';
// Probe the video while the CLI's modules load (src/cli/probe-ahead.ts): ffmpeg's start-up then
// overlaps them. Best effort: without dist/ the import below reports what is missing.
try {
  (await import('../dist/src/cli/probe-ahead.js')).probeAheadFromArgv(process.argv);
} catch {
  // nothing started: the engine probes as usual
}
let main;
try {
  ({ main } = await import('../dist/src/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  console.error('frames: the compiled CLI (dist/) is missing: run `npm run build` (or `bash scripts/setup.sh`) first');
  process.exit(1);
}

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
