/** `start` / `end`: the part of a video that is decoded, in seconds from its first frame. */
import { ValidationError } from '../errors.js';
import type { ProbeResult } from './probe.js';

export interface FrameWindow {
  start: number;
  /** Exclusive; at most the video's duration. */
  end: number;
}

/** The window asked for, or undefined for the whole video; refuses one that holds no frame. */
export function windowOf(file: string, probe: ProbeResult, o: { start: number; end: number }): FrameWindow | undefined {
  const d = probe.info.durationSec;
  if (o.start <= 0 && !(o.end < d)) return undefined;
  if (o.start >= d) {
    throw new ValidationError('INVALID_OPTIONS', `invalid window for ${file}`, [`start ${o.start} s is at or after the end of the video (${d} s)`]);
  }
  return { start: o.start, end: Math.min(o.end, d) };
}

/**
 * The window's first and last frame, where its scenes start and end. From the probe's packet times
 * when they are usable (a skipped unreferenced frame at the edge still counts, as frame 0 does for
 * the whole video), else the first and last frame the decode handed over.
 */
export class WindowFrames {
  private seenFirst: { frame: number; time: number } | undefined;
  private seenLast = -1;
  private readonly planned: { first: { frame: number; time: number }; last: number } | undefined;

  constructor(probe: ProbeResult, w: FrameWindow | undefined) {
    if (!w || !probe.timestampsUsable) return;
    const times = probe.packetTimes;
    const origin = times[probe.firstShown] as number;
    const tol = (probe.info.fps > 0 ? 1 / probe.info.fps : 0.04) / 4;
    let first = -1;
    let last = -1;
    for (let r = probe.firstShown; r < times.length; r++) {
      const t = (times[r] as number) - origin;
      if (t < w.start - tol) continue;
      if (t >= w.end - tol) break;
      if (first < 0) first = r;
      last = r;
    }
    if (first >= 0) this.planned = { first: { frame: first - probe.firstShown, time: (times[first] as number) - origin }, last: last - probe.firstShown };
  }

  see(frame: number, time: number): void {
    this.seenFirst ??= { frame, time };
    this.seenLast = frame;
  }

  /** Frames in the window by the probe's packet times (0 when they are not usable). */
  get plannedCount(): number {
    return this.planned ? this.planned.last - this.planned.first.frame + 1 : 0;
  }

  /** Undefined while (or when) no frame of the window was decoded. */
  get first(): { frame: number; time: number } | undefined {
    return this.seenFirst && (this.planned?.first ?? this.seenFirst);
  }

  get last(): number {
    return this.seenFirst ? (this.planned?.last ?? this.seenLast) : -1;
  }
}
