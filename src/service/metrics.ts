/**
 * Per-video metrics as CloudWatch Embedded Metric Format (EMF): one JSON line per video on stdout,
 * which CloudWatch Logs turns into metrics without any API call. Written by hand (a few lines)
 * rather than through Powertools Metrics so the sink is injectable in tests and the import is cheap.
 *
 * @example
 * ```ts
 * const metrics = new EmfMetrics({ namespace: 'SceneFrames', serviceName: 'frames' });
 * metrics.videoProcessed({ platform: 'instagram', shortcode: 'abc', outcome: 'extracted', scenes: 4, frames: 4, ... });
 * ```
 */

/** `routed`: forwarded to the long-video worker (ROUTED_TO_WORKER), or found forwarded already. */
export type Outcome = 'extracted' | 'skipped' | 'routed' | 'permanent_failure' | 'transient_failure' | 'deadline';

export interface VideoMetrics {
  platform: string;
  shortcode: string;
  messageId: string;
  outcome: Outcome;
  scenes?: number;
  frames?: number;
  fallbackUsed?: boolean;
  videoBytes?: number;
  frameBytes?: number;
  /**
   * Milliseconds per job stage (claim, download, extract incl. encode, uploadTail after the last
   * frame, manifest, cleanup, complete; see JOB_STAGES), the engine's probe and analyze, and total.
   */
  stageMs: Readonly<Record<string, number | undefined>>;
}

export interface MetricsSink {
  videoProcessed(m: VideoMetrics): void;
}

export interface EmfOptions {
  namespace: string;
  serviceName: string;
  /** Where EMF lines go (default: process.stdout). */
  write?: (line: string) => void;
}

export class EmfMetrics implements MetricsSink {
  readonly #opts: EmfOptions;
  constructor(opts: EmfOptions) {
    this.#opts = opts;
  }

  videoProcessed(m: VideoMetrics): void {
    const values: Record<string, number> = {};
    const units: Record<string, string> = {};
    const put = (name: string, value: number | undefined, unit: string) => {
      if (value === undefined || !Number.isFinite(value)) return;
      values[name] = value;
      units[name] = unit;
    };
    put('Videos', 1, 'Count');
    put('Scenes', m.scenes, 'Count');
    put('Frames', m.frames, 'Count');
    put('FallbackUsed', m.fallbackUsed === undefined ? undefined : m.fallbackUsed ? 1 : 0, 'Count');
    put('VideoBytes', m.videoBytes, 'Bytes');
    put('FrameBytes', m.frameBytes, 'Bytes');
    for (const [stage, ms] of Object.entries(m.stageMs)) put(`${stage[0]!.toUpperCase()}${stage.slice(1)}Ms`, ms, 'Milliseconds');
    const doc = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.#opts.namespace,
            Dimensions: [['service', 'platform', 'outcome']],
            Metrics: Object.keys(values).map((Name) => ({ Name, Unit: units[Name] })),
          },
        ],
      },
      service: this.#opts.serviceName,
      platform: m.platform,
      outcome: m.outcome,
      shortcode: m.shortcode,
      messageId: m.messageId,
      ...values,
    };
    const line = JSON.stringify(doc);
    if (this.#opts.write) this.#opts.write(line);
    else process.stdout.write(`${line}\n`);
  }
}

/** Keeps metrics in memory (tests, the demo). */
export class MemoryMetrics implements MetricsSink {
  readonly videos: VideoMetrics[] = [];
  videoProcessed(m: VideoMetrics): void {
    this.videos.push(m);
  }
}
