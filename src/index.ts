/**
 * The package root (`import … from 'scene-frames'`): the engine's library and the error classes it
 * throws. Nothing of the service, the adapters, the Lambda or the AWS SDK is reachable from here,
 * so importing the package loads ffmpeg/sharp code only (test/engine/package-root.test.ts checks).
 *
 * @example
 * ```ts
 * import { detectScenes, InvalidVideoError } from 'scene-frames';
 * const { scenes } = await detectScenes('clip.mp4');
 * ```
 */
export * from './engine/index.js';
export * from './engine/export/index.js';
export {
  FramesError, PermanentError, TransientError, DeadlineError, AbortedError,
  VideoNotFoundError, InvalidVideoError, NoVideoStreamError, ValidationError, FfmpegNotFoundError,
  isRetryable, errorMessage, type ErrorKind,
} from './errors.js';
