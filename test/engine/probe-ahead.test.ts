/**
 * The probe started ahead (probe.ts probeAhead, used by the CLI's launcher): probeVideo takes it
 * only for the same, unchanged file, forwards a cancellation to it, and the launcher's argv rule
 * starts one only for `extract|detect <file>`.
 */
import { copyFile, mkdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { probeAheadFromArgv } from '../../src/cli/probe-ahead.js';
import { AbortedError } from '../../src/errors.js';
import { probeAhead, probesAhead, probeVideo } from '../../src/engine/probe.js';
import { concatClipInTmp, FPS, removeTmp, shot } from './helpers.js';

let dir: string;
let short: string;
let long: string;

beforeAll(async () => {
  ({ dir, clip: short } = await concatClipInTmp('probe-ahead', 'short.mp4', [shot('testsrc2=s=160x90:r=25', 1), shot('color=c=red:s=160x90:r=25', 1)]));
  const { clip: other } = await concatClipInTmp('probe-ahead', 'long.mp4', [shot('testsrc2=s=160x90:r=25', 3)]);
  long = path.join(dir, 'long.mp4');
  await copyFile(other, long);
  await removeTmp(path.dirname(other));
}, 60_000);

afterAll(async () => {
  await removeTmp(dir);
});

describe('probeAhead', () => {
  it('probeVideo takes the probe started ahead, with the same facts as a probe of its own', async () => {
    const fresh = await probeVideo(short);
    probeAhead(short);
    expect(probesAhead()).toBe(1);
    const taken = await probeVideo(short);
    expect(probesAhead()).toBe(0);
    expect(taken).toEqual(fresh);
  });

  it('a file replaced after the probe started is probed again: the result is the new file\'s', async () => {
    const file = path.join(dir, 'replaced.mp4');
    await copyFile(short, file);
    probeAhead(file);
    expect(probesAhead()).toBe(1);
    await copyFile(long, file);
    // The size differs anyway; a later mtime makes the change plain to any check.
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    const r = await probeVideo(file);
    expect(probesAhead()).toBe(0);
    expect(r.info.frameCount).toBe((await probeVideo(long)).info.frameCount);
    expect(r.info.frameCount).not.toBe((await probeVideo(short)).info.frameCount);
  });

  it('a cancelled caller gets AbortedError from the probe started ahead', async () => {
    probeAhead(short);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(probeVideo(short, { signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(probesAhead()).toBe(0);
  });

  it('a caller with a timeout of its own does not take it (the timeout belongs to its own run)', async () => {
    probeAhead(short);
    const r = await probeVideo(short, { timeoutMs: 30_000 });
    expect(probesAhead()).toBe(0);
    expect(r.info.frameCount).toBe(2 * FPS);
  });

  it('nothing starts for a folder, a missing or an empty file', async () => {
    const empty = path.join(dir, 'empty.mp4');
    await copyFile('/dev/null', empty);
    await mkdir(path.join(dir, 'folder'), { recursive: true });
    for (const p of [path.join(dir, 'folder'), path.join(dir, 'missing.mp4'), empty]) probeAhead(p);
    expect(probesAhead()).toBe(0);
  });
});

describe('the launcher rule (probeAheadFromArgv)', () => {
  const argv = (...a: string[]) => ['node', 'frames', ...a];

  it('extract <file> and detect <file> start a probe', async () => {
    probeAheadFromArgv(argv('extract', short, '--mode', 'all'));
    expect(probesAhead()).toBe(1);
    await probeVideo(short);
    probeAheadFromArgv(argv('detect', short));
    expect(probesAhead()).toBe(1);
    await probeVideo(short);
    expect(probesAhead()).toBe(0);
  });

  it('other commands, options before the input, or a URL start none', () => {
    probeAheadFromArgv(argv('report', short));
    probeAheadFromArgv(argv('extract', '--out', short, short));
    probeAheadFromArgv(argv('extract', `file://${short}`));
    probeAheadFromArgv(argv('extract'));
    probeAheadFromArgv(argv());
    expect(probesAhead()).toBe(0);
  });
});
