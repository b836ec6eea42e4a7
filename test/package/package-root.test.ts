/**
 * The package root as Node resolves it for a user: package.json's `exports` points at built files
 * that exist, and importing it loads nothing of the service, the adapters, the Lambda or the AWS
 * SDK. The module list comes from a resolve hook in a fresh Node process (module.registerHooks),
 * so it sees ESM and CommonJS loads alike; the same probe on the S3 adapter must see the AWS
 * SDK, which shows the probe can fail.
 *
 * Needs a build (`npm run build`); without dist/src/index.js it is skipped with a message.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  main: string; types: string; exports: Record<string, string | Record<string, string>>;
};
const BUILT = existsSync(path.join(ROOT, 'dist/src/index.js'));
if (!BUILT) console.warn('package-root test skipped: dist/src/index.js does not exist yet. Run `npm run build` first.');
const maybe = BUILT ? it : it.skip;

/** Prints every module URL resolved while importing argv[1] (a file URL). */
const PROBE = `
import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
await import(process.argv[1]);
console.log(JSON.stringify(seen));
`;

async function loadedBy(file: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE, pathToFileURL(path.join(ROOT, file)).href], { cwd: ROOT, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as string[];
}

const FORBIDDEN = [/\/node_modules\/@aws-sdk\//, /\/node_modules\/@smithy\//, /\/node_modules\/@supabase\//, /\/node_modules\/@aws-lambda-powertools\//, /\/dist\/src\/(service|adapters|cli)\//, /\/dist\/src\/lambda\.js$/];

describe('package root', () => {
  it('package.json exports "." with types first and main/types naming the same files', () => {
    const root = pkg.exports['.'] as Record<string, string>;
    expect(Object.keys(root)[0]).toBe('types');
    expect(root.types).toBe(`./${pkg.types}`);
    expect(root.default).toBe(`./${pkg.main}`);
    expect(pkg.main).toBe('dist/src/index.js');
  });

  maybe('the built files the exports map names exist', () => {
    const root = pkg.exports['.'] as Record<string, string>;
    for (const f of [root.types, root.default] as string[]) expect(existsSync(path.join(ROOT, f))).toBe(true);
  });

  maybe('importing the package root loads no service, adapter, Lambda or AWS module', async () => {
    const urls = await loadedBy(pkg.main);
    expect(urls.length).toBeGreaterThan(10);
    expect(urls.some((u) => u.endsWith('/dist/src/engine/detect-scenes.js'))).toBe(true);
    expect(urls.filter((u) => FORBIDDEN.some((re) => re.test(u)))).toEqual([]);
  });

  maybe('the same probe sees the AWS SDK when the S3 adapter is imported (so it can fail)', async () => {
    const urls = await loadedBy('dist/src/adapters/s3-object-store.js');
    expect(urls.some((u) => /\/node_modules\/@aws-sdk\//.test(u))).toBe(true);
  });

  maybe('the root exports the documented library and error classes', async () => {
    const m = (await import(pathToFileURL(path.join(ROOT, pkg.main)).href)) as Record<string, unknown>;
    for (const name of ['extractFrames', 'detectScenes', 'buildManifest', 'collectFrames', 'probeVideo', 'formatScenes', 'toCsv', 'toEdl', 'toWebVtt', 'toOtio']) {
      expect(typeof m[name]).toBe('function');
    }
    for (const name of ['FramesError', 'PermanentError', 'TransientError', 'DeadlineError', 'AbortedError', 'VideoNotFoundError', 'InvalidVideoError', 'NoVideoStreamError', 'ValidationError', 'FfmpegNotFoundError']) {
      expect(typeof m[name]).toBe('function');
    }
    expect(new (m.InvalidVideoError as new (c: string, msg: string) => Error)('EMPTY_FILE', 'x')).toBeInstanceOf(m.PermanentError as new () => Error);
  });
});
