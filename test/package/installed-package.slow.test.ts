/**
 * The package as a user meets it: `npm pack`, then `npm install <tarball>` into an empty project
 * in a temp dir, then the README's import from plain ESM JavaScript and from TypeScript
 * (`tsc --noEmit` over a strict NodeNext consumer, then the same file run by Node), each running
 * detectScenes on a generated clip with 2 hard cuts. Deep imports past the `exports` map must be
 * refused.
 *
 * The install uses --prefer-offline (the npm cache first, the registry for what is missing) and
 * --ignore-scripts (ffmpeg-static's download cannot work offline; the engine falls back to the
 * system ffmpeg). Needs a build (`npm run build`); without dist/src/index.js it is skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeCutsVideo } from '../fixtures/videos.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILT = existsSync(path.join(ROOT, 'dist/src/index.js'));
if (!BUILT) console.warn('installed-package test skipped: dist/src/index.js does not exist yet. Run `npm run build` first.');
const maybe = BUILT ? it : it.skip;
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const TYPES_NODE = '@types/node@22.20.5';

const CONSUMER_JS = `
import { detectScenes, InvalidVideoError, PermanentError, formatScenes } from 'scene-frames';
const result = await detectScenes(process.argv[2]);
let deep = 'allowed';
try { await import('scene-frames/dist/src/lambda.js'); } catch (e) { deep = e.code; }
let bad = 'none';
try { await detectScenes(process.argv[3]); } catch (e) { bad = e instanceof InvalidVideoError && e instanceof PermanentError ? e.code : String(e); }
console.log(JSON.stringify({ cuts: result.cuts, scenes: result.scenes.length, csvLines: formatScenes(result, 'csv').trim().split('\\n').length, deep, bad }));
`;

const CONSUMER_TS = `
import { detectScenes, type DetectionResult, type Scene, type ExtractOptions, FramesError } from 'scene-frames';
const options: ExtractOptions = { mode: 'scene', format: 'webp', threshold: 27 };
const result: DetectionResult = await detectScenes(process.argv[2] as string, { threshold: options.threshold ?? 27 });
const firstCut: Scene | undefined = result.scenes[1];
const kind: 'cut' | 'gradual' | null | undefined = firstCut?.transitionIn;
const err: FramesError | null = null;
console.log(JSON.stringify({ cuts: result.cuts, kind, err }));
`;

const TSCONFIG = { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['consumer.ts'] };

describe('the packed package installed into a fresh project', () => {
  let dir: string;
  let project: string;
  let clip: string;
  let notVideo: string;

  beforeAll(async () => {
    if (!BUILT) return;
    dir = mkdtempSync(path.join(tmpdir(), 'frames-consumer-'));
    clip = await makeCutsVideo(dir, { seconds: 6, width: 320, height: 180, cuts: 2 });
    notVideo = path.join(dir, 'empty.mp4');
    writeFileSync(notVideo, '');
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: 120_000 });
    const tarball = path.join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
    project = path.join(dir, 'consumer');
    await run('mkdir', ['-p', project]);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball, TYPES_NODE], { cwd: project, timeout: 300_000 });
    writeFileSync(path.join(project, 'consumer.mjs'), CONSUMER_JS);
    writeFileSync(path.join(project, 'consumer.ts'), CONSUMER_TS);
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  }, 400_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  maybe('plain ESM JavaScript imports it and detects the 2 cuts; deep imports are refused; errors are the documented classes', async () => {
    const { stdout } = await run(process.execPath, ['consumer.mjs', clip, notVideo], { cwd: project, timeout: 120_000 });
    const out = JSON.parse(stdout.trim()) as { cuts: number[]; scenes: number; csvLines: number; deep: string; bad: string };
    expect(out.scenes).toBe(3);
    expect(out.cuts).toHaveLength(2);
    expect(out.cuts[0]).toBeGreaterThanOrEqual(49);
    expect(out.cuts[0]).toBeLessThanOrEqual(51);
    expect(out.csvLines).toBe(2 + 3);
    expect(out.deep).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(out.bad).toBe('EMPTY_FILE');
  });

  maybe('a strict TypeScript consumer type-checks with tsc --noEmit (types through the exports map)', async () => {
    // One tsc run over the consumer and a wrong use of the same types: the only errors must be the
    // wrong file's, so the check is real (without types everything would be any, or TS7016).
    writeFileSync(path.join(project, 'wrong.ts'), "import { detectScenes } from 'scene-frames';\nconst n: number = (await detectScenes('x')).scenes;\nexport { n };\n");
    writeFileSync(path.join(project, 'tsconfig.both.json'), JSON.stringify({ ...TSCONFIG, files: ['consumer.ts', 'wrong.ts'] }));
    const out = await run(process.execPath, [TSC, '-p', 'tsconfig.both.json'], { cwd: project, timeout: 180_000 }).then(() => 'no errors', (e: { stdout?: string }) => e.stdout ?? 'failed');
    const errors = out.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^wrong\.ts\(2,7\): error TS2322/);
  });

  maybe('the TypeScript consumer runs (Node strips the types) and sees the same cuts', async () => {
    const { stdout } = await run(process.execPath, ['--no-warnings', 'consumer.ts', clip], { cwd: project, timeout: 120_000 });
    const out = JSON.parse(stdout.trim()) as { cuts: number[]; kind: string };
    expect(out.cuts).toHaveLength(2);
    expect(out.kind).toBe('cut');
  });
});
