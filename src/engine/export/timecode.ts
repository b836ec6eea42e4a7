/**
 * Frame rates and timecodes for the export formats.
 *
 * Decisions (documented in the README): scene times are real timestamps (right on variable frame
 * rate video), so every format converts *seconds* to frames at the video's nominal rate instead of
 * reusing decoded frame numbers. The nominal rate is the standard rate within 0.5% of the measured
 * average (23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60); any other average (variable frame rate
 * video) gets the nearest whole standard rate (24, 25, 30, 48, 50, 60), which editors accept and
 * which places every boundary within half a frame of its real time. 29.97 and 59.94 use SMPTE
 * drop-frame timecode (`;` before the frames), which keeps the
 * timecode on the wall clock as editors expect for NTSC material.
 */

export interface NominalRate {
  /** Frames per second as a fraction (30000/1001 for 29.97). */
  num: number;
  den: number;
  /** The timecode's frame counter base: 24, 25, 30, 60... */
  timebase: number;
  /** SMPTE drop-frame counting (29.97 and 59.94 only). */
  dropFrame: boolean;
}

const STANDARD: Array<[number, number]> = [[24000, 1001], [24, 1], [25, 1], [30000, 1001], [30, 1], [48, 1], [50, 1], [60000, 1001], [60, 1]];

/** The standard rate within 0.5% of `fps`, else the nearest whole standard rate (by ratio). */
export function nominalRate(fps: number): NominalRate {
  const f = Number.isFinite(fps) && fps > 0 ? fps : 25;
  let best: [number, number] | undefined;
  for (const r of STANDARD) {
    const rate = r[0] / r[1];
    if (Math.abs(rate - f) <= rate * 0.005 && (!best || Math.abs(rate - f) < Math.abs(best[0] / best[1] - f))) best = r;
  }
  if (!best) {
    const ratio = (r: [number, number]) => Math.abs(Math.log(r[0] / r[1] / f));
    best = STANDARD.filter((r) => r[1] === 1).reduce((a, b) => (ratio(b) < ratio(a) ? b : a));
  }
  const [num, den] = best;
  const timebase = Math.round(num / den);
  return { num, den, timebase, dropFrame: den === 1001 && (timebase === 30 || timebase === 60) };
}

/** Frames at the nominal rate for a time in seconds (nearest frame). */
export function secondsToFrames(seconds: number, rate: NominalRate): number {
  return Math.max(0, Math.round((seconds * rate.num) / rate.den));
}

/**
 * SMPTE timecode of a frame count: `HH:MM:SS:FF`, or `HH:MM:SS;FF` in drop-frame, where frame
 * numbers 0 and 1 (0-3 at 59.94) are skipped at the start of every minute except each tenth.
 */
export function framesToTimecode(frames: number, rate: NominalRate): string {
  const tb = rate.timebase;
  let n = Math.max(0, Math.round(frames));
  if (rate.dropFrame) {
    const drop = tb === 60 ? 4 : 2;
    const perMinute = tb * 60 - drop;
    const perTenMinutes = perMinute * 10 + drop;
    const tens = Math.floor(n / perTenMinutes);
    const rest = n % perTenMinutes;
    n += drop * 9 * tens + (rest > drop ? drop * Math.floor((rest - drop) / perMinute) : 0);
  }
  const ff = n % tb;
  const totalSec = Math.floor(n / tb);
  const p2 = (x: number) => String(x).padStart(2, '0');
  return `${p2(Math.floor(totalSec / 3600))}:${p2(Math.floor(totalSec / 60) % 60)}:${p2(totalSec % 60)}${rate.dropFrame ? ';' : ':'}${p2(ff)}`;
}

/** `HH:MM:SS.mmm` (PySceneDetect's timecode and WebVTT's timestamp form). */
export function secondsToClock(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const p = (x: number, w = 2) => String(x).padStart(w, '0');
  return `${p(Math.floor(ms / 3_600_000))}:${p(Math.floor(ms / 60_000) % 60)}:${p(Math.floor(ms / 1000) % 60)}.${p(ms % 1000, 3)}`;
}
