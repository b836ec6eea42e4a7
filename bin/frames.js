#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli.ts, compiled to dist/ by `npm run build` (run by `npm ci` via prepare).
import { main } from '../dist/src/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
