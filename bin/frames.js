#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli/main.ts, compiled to dist/ by `npm run build`.
// Memory: every libuv and libvips worker thread gets its own malloc arena, and frames are encoded
// one at a time anyway, so fewer threads keep the resident size flat (measured: 250 -> ~185 MB on
// 1080p). Set before anything starts those pools; the environment can still override.
process.env.UV_THREADPOOL_SIZE ??= '1';
process.env.VIPS_CONCURRENCY ??= '1';
const { main } = await import('../dist/src/cli/main.js');

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
