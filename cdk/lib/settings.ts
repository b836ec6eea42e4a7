/**
 * Deployment settings for {@link FramesStack}: every knob is a CDK context key (`cdk.json` or
 * `npx cdk deploy -c key=value`), parsed and validated here once, so a bad value fails the synth
 * with a message that names the key, what was given and what is allowed.
 *
 * @example
 * ```ts
 * const settings = settingsFromContext((key) => app.node.tryGetContext(key));
 * new FramesStack(app, settings.stackName, { settings });
 * ```
 */

/** Everything the stack needs to know; see the README ("Deploying and running on AWS") for the table of context keys. */
export interface FramesStackSettings {
  /** CloudFormation stack name. */
  stackName: string;
  /** Existing videos bucket to import; when undefined the stack creates one. */
  videosBucketName?: string;
  /** Existing frames bucket to import; when undefined the stack creates one. */
  framesBucketName?: string;
  /** KMS key of the videos bucket when it uses SSE-KMS with a customer key (decrypt is granted). */
  videosBucketKmsKeyArn?: string;
  /** KMS key of the frames bucket when it uses SSE-KMS with a customer key (encrypt is granted). */
  framesBucketKmsKeyArn?: string;
  /** Supabase project URL (not a secret). */
  supabaseUrl?: string;
  /** Existing Secrets Manager secret (complete ARN) holding the Supabase service key. */
  supabaseKeySecretArn?: string;
  /** Existing SSM SecureString parameter name holding the Supabase service key. */
  supabaseKeyParameterName?: string;
  /** Lambda memory in MB (128..10240). 1769 MB = 1 vCPU. */
  memorySize: number;
  /** Lambda timeout in seconds (1..900). */
  timeoutSeconds: number;
  /** Lambda /tmp size in MiB (512..10240). */
  ephemeralStorageMiB: number;
  /** SQS messages per invocation (1..10000; above 10 needs a batching window). */
  batchSize: number;
  /** Seconds the event source waits to fill a batch (0..300). */
  maxBatchingWindowSeconds: number;
  /** Most concurrent invocations the event source starts (2..1000). */
  maxConcurrency: number;
  /** Receives before a message moves to the dead-letter queue (1..1000). */
  maxReceiveCount: number;
  /** Days the dead-letter queue keeps a message (1..14). */
  dlqRetentionDays: number;
  /** Alarm when the oldest queued message is older than this many seconds. */
  oldestMessageAgeAlarmSeconds: number;
  /** CloudWatch Logs retention in days (one of the values CloudWatch accepts). */
  logRetentionDays: number;
  /** Optional SNS topic the alarms notify. */
  alarmTopicArn?: string;
  /** ECR repository name of an image pushed by `push-image.sh`; with imageTag or imageDigest. */
  ecrRepository?: string;
  /** Tag of the pushed image (the git sha `push-image.sh` printed). */
  imageTag?: string;
  /** Digest of the pushed image (`sha256:...`); wins over imageTag. */
  imageDigest?: string;
  /** Extra service settings (e.g. MIN_FRAMES, SCENE_THRESHOLD) put in the function environment. */
  serviceEnv: Record<string, string>;
  /** The long-video worker on Fargate (`-c longVideoWorker=true`); undefined = off (the default stack). */
  longVideoWorker?: LongVideoWorkerSettings;
}

/** Sizing of the Fargate long-video worker; see cdk/lib/long-video-worker.ts. */
export interface LongVideoWorkerSettings {
  /** Task CPU units (256, 512, 1024, 2048, 4096, 8192, 16384). */
  cpu: number;
  /** Task memory in MiB; Fargate allows only certain values per CPU size ({@link FARGATE_MEMORY}). */
  memoryMiB: number;
  /** Task ephemeral storage in GiB (21..200): the scratch disk a film is downloaded to. */
  ephemeralStorageGiB: number;
  /** Most tasks running at once (1..100); 0 run while the queue is empty. */
  maxTasks: number;
  /** Time one video may take on the worker, minutes (15..690; the claim lease is this + 1 min, at most 12 h). */
  jobTimeoutMinutes: number;
}

/**
 * Defaults sized for 90 s 1080p H.264 videos: 3538 MB gives 2 vCPUs (ffmpeg decodes with both,
 * sharp encodes in parallel); a 90 s 1080p file is ~50-150 MB, so 2 GiB of /tmp holds the video plus
 * its frames with room to spare; analysis of such a file takes well under a minute, so 300 s leaves
 * ample margin for download, upload and a slow S3 day while the 6x visibility rule stays at 30 min.
 */
export const DEFAULTS = {
  stackName: 'SceneFrames',
  memorySize: 3538,
  timeoutSeconds: 300,
  ephemeralStorageMiB: 2048,
  batchSize: 1,
  maxBatchingWindowSeconds: 0,
  maxConcurrency: 10,
  maxReceiveCount: 5,
  dlqRetentionDays: 14,
  oldestMessageAgeAlarmSeconds: 900,
  logRetentionDays: 30,
} as const;

/** The long-video worker's defaults: 4 vCPU / 8 GiB (a 1080p decode uses all cores), 100 GiB of scratch for 2 h films. */
export const WORKER_DEFAULTS = {
  cpu: 4096,
  memoryMiB: 8192,
  ephemeralStorageGiB: 100,
  maxTasks: 4,
  jobTimeoutMinutes: 240,
} as const;

/** Memory (MiB) Fargate accepts per task CPU size (AWS ECS developer guide, "Task CPU and memory"). */
export const FARGATE_MEMORY: Readonly<Record<number, { min: number; max: number; step: number } | readonly number[]>> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: { min: 4096, max: 16_384, step: 1024 },
  4096: { min: 8192, max: 30_720, step: 1024 },
  8192: { min: 16_384, max: 61_440, step: 4096 },
  16384: { min: 32_768, max: 122_880, step: 8192 },
};

function allowedMemory(cpu: number): string {
  const m = FARGATE_MEMORY[cpu]!;
  return Array.isArray(m) ? (m as readonly number[]).join(', ') : `${(m as { min: number }).min}..${(m as { max: number }).max} in steps of ${(m as { step: number }).step}`;
}

function memoryFits(cpu: number, memory: number): boolean {
  const m = FARGATE_MEMORY[cpu]!;
  if (Array.isArray(m)) return (m as readonly number[]).includes(memory);
  const r = m as { min: number; max: number; step: number };
  return memory >= r.min && memory <= r.max && (memory - r.min) % r.step === 0;
}

function flag(get: ContextGetter, key: string): boolean {
  const v: unknown = get(key);
  if (v === undefined || v === null || v === '' || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  throw new SettingsError(`context "${key}" must be true or false, got ${JSON.stringify(v)}`);
}

const WORKER_KEYS = ['workerCpu', 'workerMemoryMiB', 'workerEphemeralStorageGiB', 'workerMaxTasks', 'workerJobTimeoutMinutes'] as const;

/** The worker's settings when `longVideoWorker` is true; its keys without it are a mistake worth naming. */
function workerSettings(get: ContextGetter): LongVideoWorkerSettings | undefined {
  if (!flag(get, 'longVideoWorker')) {
    const stray = WORKER_KEYS.filter((k) => get(k) !== undefined && get(k) !== null && get(k) !== '');
    if (stray.length) throw new SettingsError(`context ${stray.map((k) => `"${k}"`).join(', ')} only apply with -c longVideoWorker=true`);
    return undefined;
  }
  const cpuChoices = Object.keys(FARGATE_MEMORY).map(Number);
  const cpu = integer(get, 'workerCpu', WORKER_DEFAULTS.cpu, 256, 16_384);
  if (!cpuChoices.includes(cpu)) throw new SettingsError(`context "workerCpu" must be one of ${cpuChoices.join(', ')} (Fargate CPU units), got ${cpu}`);
  const memoryMiB = integer(get, 'workerMemoryMiB', cpu === WORKER_DEFAULTS.cpu ? WORKER_DEFAULTS.memoryMiB : (Array.isArray(FARGATE_MEMORY[cpu]) ? (FARGATE_MEMORY[cpu] as readonly number[])[0]! : (FARGATE_MEMORY[cpu] as { min: number }).min), 512, 122_880);
  if (!memoryFits(cpu, memoryMiB)) {
    throw new SettingsError(`context "workerMemoryMiB" ${memoryMiB} is not a Fargate size for workerCpu ${cpu}: allowed ${allowedMemory(cpu)} MiB`);
  }
  return {
    cpu,
    memoryMiB,
    ephemeralStorageGiB: integer(get, 'workerEphemeralStorageGiB', WORKER_DEFAULTS.ephemeralStorageGiB, 21, 200),
    maxTasks: integer(get, 'workerMaxTasks', WORKER_DEFAULTS.maxTasks, 1, 100),
    jobTimeoutMinutes: integer(get, 'workerJobTimeoutMinutes', WORKER_DEFAULTS.jobTimeoutMinutes, 15, 690),
  };
}

/** Retention values CloudWatch Logs accepts (aws-logs RetentionDays, minus INFINITE). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Environment names the stack sets itself, or that must never be set as plain values: the Supabase
 * key comes from Secrets Manager / SSM at cold start, and `AWS_*` names are reserved by Lambda.
 */
export const RESERVED_ENV = [
  'S3_BUCKET_VIDEOS',
  'S3_BUCKET_FRAMES',
  'SUPABASE_URL',
  'SUPABASE_KEY',
  'SUPABASE_SERVICE_ROLE_KEY',
  'SUPABASE_KEY_SECRET_ARN',
  'SUPABASE_KEY_PARAMETER',
  'MAX_RECEIVE_COUNT',
  'FFMPEG_PATH',
  'LONG_VIDEO_QUEUE_URL',
] as const;

/** Thrown for an invalid context value; the message names the key and what is allowed. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Reads one context value (`app.node.tryGetContext`). */
export type ContextGetter = (key: string) => unknown;

function optionalString(get: ContextGetter, key: string): string | undefined {
  const v: unknown = get(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new SettingsError(`context "${key}" must be a string, got ${JSON.stringify(v)}`);
  const t = v.trim();
  return t === '' ? undefined : t;
}

function integer(get: ContextGetter, key: string, dflt: number, min: number, max: number): number {
  const v: unknown = get(key);
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError(`context "${key}" must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return n;
}

function matching(key: string, value: string | undefined, re: RegExp, what: string): string | undefined {
  if (value !== undefined && !re.test(value)) {
    throw new SettingsError(`context "${key}" must be ${what}, got ${JSON.stringify(value)}`);
  }
  return value;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/;

function parseServiceEnv(get: ContextGetter): Record<string, string> {
  let v: unknown = get('serviceEnv');
  if (v === undefined || v === null || v === '') return {};
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw new SettingsError('context "serviceEnv" must be a JSON object of NAME: value, e.g. {"MIN_FRAMES":"5"}');
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SettingsError('context "serviceEnv" must be an object of NAME: value, e.g. {"MIN_FRAMES":"5"}');
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
      throw new SettingsError(`context "serviceEnv" has an invalid name ${JSON.stringify(name)}: use UPPER_SNAKE_CASE`);
    }
    if ((RESERVED_ENV as readonly string[]).includes(name) || name.startsWith('AWS_') || name.startsWith('LAMBDA_')) {
      throw new SettingsError(
        `context "serviceEnv" may not set ${name}: the stack sets it, Lambda reserves it, or it is a secret ` +
          '(the Supabase key is read from Secrets Manager or SSM, see supabaseKeySecretArn / supabaseKeyParameterName)',
      );
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new SettingsError(`context "serviceEnv.${name}" must be a string, number or boolean`);
    }
    out[name] = String(value);
  }
  return out;
}

/**
 * Build validated settings from CDK context. Throws {@link SettingsError} naming the bad key.
 *
 * @example
 * ```ts
 * settingsFromContext((k) => ({ memorySize: '4096' })[k]).memorySize; // 4096
 * ```
 */
export function settingsFromContext(get: ContextGetter): FramesStackSettings {
  const timeoutSeconds = integer(get, 'timeoutSeconds', DEFAULTS.timeoutSeconds, 1, 900);
  const maxBatchingWindowSeconds = integer(get, 'maxBatchingWindowSeconds', DEFAULTS.maxBatchingWindowSeconds, 0, 300);
  const batchSize = integer(get, 'batchSize', DEFAULTS.batchSize, 1, 10_000);
  if (batchSize > 10 && maxBatchingWindowSeconds === 0) {
    throw new SettingsError(`context "batchSize" above 10 (got ${batchSize}) needs "maxBatchingWindowSeconds" >= 1`);
  }
  const logRetentionDays = integer(get, 'logRetentionDays', DEFAULTS.logRetentionDays, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new SettingsError(`context "logRetentionDays" must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${logRetentionDays}`);
  }

  const supabaseKeySecretArn = matching('supabaseKeySecretArn', optionalString(get, 'supabaseKeySecretArn'), /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/, 'a Secrets Manager secret ARN');
  const supabaseKeyParameterName = matching('supabaseKeyParameterName', optionalString(get, 'supabaseKeyParameterName'), /^\/?[A-Za-z0-9_.\-/]{1,2048}$/, 'an SSM parameter name such as /scene-frames/supabase-key');
  if (supabaseKeySecretArn && supabaseKeyParameterName) {
    throw new SettingsError('set only one of context "supabaseKeySecretArn" and "supabaseKeyParameterName"');
  }

  const ecrRepository = matching('ecrRepository', optionalString(get, 'ecrRepository'), /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, 'an ECR repository name');
  const imageTag = matching('imageTag', optionalString(get, 'imageTag'), /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'a Docker tag');
  const imageDigest = matching('imageDigest', optionalString(get, 'imageDigest'), /^sha256:[a-f0-9]{64}$/, 'an image digest sha256:<64 hex>');
  if ((imageTag || imageDigest) && !ecrRepository) {
    throw new SettingsError('context "imageTag"/"imageDigest" needs "ecrRepository" (the repository push-image.sh pushed to)');
  }
  if (ecrRepository && !imageTag && !imageDigest) {
    throw new SettingsError('context "ecrRepository" needs "imageTag" or "imageDigest" (push-image.sh prints both)');
  }

  const supabaseUrl = matching('supabaseUrl', optionalString(get, 'supabaseUrl'), /^https?:\/\/[^\s/]+(\/.*)?$/, 'an http(s) URL');

  return {
    stackName: matching('stackName', optionalString(get, 'stackName'), /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name') ?? DEFAULTS.stackName,
    videosBucketName: matching('videosBucket', optionalString(get, 'videosBucket'), BUCKET_NAME, 'an S3 bucket name'),
    framesBucketName: matching('framesBucket', optionalString(get, 'framesBucket'), BUCKET_NAME, 'an S3 bucket name'),
    videosBucketKmsKeyArn: matching('videosBucketKmsKeyArn', optionalString(get, 'videosBucketKmsKeyArn'), ARN, 'a KMS key ARN'),
    framesBucketKmsKeyArn: matching('framesBucketKmsKeyArn', optionalString(get, 'framesBucketKmsKeyArn'), ARN, 'a KMS key ARN'),
    supabaseUrl,
    supabaseKeySecretArn,
    supabaseKeyParameterName,
    memorySize: integer(get, 'memorySize', DEFAULTS.memorySize, 128, 10_240),
    timeoutSeconds,
    ephemeralStorageMiB: integer(get, 'ephemeralStorageMiB', DEFAULTS.ephemeralStorageMiB, 512, 10_240),
    batchSize,
    maxBatchingWindowSeconds,
    maxConcurrency: integer(get, 'maxConcurrency', DEFAULTS.maxConcurrency, 2, 1000),
    maxReceiveCount: integer(get, 'maxReceiveCount', DEFAULTS.maxReceiveCount, 1, 1000),
    dlqRetentionDays: integer(get, 'dlqRetentionDays', DEFAULTS.dlqRetentionDays, 1, 14),
    oldestMessageAgeAlarmSeconds: integer(get, 'oldestMessageAgeAlarmSeconds', DEFAULTS.oldestMessageAgeAlarmSeconds, 60, 1_209_600),
    logRetentionDays,
    alarmTopicArn: matching('alarmTopicArn', optionalString(get, 'alarmTopicArn'), /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/, 'an SNS topic ARN'),
    ecrRepository,
    imageTag,
    imageDigest,
    serviceEnv: parseServiceEnv(get),
    longVideoWorker: workerSettings(get),
  };
}
