/** Public types of the extraction engine. The engine knows ffmpeg, sharp and files: nothing of AWS. */

export interface VideoInfo {
  path: string;
  durationSec: number;
  /** Average frame rate (frames / duration of the decoded stream). */
  fps: number;
  /** Number of decoded frames (exact after analysis; estimated from probe before). */
  frameCount: number;
  /** Display size after rotation and sample aspect ratio are applied. */
  width: number;
  height: number;
  /** Rotation in degrees clockwise that was applied to make frames upright (0, 90, 180, 270). */
  rotation: number;
  /** Codec name as ffmpeg reports it. */
  codec?: string;
  /** True when frame durations vary (variable frame rate). */
  vfr?: boolean;
}

export type TransitionKind = 'cut' | 'gradual';

export interface Scene {
  index: number;
  /** First frame (0-based, decoded order). */
  startFrame: number;
  /** Last frame, inclusive. */
  endFrame: number;
  /** Seconds from the first decoded frame. */
  startTime: number;
  endTime: number;
  /** How this scene began: null for the first scene. */
  transitionIn: TransitionKind | null;
  /**
   * How strongly the detector's evidence supports the boundary that starts this scene, in [0, 1]
   * (how far its score cleared the rule's test); null for the first scene.
   */
  confidence?: number | null;
}

/** One analysed frame's change score: the cut rule's content score against the previous analysed frame. */
export interface ScorePoint {
  frame: number;
  time: number;
  score: number;
}

export interface DetectionResult {
  video: VideoInfo;
  scenes: Scene[];
  /** startFrame of every scene after the first. */
  cuts: number[];
  /**
   * Damage and changes the decode read through, one sentence each (empty for a clean file): lost or
   * corrupt packets (MPEG-TS), concealed decode errors, a picture size that changes mid-stream.
   */
  warnings: string[];
  /** Per-frame change scores and the threshold they were judged against; only with `traceScores`. */
  scoreTrace?: { threshold: number; points: ScorePoint[] };
}

export type ExtractMode = 'scene' | 'interval' | 'hybrid' | 'all';
export type ImageFormat = 'jpeg' | 'webp' | 'png';

export interface DetectOptions {
  /** Content-change threshold on the 0-255 scale of PySceneDetect's content detector (default 27). */
  threshold?: number;
  /** Minimum scene length in seconds (default 0.6). */
  minSceneLenSec?: number;
  /** Leave out boundaries whose confidence is below this, 0-1 (default 0: none); their scenes merge. */
  minConfidence?: number;
  /** Cancels ffmpeg and the analysis. */
  signal?: AbortSignal;
  /** Hard cap on any one ffmpeg run (ms). */
  timeoutMs?: number;
  /**
   * Called with 0..1 as the analysis progresses, and the frames decoded so far of those to decode
   * (the whole video's, or the window's; estimated from the probe).
   */
  onProgress?: (fraction: number, frames: { done: number; total: number }) => void;
  /** Also return every analysed frame's change score (`DetectionResult.scoreTrace`), e.g. for a report plot. */
  traceScores?: boolean;
  /**
   * Only the part of the video from `start` (seconds from the first frame, inclusive) to `end`
   * (exclusive; default the end): decoded after a seek, scenes clipped to it. Frame numbers and
   * times stay those of the whole video.
   */
  start?: number;
  end?: number;
}

export interface ExtractOptions extends DetectOptions {
  mode?: ExtractMode;
  framesPerScene?: number;
  /** Seconds between frames in interval / hybrid mode. */
  interval?: number;
  /** Fewer scenes than this: fall back to evenly spaced frames (default 3). */
  minFrames?: number;
  maxFrames?: number;
  /** Aim for about this many frames in total. */
  targetFrames?: number;
  format?: ImageFormat;
  quality?: number;
  /** Downscale frames wider than this (keeps aspect). */
  maxWidth?: number;
  /** Drop near-duplicate frames across scenes (default true). */
  dedupe?: boolean;
  /**
   * Called once with the probe's facts, before the decode starts. A rejection stops the run there
   * with that error (a caller that finds the video too long for its time budget declines it cheaply).
   */
  onProbe?: (info: VideoInfo) => void | Promise<void>;
  /**
   * `mode: 'all'`, or `'interval'` as JPEG: the encoder writes each frame into `dir` itself
   * instead of passing its bytes through node (for a folder output: less CPU and memory). ffmpeg
   * writes JPEG as `.<tag>-<process>-<n>.jpg`; sharp writes WebP and PNG (`all` mode only) as
   * `.<tag>-e-<n>.<ext>`. Frames then come with `spooled` and an empty `data`; the caller moves the
   * files it keeps and deletes every other file starting `.<tag>-`, also after a failure (some may
   * not have been yielded; the run ends only once no encode is still writing). Ignored (frames
   * carry `data`) in other modes, or where `dir` or `tag` holds characters ffmpeg's arguments
   * would read as syntax (`%`, `|`, `:`, brackets...).
   */
  spool?: { dir: string; tag: string };
}

/** One encoded frame, yielded as soon as it is ready. */
export interface EncodedFrame {
  /** 0-based position in the output set; also the file name stem. */
  index: number;
  /** Decoded frame number in the video. */
  frame: number;
  /** Seconds from the first decoded frame. */
  time: number;
  scene: number;
  width: number;
  height: number;
  format: ImageFormat;
  /** File extension without dot: jpg, webp or png. */
  ext: string;
  contentType: string;
  /** The encoded image; empty when the encoder wrote it to `spooled.path` (ExtractOptions.spool). */
  data: Buffer;
  /** Where the encoder (ffmpeg or sharp) wrote the image, and its size, with ExtractOptions.spool. */
  spooled?: { path: string; bytes: number };
  /** Laplacian variance on the analysis thumbnail: higher is sharper. */
  sharpness: number;
}

export interface FrameRecord {
  file: string;
  index: number;
  frame: number;
  time: number;
  scene: number;
  width: number;
  height: number;
  bytes: number;
  sharpness: number;
}

export interface ExtractionResult extends DetectionResult {
  frames: FrameRecord[];
  /** True when there were fewer scenes than minFrames and evenly spaced frames were used. */
  fallbackUsed: boolean;
  /**
   * Scenes left without a frame because every pick of theirs was a near-duplicate of a frame of an
   * earlier scene: a shot cut back to, or one that looks the same. `of` is the scene it repeats
   * most closely (of all its dropped picks' twins). Empty without dedupe.
   */
  duplicateScenes: Array<{ scene: number; of: number }>;
  settings: Required<Omit<ExtractOptions, 'signal' | 'onProgress' | 'onProbe' | 'spool' | 'timeoutMs' | 'traceScores' | 'maxFrames' | 'targetFrames' | 'maxWidth' | 'quality' | 'minConfidence' | 'start' | 'end'>> &
    Pick<ExtractOptions, 'maxFrames' | 'targetFrames' | 'maxWidth' | 'quality' | 'minConfidence' | 'start' | 'end'>;
  toolVersion: string;
  /** Milliseconds per stage. */
  timings: { probeMs: number; analyzeMs: number; extractMs: number; totalMs: number };
}

export interface Manifest {
  video: VideoInfo;
  scenes: Scene[];
  cuts: number[];
  /** DetectionResult.warnings: what the decode read through (empty for a clean file). */
  warnings: string[];
  frames: FrameRecord[];
  fallbackUsed: boolean;
  /** ExtractionResult.duplicateScenes (absent in manifests written before it existed). */
  duplicateScenes?: ExtractionResult['duplicateScenes'];
  settings: ExtractionResult['settings'];
  tool: { name: string; version: string };
  createdAt: string;
}
