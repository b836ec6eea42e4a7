/**
 * Hostile and odd media files, generated here with the system ffmpeg, through the engine's
 * extractFrames (run in a child node process, outside jest's VM, where the engine behaves as in
 * production; see collectOutOfProcess) and a few through the whole service. Each row is a file and its documented
 * outcome (README, "Failure semantics"): either success with a bounded number of frames, or one
 * specific PERMANENT error code. Nothing may hang, crash the process, or make ffmpeg read another
 * local file or a URL: the referenced "segments" are FIFOs (opening one for reading would be seen
 * by the non-blocking writer below, and would otherwise block forever) and a local HTTP server
 * that counts requests.
 */
import { execFile } from 'node:child_process';
import { constants as fsc, openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { toSqsEvent } from '../../src/adapters/sqs-queue.js';
import { collectOutOfProcess, ff } from './helpers.js';
import { createHandler } from '../../src/lambda.js';
import { simulatedContext } from '../../src/service/local-runtime.js';
import { MemoryMetrics } from '../../src/service/metrics.js';
import { buildDeps } from '../../src/service/runtime.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

const run = promisify(execFile);

let dir: string;
let fifo: string;
let httpHits = 0;
let httpUrl: string;
let server: http.Server;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'frames-hostile-media-'));
  fifo = path.join(dir, 'secret.fifo');
  await run('mkfifo', [fifo]);
  server = http.createServer((req, res) => {
    httpHits++;
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  httpUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** True if some process holds the FIFO open for reading right now. */
function fifoHasReader(): boolean {
  try {
    closeSync(openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK));
    return true;
  } catch {
    return false; // ENXIO: nobody is reading it
  }
}

async function cuts(name: string, extra: string[] = [], o: { size?: string; seconds?: number; movflags?: string } = {}): Promise<string> {
  const out = path.join(dir, name);
  await ff([
    '-f', 'lavfi', '-i', `testsrc2=size=${o.size ?? '160x120'}:rate=25:duration=${o.seconds ?? 2}`,
    ...extra, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', ...(o.movflags ? ['-movflags', o.movflags] : []), out,
  ]);
  return out;
}

/** Patch every `mdhd` (media header) timescale in an MP4 to 0: a stream whose time base is 0 (no usable fps). */
async function zeroTimescale(src: string, name: string): Promise<string> {
  const buf = Buffer.from(await readFile(src));
  let patched = 0;
  for (let i = buf.indexOf('mdhd'); i >= 0; i = buf.indexOf('mdhd', i + 4)) {
    const version = buf[i + 4];
    const at = i + 4 + 4 + (version === 1 ? 16 : 8);
    buf.writeUInt32BE(0, at);
    patched++;
  }
  if (!patched) throw new Error('no mdhd box');
  const out = path.join(dir, name);
  await writeFile(out, buf);
  return out;
}

type Outcome = { ok: true; minFrames: number; maxFrames: number; withinMs?: number } | { ok: false; codes: string[] };

interface MediaCase {
  name: string;
  make: () => Promise<string>;
  expected: Outcome;
  /** Also run it through the service and expect this permanent error code recorded. */
  service?: boolean;
}

const OK = (minFrames: number, maxFrames: number, withinMs?: number): Outcome => ({ ok: true, minFrames, maxFrames, ...(withinMs ? { withinMs } : {}) });
const ERR = (...codes: string[]): Outcome => ({ ok: false, codes });

const CASES: MediaCase[] = [
  { name: 'zero-byte file', make: async () => { const p = path.join(dir, 'zero.mp4'); await writeFile(p, Buffer.alloc(0)); return p; }, expected: ERR('EMPTY_FILE'), service: true },
  {
    name: 'truncated mp4 (moov at the end, cut in half)',
    make: async () => {
      const full = await cuts('full-moov-end.mp4');
      const b = await readFile(full);
      const p = path.join(dir, 'truncated-moov-end.mp4');
      await writeFile(p, b.subarray(0, Math.floor(b.length / 2)));
      return p;
    },
    expected: ERR('TRUNCATED_VIDEO'),
    service: true,
  },
  {
    name: 'truncated mp4 (moov first, media data cut at 40%)',
    make: async () => {
      const full = await cuts('full-faststart.mp4', [], { movflags: '+faststart' });
      const b = await readFile(full);
      const p = path.join(dir, 'truncated-faststart.mp4');
      await writeFile(p, b.subarray(0, Math.floor(b.length * 0.4)));
      return p;
    },
    expected: ERR('TRUNCATED_VIDEO'),
  },
  { name: 'random bytes', make: async () => { const p = path.join(dir, 'random.mp4'); await writeFile(p, Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + 13) % 251))); return p; }, expected: ERR('UNREADABLE_MEDIA') },
  { name: 'a text file', make: async () => { const p = path.join(dir, 'text.mp4'); await writeFile(p, 'this is not a video\n'.repeat(100)); return p; }, expected: ERR('UNREADABLE_MEDIA', 'UNSUPPORTED_INPUT') },
  {
    name: 'audio only (AAC in MP4)',
    make: async () => { const p = path.join(dir, 'audio.mp4'); await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', p]); return p; },
    expected: ERR('NO_VIDEO_STREAM'),
    service: true,
  },
  {
    name: 'a PNG still image named .mp4',
    make: async () => { const p = path.join(dir, 'still-png.mp4'); await ff(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-f', 'image2', '-c:v', 'png', p]); return p; },
    expected: ERR('UNSUPPORTED_INPUT', 'UNREADABLE_MEDIA'),
    service: true,
  },
  {
    name: 'a JPEG still image named .mp4',
    make: async () => { const p = path.join(dir, 'still-jpeg.mp4'); await ff(['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', p]); return p; },
    expected: ERR('UNSUPPORTED_INPUT', 'UNREADABLE_MEDIA'),
  },
  {
    name: 'an animated GIF named .mp4 (a whitelisted demuxer: accepted)',
    make: async () => { const p = path.join(dir, 'anim-gif.mp4'); await ff(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=10:duration=1', '-f', 'gif', p]); return p; },
    expected: OK(1, 10),
  },
  {
    name: 'huge dimensions: one 8192x8192 frame',
    make: () => cuts('huge.mp4', ['-frames:v', '1'], { size: '8192x8192', seconds: 1 }),
    expected: OK(1, 1, 90_000),
  },
  {
    name: 'zero fps: every mdhd timescale patched to 0',
    make: async () => zeroTimescale(await cuts('for-zero-ts.mp4'), 'zero-timescale.mp4'),
    // ffmpeg falls back to a default time base; the engine gets usable packet order but no real
    // timing, and returns what it can (documented: success with at least one frame).
    expected: OK(1, 10),
  },
  {
    name: 'raw H.264 without timestamps named .mp4',
    make: async () => { const p = path.join(dir, 'raw.mp4'); await ff(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'h264', p]); return p; },
    expected: OK(1, 10),
  },
  {
    name: 'a video stream with no frames',
    make: async () => { const p = path.join(dir, 'no-frames.mp4'); await ff(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=1', '-frames:v', '0', '-c:v', 'libx264', p]); return p; },
    expected: ERR('NO_FRAMES', 'NO_VIDEO_STREAM', 'UNREADABLE_MEDIA'),
  },
  {
    name: 'an HLS playlist named .mp4 that points at a local file and a URL',
    make: async () => {
      const p = path.join(dir, 'playlist.mp4');
      await writeFile(p, `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile:${fifo}\n#EXTINF:2.0,\n${httpUrl}/seg.ts\n#EXT-X-ENDLIST\n`);
      return p;
    },
    expected: ERR('UNSUPPORTED_INPUT', 'UNREADABLE_MEDIA'),
    service: true,
  },
  {
    name: 'a concat list named .mp4 that points at a local file and a URL',
    make: async () => {
      const p = path.join(dir, 'concat.mp4');
      await writeFile(p, `ffconcat version 1.0\nfile '${fifo}'\nfile '${httpUrl}/seg.mp4'\nfile '/etc/passwd'\n`);
      return p;
    },
    expected: ERR('UNSUPPORTED_INPUT', 'UNREADABLE_MEDIA'),
  },
  {
    name: 'an hour-long video (16x16, 1 fps, 3600 frames)',
    make: async () => {
      const p = path.join(dir, 'hour.mp4');
      // A moving test pattern (solid colour would trip the blank-frame rule: see the test below).
      await ff(['-f', 'lavfi', '-i', 'testsrc2=s=16x16:r=1:d=3600', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', p]);
      return p;
    },
    // The bound is generous for a busy CI machine; on an idle one this takes about a second.
    expected: OK(3, 200, 90_000),
  },
];

describe('hostile and odd media through the engine', () => {
  it('covers at least 12 files', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(12);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    // Prepare
    const file = await c.make();
    const hitsBefore = httpHits;
    let sawReader = false;
    const watch = setInterval(() => { if (fifoHasReader()) sawReader = true; }, 2);
    // Act
    const t0 = performance.now();
    let outcome: { frames: number; scenes: number } | { code: string; message: string };
    try {
      const [r] = await collectOutOfProcess([file], { mode: 'scene', minFrames: 3, format: 'jpeg', maxWidth: 320, timeoutMs: 100_000 });
      outcome = r?.ok ? { frames: r.frames?.length ?? 0, scenes: r.scenes ?? 0 } : { code: r?.error?.code ?? 'NO_CODE', message: r?.error?.message ?? '' };
    } finally {
      clearInterval(watch);
    }
    const ms = performance.now() - t0;
    // Assess
    expect(sawReader).toBe(false);
    expect(httpHits).toBe(hitsBefore);
    if (c.expected.ok) {
      expect(outcome).toMatchObject({ frames: expect.any(Number) });
      const n = (outcome as { frames: number }).frames;
      expect(n).toBeGreaterThanOrEqual(c.expected.minFrames);
      expect(n).toBeLessThanOrEqual(c.expected.maxFrames);
      if (c.expected.withinMs) expect(ms).toBeLessThan(c.expected.withinMs);
    } else {
      // Every expected code is a PermanentError code (src/errors.ts): recorded, never retried.
      expect(c.expected.codes).toContain((outcome as { code: string }).code);
    }
  }, 180_000);
});

describe('flat frames of different colours', () => {
  // BUG (reported): the engine returns SUCCESS with 0 frames here (sometimes 1): flat frames count as
  // blank and all share one dHash, so both scenes' picks are dropped, and minFrames is not honoured.
  it('two solid-colour scenes (blue, then red) give one frame per scene', async () => {
    // Prepare: 10 s blue + 10 s red, 1 fps: one hard cut. Flat frames all have the same dHash.
    const p = path.join(dir, 'blue-red.mp4');
    await ff(['-f', 'lavfi', '-i', 'color=c=blue:s=64x64:r=1:d=10', '-f', 'lavfi', '-i', 'color=c=red:s=64x64:r=1:d=10', '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', p]);
    // Act
    const [r] = await collectOutOfProcess([p], { mode: 'scene', minFrames: 3 });
    // Assess: two scenes are found; each must keep a frame (blue and red are not near-duplicates).
    expect(r).toMatchObject({ ok: true, scenes: 2 });
    expect(r!.frames!.length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe('hostile media through the service', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack();
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('each is a permanent error row with its code, nothing is written to S3, no claim is left', async () => {
    // Prepare
    const chosen = CASES.filter((c) => c.service);
    const deps = await buildDeps({ ...stack.env, LOG_LEVEL: 'SILENT', MIN_REMAINING_MS: '0', SAFETY_MARGIN_MS: '0', TMPDIR_FRAMES: path.join(dir, 'scratch') }, { fetch: stack.standIn.fetch, metrics: new MemoryMetrics() });
    const handler = createHandler(async () => deps);
    const records = [];
    for (const [i, c] of chosen.entries()) {
      const shortcode = `hostile${i}`;
      await stack.seedVideo('instagram', shortcode);
      await stack.putVideo('instagram', shortcode, await c.make());
      records.push({ messageId: `media-${i}`, receiptHandle: `rh-${i}`, body: JSON.stringify({ shortcode, platform: 'instagram' }), receiveCount: 1, attributes: {} });
    }
    // Act
    const res = await handler(toSqsEvent(records, 'arn:aws:sqs:us-east-1:000000000000:frames-extract', 'us-east-1'), simulatedContext());
    // Assess
    expect(res.batchItemFailures).toEqual([]);
    for (const [i, c] of chosen.entries()) {
      const errs = await stack.errors('instagram', `hostile${i}`);
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ stage: 'extract', retryable: false, message_id: `media-${i}` });
      expect((c.expected as { codes: string[] }).codes).toContain(errs[0]!.error_code);
      expect(await stack.video('instagram', `hostile${i}`)).toMatchObject({ is_extracted: false, extraction_owner: null });
    }
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.framesBucket }));
    expect(listed.Contents ?? []).toEqual([]);
  }, 180_000);
});
