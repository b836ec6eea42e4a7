/**
 * The image runs a production install: `npm ci --omit=dev` from the lockfile, plus the compiled
 * dist/. This test does the same with the packed package (`npm pack`, so only the published files
 * exist) in a temporary directory and loads the handler named by the Dockerfile's CMD there: a
 * runtime import of a devDependency, a file missing from the package, or a broken lazy import
 * fails here instead of at the first cold start in AWS.
 *
 * Needs a build (`npm run build`); without dist/src/lambda.js it is skipped with a message.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `CMD ["dist/src/lambda.handler"]` -> { file: 'dist/src/lambda.js', exportName: 'handler' }. */
export function handlerFromDockerfile(dockerfile: string): { file: string; exportName: string } {
  const cmds = [...dockerfile.matchAll(/^CMD\s+\[\s*"([^"]+)"\s*\]\s*$/gm)];
  const cmd = cmds.at(-1)?.[1];
  if (!cmd) throw new Error('docker/Dockerfile has no exec-form CMD ["<file>.<export>"]');
  const dot = cmd.lastIndexOf('.');
  return { file: `${cmd.slice(0, dot)}.js`, exportName: cmd.slice(dot + 1) };
}

const { file: HANDLER_FILE, exportName: HANDLER_EXPORT } = handlerFromDockerfile(
  readFileSync(path.join(REPO_ROOT, 'docker', 'Dockerfile'), 'utf8'),
);
const BUILT = existsSync(path.join(REPO_ROOT, HANDLER_FILE));
if (!BUILT) {
  console.warn(`production-install test skipped: ${HANDLER_FILE} does not exist yet. Run \`npm run build\` first.`);
}

/** Runs inside the production install: load the handler, its lazy imports, and call it once. */
const PROBE = `
const path = await import('node:path');
const fs = await import('node:fs');
const { pathToFileURL } = await import('node:url');
const [file, exportName] = process.argv.slice(-2);
const abs = path.resolve(file);
const out = { handlerType: undefined, lazy: {}, invoke: undefined };
const mod = await import(pathToFileURL(abs).href);
out.handlerType = typeof mod[exportName];
// Every module the handler imports lazily (import('./x.js')) must load too.
const src = fs.readFileSync(abs, 'utf8');
for (const m of src.matchAll(/import\\(\\s*['"](\\.{1,2}\\/[^'"]+)['"]\\s*\\)/g)) {
  const target = pathToFileURL(path.resolve(path.dirname(abs), m[1])).href;
  try { await import(target); out.lazy[m[1]] = 'ok'; }
  catch (e) { out.lazy[m[1]] = String(e && e.code || '') + ' ' + String(e && e.message || e); }
}
// One call with an empty batch and no service configuration: whatever it says, it must not be a
// missing module (a configuration error is expected and fine here).
try {
  const ctx = { getRemainingTimeInMillis: () => 300000, awsRequestId: 'probe', functionName: 'probe' };
  const r = await mod[exportName]({ Records: [] }, ctx);
  out.invoke = { ok: true, result: r };
} catch (e) {
  out.invoke = { ok: false, name: e && e.name, code: e && e.code, message: String(e && e.message || e) };
}
console.log(JSON.stringify(out));
`;

const maybe = BUILT ? it : it.skip;

describe('production install of the package', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'frames-prod-install-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  maybe(
    `loads ${HANDLER_FILE} and exports a "${HANDLER_EXPORT}" function with dev dependencies omitted`,
    async () => {
      // Prepare: pack exactly what would be published/copied, then install it like the image does.
      const { stdout: packJson } = await execFileAsync(
        'npm',
        ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
        { cwd: REPO_ROOT, timeout: 60_000 },
      );
      const tarball = (JSON.parse(packJson) as Array<{ filename: string }>)[0]!.filename;
      await execFileAsync('tar', ['xzf', path.join(dir, tarball), '-C', dir]);
      const pkgDir = path.join(dir, 'package');
      copyFileSync(path.join(REPO_ROOT, 'package-lock.json'), path.join(pkgDir, 'package-lock.json'));
      const common = ['--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
      try {
        await execFileAsync('npm', ['ci', ...common], { cwd: pkgDir, timeout: 120_000 });
      } catch (err) {
        // npm 11 rejects some lockfiles that omit other platforms' optional bindings
        // ("Missing: @unrs/resolver-binding-... from lock file"); the image's npm 10 accepts them.
        // Install the same locked versions with `npm install` rather than skip the check.
        const text = String((err as { stderr?: string }).stderr ?? err);
        if (!/can only install packages when your package\.json and package-lock\.json/.test(text)) throw err;
        console.warn(`npm ci refused the lockfile here (${text.match(/Missing: \S+/)?.[0] ?? 'out of sync'}); using npm install --omit=dev`);
        await execFileAsync('npm', ['install', '--no-save', ...common], { cwd: pkgDir, timeout: 120_000 });
      }
      expect(existsSync(path.join(pkgDir, HANDLER_FILE))).toBe(true);
      // dev dependencies really are absent, so a runtime import of one would fail below
      for (const dev of ['typescript', 'jest', 'aws-cdk-lib', 'tsx']) {
        expect(existsSync(path.join(pkgDir, 'node_modules', dev))).toBe(false);
      }

      // Act
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', AWS_REGION: 'us-east-1' };
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--input-type=module', '-e', PROBE, HANDLER_FILE, HANDLER_EXPORT],
        { cwd: pkgDir, env, timeout: 60_000 },
      );
      const probe = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        handlerType: string;
        lazy: Record<string, string>;
        invoke: { ok: boolean; code?: string; message?: string };
      };

      // Assess
      expect(probe.handlerType).toBe('function');
      for (const [specifier, outcome] of Object.entries(probe.lazy)) {
        expect(`${specifier}: ${outcome}`).toBe(`${specifier}: ok`);
      }
      expect(probe.invoke.code).not.toBe('ERR_MODULE_NOT_FOUND');
      expect(probe.invoke.message ?? '').not.toMatch(/Cannot find (module|package)/);
    },
    120_000,
  );

  it('reads the handler from the Dockerfile CMD', () => {
    expect(handlerFromDockerfile('FROM x\nCMD ["dist/src/lambda.handler"]\n')).toEqual({ file: 'dist/src/lambda.js', exportName: 'handler' });
    expect(() => handlerFromDockerfile('FROM x\n')).toThrow(/no exec-form CMD/);
  });
});
