/**
 * The ffmpeg boundary's error table: how a failed ffmpeg run (its exit, signal and stderr tail)
 * becomes one error of the taxonomy, and the one test for "ffmpeg says the file is cut short".
 * Rules go from the most specific stderr message to the least; an exit no rule recognises is
 * transient (`FFMPEG_FAILED`), as src/errors.ts says of unknown errors: after the queue's
 * maxReceiveCount it lands in the dead-letter queue with its error rows, instead of being dropped.
 *
 * @example
 * ```ts
 * throw ffmpegErrors.classify({ stderr, input: '/tmp/x/video.mp4', code: 1, signal: null });
 * ```
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { errorTable } from '../error-table.js';
import { AbortedError, FramesError, InvalidVideoError, NoVideoStreamError, TransientError, VideoNotFoundError } from '../errors.js';

export interface FfmpegFailure {
  /** ffmpeg's stderr (a bounded tail). */
  stderr: string;
  /** The input file ffmpeg was reading. */
  input: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We killed it: on abort (deadline, shutdown) or at its time limit. */
  killedFor?: 'abort' | 'timeout' | undefined;
  timeoutMs?: number | undefined;
  /** The abort reason, when killed for an abort. */
  reason?: unknown;
}

/**
 * stderr lines ffmpeg prints when a container says its data is missing (an mp4 cut short). Not
 * "Packet corrupt": MPEG-TS says that of one lost or damaged 188-byte packet, and ffmpeg decodes
 * through it, as do we (with a warning in the result).
 */
const TRUNCATION = /partial file|stream \d+, offset \d+: partial/i;

/** True when ffmpeg's stderr says the input is cut short (the probe and the decode pass both ask). */
export function reportsTruncation(stderr: string): boolean {
  return TRUNCATION.test(stderr);
}

const has = (re: RegExp) => (f: FfmpegFailure) => re.test(f.stderr);
const name = (f: FfmpegFailure) => path.basename(f.input);
const fail = (stderr: string, o: Partial<FfmpegFailure> = {}): FfmpegFailure => ({ stderr, input: '/nonexistent/frames-example/video.mp4', code: 1, signal: null, ...o });

function lastMeaningfulLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('frame=') && !/^(Input|Output|Stream|Metadata|Duration|\w+\s*:)/.test(l));
  return (lines.at(-1) ?? stderr.trim().split('\n').at(-1) ?? '').slice(0, 300);
}

export const ffmpegErrors = errorTable<FfmpegFailure>(
  'ffmpeg',
  [
    {
      when: 'killed by us on abort (deadline or shutdown)',
      code: 'DEADLINE',
      kind: 'deadline',
      example: fail('', { killedFor: 'abort', code: null, signal: 'SIGKILL' }),
      match: (f) => f.killedFor === 'abort',
      error: (f) => (f.reason instanceof FramesError ? f.reason : new AbortedError(f.reason)),
    },
    {
      when: 'ffmpeg exceeded its time limit',
      code: 'FFMPEG_TIMEOUT',
      kind: 'transient',
      example: fail('', { killedFor: 'timeout', code: null, signal: 'SIGKILL', timeoutMs: 1000 }),
      match: (f) => f.killedFor === 'timeout',
      error: (f) => new TransientError('FFMPEG_TIMEOUT', `ffmpeg took longer than ${f.timeoutMs} ms on ${f.input}`),
    },
    {
      when: 'input file missing',
      code: 'VIDEO_NOT_FOUND',
      kind: 'permanent',
      example: fail('/nonexistent/frames-example/video.mp4: No such file or directory'),
      match: (f) => /No such file or directory/i.test(f.stderr) && !existsSync(f.input),
      error: (f) => new VideoNotFoundError(f.input),
    },
    {
      when: 'no video stream (audio only)',
      code: 'NO_VIDEO_STREAM',
      kind: 'permanent',
      example: fail('Stream map \'0:v:0\' matches no streams.'),
      match: has(/matches no streams|does not contain any stream|Output file #0 does not contain any stream/i),
      error: (f) => new NoVideoStreamError(name(f)),
    },
    {
      when: 'a playlist, concat list or other input that references other files or URLs',
      code: 'UNSUPPORTED_INPUT',
      kind: 'permanent',
      example: fail('[hls @ 0x1] Format not on whitelist \'mov,mp4\''),
      match: has(/not on (format )?whitelist|Protocol '.*' not on/i),
      error: (f) => {
        const fmt = /\[(\w+) @ [^\]]*\] Format not on whitelist/.exec(f.stderr)?.[1];
        return new InvalidVideoError('UNSUPPORTED_INPUT', `${name(f)} is not a plain video file${fmt ? ` (it is a ${fmt} input)` : ''}: playlists, concat lists and other inputs that reference other files or URLs are refused`);
      },
    },
    {
      when: 'no known container format recognised',
      code: 'UNREADABLE_MEDIA',
      kind: 'permanent',
      example: fail('Format mp3 detected only with low score of 1, misdetection possible!'),
      match: has(/detected only with low score/i),
      error: (f) => new InvalidVideoError('UNREADABLE_MEDIA', `${name(f)} is not a video file (no known container format recognised)`),
    },
    {
      when: 'truncated MP4 (moov atom missing)',
      code: 'TRUNCATED_VIDEO',
      kind: 'permanent',
      example: fail('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found'),
      match: has(/moov atom not found/i),
      error: (f) => new InvalidVideoError('TRUNCATED_VIDEO', `${name(f)} is truncated or incomplete (the mp4 index, the moov atom, is missing)`),
    },
    {
      when: 'not readable media (invalid data, no codec parameters, early end of file)',
      code: 'UNREADABLE_MEDIA',
      kind: 'permanent',
      example: fail('video.mp4: Invalid data found when processing input'),
      match: has(/Invalid data found when processing input|could not find codec parameters|Invalid argument|End of file/i),
      error: (f) => new InvalidVideoError('UNREADABLE_MEDIA', `${name(f)} is not a readable video: ${lastMeaningfulLine(f.stderr)}`),
    },
    {
      when: 'killed by a signal mid-video (not by us)',
      code: 'FFMPEG_KILLED',
      kind: 'transient',
      example: fail('', { code: null, signal: 'SIGKILL' }),
      match: (f) => f.signal !== null,
      error: (f) => new TransientError('FFMPEG_KILLED', `ffmpeg was killed by ${f.signal} while reading ${name(f)}`),
    },
  ],
  {
    when: 'any other non-zero exit (unrecognised stderr)',
    code: 'FFMPEG_FAILED',
    kind: 'transient',
    example: fail('something ffmpeg never said before', { code: 187 }),
    error: (f) => new TransientError('FFMPEG_FAILED', `ffmpeg failed on ${name(f)} (exit ${f.code}): ${lastMeaningfulLine(f.stderr)}`),
  },
);
