/**
 * The default stack's template, normalised for comparison: asset hashes (they change with any file
 * the image context holds, i.e. every source edit) become `<asset-hash>`. Used by the fixture test
 * that keeps the default stack exactly as it was before the long-video worker existed, and by
 * `node --import tsx cdk/test/default-template.ts > cdk/test/fixtures/template-before-worker.json`
 * to write that fixture.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FramesStack, REPO_ROOT } from '../lib/frames-stack.js';
import { settingsFromContext } from '../lib/settings.js';

/** Replace 64-hex asset hashes anywhere in the template (image URIs, asset metadata). */
export function normaliseAssetHashes(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[a-f0-9]{64}/g, '<asset-hash>'));
}

/** Synthesize the stack with cdk.json's context plus `extra`, as the tests do; returns the normalised template. */
export function defaultTemplate(extra: Record<string, unknown> = {}): unknown {
  const context = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
  const outdir = mkdtempSync(path.join(tmpdir(), 'frames-default-template-'));
  try {
    const app = new App({ outdir, context: { ...context, 'aws:cdk:enable-asset-metadata': true, ...extra } });
    const stack = new FramesStack(app, 'Test', { settings: settingsFromContext((k) => app.node.tryGetContext(k)) });
    return normaliseAssetHashes(Template.fromStack(stack).toJSON());
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(REPO_ROOT, 'cdk/test/default-template.ts')) {
  process.stdout.write(`${JSON.stringify(defaultTemplate(), null, 2)}\n`);
}
