/**
 * In-memory twins of the adapters and a scripted engine, for fast unit tests of the job and the
 * batch processor. Integration tests use the real adapters and the real engine instead.
 */
import { writeFile } from 'node:fs/promises';
import type { ObjectStore } from '../../src/adapters/object-store.js';
import type { ClaimResult, CompleteStatus, ExtractionErrorRecord, RouteMarkStatus, StatusStore } from '../../src/adapters/status-store.js';
import type { EncodedFrame, ExtractionResult, ExtractOptions, Manifest } from '../../src/engine/types.js';
import { AbortedError, VideoNotFoundError } from '../../src/errors.js';
import type { Engine } from '../../src/service/job.js';
import { sleep } from '../../src/service/deadline.js';

export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, { body: Buffer; contentType: string }>();
  async head(bucket: string, key: string): Promise<{ bytes: number } | undefined> {
    const o = this.objects.get(`${bucket}/${key}`);
    return o ? { bytes: o.body.length } : undefined;
  }
  async download(bucket: string, key: string, destPath: string): Promise<{ bytes: number }> {
    const o = this.objects.get(`${bucket}/${key}`);
    if (!o) throw new VideoNotFoundError(`s3://${bucket}/${key}`);
    await writeFile(destPath, o.body);
    return { bytes: o.body.length };
  }
  async put(bucket: string, key: string, body: Buffer | string, contentType: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.objects.set(`${bucket}/${key}`, { body: Buffer.from(body), contentType });
  }
  async list(bucket: string, prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 1));
  }
  async deleteMany(bucket: string, keys: string[]): Promise<void> {
    for (const k of keys) this.objects.delete(`${bucket}/${k}`);
  }
}

interface Row {
  downloaded: boolean;
  extracted: boolean;
  owner: string | null;
  leaseUntil: number;
  frameCount: number | null;
  routed?: string;
}

export class MemoryStatusStore implements StatusStore {
  readonly rows = new Map<string, Row>();
  readonly errors: ExtractionErrorRecord[] = [];
  readonly released: string[] = [];
  seed(platform: string, shortcode: string, downloaded = true, extracted = false) {
    this.rows.set(`${platform}/${shortcode}`, { downloaded, extracted, owner: null, leaseUntil: 0, frameCount: null });
  }
  async claim(platform: string, shortcode: string, owner: string, leaseSeconds: number): Promise<ClaimResult> {
    const r = this.rows.get(`${platform}/${shortcode}`);
    if (!r) return { status: 'not_found' };
    const routed = r.routed !== undefined ? { routed: true } : {};
    if (r.extracted) return { status: 'already_extracted', ...routed };
    if (!r.downloaded) return { status: 'not_downloaded' };
    if (r.owner && r.owner !== owner && r.leaseUntil > Date.now()) return { status: 'locked', ...routed };
    r.owner = owner;
    r.leaseUntil = Date.now() + leaseSeconds * 1000;
    return { status: 'claimed', ...routed };
  }
  async complete(platform: string, shortcode: string, owner: string, frameCount: number): Promise<CompleteStatus> {
    const r = this.rows.get(`${platform}/${shortcode}`)!;
    if (r.extracted) return 'already_extracted';
    if (r.owner && r.owner !== owner && r.leaseUntil > Date.now()) return 'lease_lost';
    Object.assign(r, { extracted: true, frameCount, owner: null, leaseUntil: 0 });
    return 'completed';
  }
  async release(platform: string, shortcode: string, owner: string): Promise<void> {
    const r = this.rows.get(`${platform}/${shortcode}`);
    if (r && r.owner === owner) {
      r.owner = null;
      r.leaseUntil = 0;
      this.released.push(`${platform}/${shortcode}`);
    }
  }
  async markRouted(platform: string, shortcode: string, owner: string, reason: string): Promise<RouteMarkStatus> {
    const r = this.rows.get(`${platform}/${shortcode}`)!;
    if (r.routed !== undefined) return 'already_routed';
    if (r.owner && r.owner !== owner && r.leaseUntil > Date.now()) return 'lease_lost';
    Object.assign(r, { routed: reason, owner: null, leaseUntil: 0 });
    return 'marked';
  }
  async recordError(rec: ExtractionErrorRecord): Promise<void> {
    this.errors.push(rec);
  }
}

/** An engine that yields `frames` tiny frames, `delayMs` apart, honouring the abort signal. */
export class ScriptedEngine implements Engine {
  running = 0;
  maxRunning = 0;
  runs = 0;
  constructor(private readonly o: { frames?: number; delayMs?: number; fail?: Error; durationSec?: number } = {}) {}
  async *extractFrames(path: string, options: ExtractOptions): AsyncGenerator<EncodedFrame, ExtractionResult, undefined> {
    this.runs++;
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      const n = this.o.frames ?? 3;
      // Like the real engine: the probe hook sees the video's facts before any decode.
      await options.onProbe?.({ path, durationSec: this.o.durationSec ?? n, fps: 10, frameCount: n * 10, width: 4, height: 4, rotation: 0 });
      for (let i = 0; i < n; i++) {
        try {
          await sleep(this.o.delayMs ?? 5, options.signal);
        } catch (reason) {
          throw new AbortedError(reason);
        }
        if (this.o.fail) throw this.o.fail;
        yield { index: i, frame: i * 10, time: i, scene: i, width: 4, height: 4, format: 'jpeg', ext: 'jpg', contentType: 'image/jpeg', data: Buffer.from(`frame-${i}`), sharpness: 1 };
      }
      const video = { path, durationSec: n, fps: 10, frameCount: n * 10, width: 4, height: 4, rotation: 0 };
      return {
        video,
        scenes: Array.from({ length: n }, (_, i) => ({ index: i, startFrame: i * 10, endFrame: i * 10 + 9, startTime: i, endTime: i + 0.9, transitionIn: i ? ('cut' as const) : null })),
        cuts: Array.from({ length: n - 1 }, (_, i) => (i + 1) * 10),
        warnings: [],
        frames: Array.from({ length: n }, (_, i) => ({ file: `${i}.jpg`, index: i, frame: i * 10, time: i, scene: i, width: 4, height: 4, bytes: 7, sharpness: 1 })),
        fallbackUsed: false,
        duplicateScenes: [],
        settings: { mode: 'scene', framesPerScene: 1, interval: 1, minFrames: 3, format: 'jpeg', dedupe: true, threshold: 27, minSceneLenSec: 0.6 },
        toolVersion: 'test',
        timings: { probeMs: 1, analyzeMs: 1, extractMs: 1, totalMs: 3 },
      };
    } finally {
      this.running--;
    }
  }
  buildManifest(result: ExtractionResult): Manifest {
    const { video, scenes, cuts, warnings, frames, fallbackUsed, settings } = result;
    return { video, scenes, cuts, warnings, frames, fallbackUsed, settings, tool: { name: 'test', version: 'test' }, createdAt: new Date(0).toISOString() };
  }
}
