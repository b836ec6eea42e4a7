/**
 * The frame-extraction service on AWS: SQS queue (+ dead-letter queue) -> container-image Lambda
 * -> frames in S3 and status in Supabase. See the README ("Deploying and running on AWS") for the picture and the runbook.
 *
 * @example
 * ```ts
 * const app = new App();
 * new FramesStack(app, 'SceneFrames', { settings: settingsFromContext((k) => app.node.tryGetContext(k)) });
 * ```
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, CfnOutput, Duration, IgnoreMode, RemovalPolicy, Size, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { Construct } from 'constructs';
import { LongVideoWorker } from './long-video-worker.js';
import type { FramesStackSettings } from './settings.js';

/** Repository root: the Docker build context (the Dockerfile is `docker/Dockerfile`). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Paths never copied into the image asset's staging directory (on top of `.dockerignore`), so synth
 * stays fast and the asset hash changes only when something the image uses changes.
 */
export const ASSET_EXCLUDES = [
  'node_modules',
  '.git',
  '.tools',
  'cdk.out',
  'cdk/cdk.out',
  'dist',
  'coverage',
  '.env',
  '*.log',
];

/** The image built from docker/Dockerfile: the function's, and the long-video worker's (same source, one asset). */
const IMAGE_ASSET_PROPS = {
  directory: REPO_ROOT,
  file: 'docker/Dockerfile',
  platform: Platform.LINUX_AMD64,
  exclude: ASSET_EXCLUDES,
  ignoreMode: IgnoreMode.DOCKER,
};

/** Stable logical ID of the function, for `sam local invoke FramesFunction`. */
export const FUNCTION_LOGICAL_ID = 'FramesFunction';

/** Keys under which the service finds its objects (`{platform}/{shortcode}/...`). */
export const VIDEO_KEY_PATTERN = '*/video.mp4';
export const FRAMES_KEY_PATTERN = '*/frames/*';

export interface FramesStackProps extends StackProps {
  settings: FramesStackSettings;
}

export class FramesStack extends Stack {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly fn: lambda.DockerImageFunction;
  readonly videosBucket: s3.IBucket;
  readonly framesBucket: s3.IBucket;
  /** The Fargate long-video worker, with `-c longVideoWorker=true`. */
  readonly longVideoWorker: LongVideoWorker | undefined;

  constructor(scope: Construct, id: string, props: FramesStackProps) {
    super(scope, id, props);
    const s = props.settings;

    // ---------------------------------------------------------------- buckets
    this.videosBucket = s.videosBucketName
      ? s3.Bucket.fromBucketName(this, 'VideosBucket', s.videosBucketName)
      : this.createBucket('VideosBucket');
    this.framesBucket = s.framesBucketName
      ? s3.Bucket.fromBucketName(this, 'FramesBucket', s.framesBucketName)
      : this.createBucket('FramesBucket');

    // ---------------------------------------------------------------- queues
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(s.dlqRetentionDays),
    });
    // AWS: visibility timeout >= 6x the function timeout (+ the batching window), so a message is not
    // handed to a second invocation while the first may still be working on it.
    const visibilitySeconds = 6 * s.timeoutSeconds + s.maxBatchingWindowSeconds;
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(visibilitySeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: s.maxReceiveCount },
    });

    // ---------------------------------------------------------------- logs + role
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: s.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Scene frames worker: read videos, write frames, read the Supabase key, consume the queue',
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    // S3 grants, each as narrow as the service allows:
    // - videos: GetObject on the video keys, and ListBucket limited to those keys as prefixes. Without
    //   ListBucket S3 answers a missing video with 403 AccessDenied instead of 404 NoSuchKey; with it a
    //   missing video is a clean "not found" (and a 403 is a real permission problem).
    // - frames: PutObject + DeleteObject under the frames prefixes, and ListBucket limited to those
    //   prefixes: a re-run that produces fewer frames lists the prefix and deletes the leftovers.
    // The long-video worker's task role gets exactly the same (`grants`, applied to both roles).
    const videoObjects = this.videosBucket.arnForObjects(VIDEO_KEY_PATTERN);
    const frameObjects = this.framesBucket.arnForObjects(FRAMES_KEY_PATTERN);
    const dataStatements = () => [
      new iam.PolicyStatement({ sid: 'ReadVideos', actions: ['s3:GetObject'], resources: [videoObjects] }),
      new iam.PolicyStatement({ sid: 'ListVideoKeys', actions: ['s3:ListBucket'], resources: [this.videosBucket.bucketArn], conditions: { StringLike: { 's3:prefix': VIDEO_KEY_PATTERN } } }),
      new iam.PolicyStatement({ sid: 'WriteFrames', actions: ['s3:DeleteObject', 's3:PutObject'], resources: [frameObjects] }),
      new iam.PolicyStatement({ sid: 'ListFrames', actions: ['s3:ListBucket'], resources: [this.framesBucket.bucketArn], conditions: { StringLike: { 's3:prefix': FRAMES_KEY_PATTERN } } }),
    ];
    const videosKey = s.videosBucketKmsKeyArn ? kms.Key.fromKeyArn(this, 'VideosKey', s.videosBucketKmsKeyArn) : undefined;
    const framesKey = s.framesBucketKmsKeyArn ? kms.Key.fromKeyArn(this, 'FramesKey', s.framesBucketKmsKeyArn) : undefined;
    const grants: Array<(r: iam.IRole) => void> = [
      (r) => {
        for (const st of dataStatements()) r.addToPrincipalPolicy(st);
        videosKey?.grantDecrypt(r);
        framesKey?.grant(r, 'kms:GenerateDataKey', 'kms:Encrypt');
      },
    ];
    grants[0]!(role);

    // ---------------------------------------------------------------- Supabase key (never a plain env value)
    const keyEnv: Record<string, string> = {};
    if (s.supabaseKeyParameterName) {
      const name = s.supabaseKeyParameterName.startsWith('/') ? s.supabaseKeyParameterName : `/${s.supabaseKeyParameterName}`;
      const parameter = ssm.StringParameter.fromSecureStringParameterAttributes(this, 'SupabaseKeyParameter', { parameterName: name });
      parameter.grantRead(role);
      grants.push((r) => parameter.grantRead(r));
      keyEnv.SUPABASE_KEY_PARAMETER = name;
    } else {
      const secret = s.supabaseKeySecretArn
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'SupabaseKey', s.supabaseKeySecretArn)
        : this.createSupabaseKeySecret();
      secret.grantRead(role);
      grants.push((r) => secret.grantRead(r));
      keyEnv.SUPABASE_KEY_SECRET_ARN = secret.secretArn;
      new CfnOutput(this, 'SupabaseKeySecretArn', { value: secret.secretArn, description: 'Secret holding the Supabase service key' });
    }
    if (!s.supabaseUrl) {
      Annotations.of(this).addWarningV2(
        'frames:supabaseUrl',
        'context "supabaseUrl" is not set: the function will fail its config check at cold start. Deploy with -c supabaseUrl=https://<project>.supabase.co',
      );
    }

    // ---------------------------------------------------------------- function
    const code =
      s.ecrRepository && (s.imageDigest || s.imageTag)
        ? lambda.DockerImageCode.fromEcr(ecr.Repository.fromRepositoryName(this, 'ImageRepository', s.ecrRepository), {
            tagOrDigest: s.imageDigest ?? s.imageTag,
          })
        : lambda.DockerImageCode.fromImageAsset(REPO_ROOT, IMAGE_ASSET_PROPS);

    const serviceEnvironment: Record<string, string> = {
      // Defaults first so context serviceEnv can override them; reserved names are rejected in settings.
      CLAIM_LEASE_SECONDS: String(s.timeoutSeconds + 60),
      SERVICE_NAME: 'frames',
      POWERTOOLS_SERVICE_NAME: 'frames',
      METRICS_NAMESPACE: 'SceneFrames',
      POWERTOOLS_METRICS_NAMESPACE: 'SceneFrames',
      NODE_OPTIONS: '--enable-source-maps',
      ...s.serviceEnv,
      S3_BUCKET_VIDEOS: this.videosBucket.bucketName,
      S3_BUCKET_FRAMES: this.framesBucket.bucketName,
      SUPABASE_URL: s.supabaseUrl ?? '',
      MAX_RECEIVE_COUNT: String(s.maxReceiveCount),
      ...keyEnv,
    };

    // ---------------------------------------------------------------- long-video worker (opt-in)
    const alarmActions = s.alarmTopicArn ? [new cwActions.SnsAction(sns.Topic.fromTopicArn(this, 'AlarmTopic', s.alarmTopicArn))] : [];
    const worker = s.longVideoWorker
      ? new LongVideoWorker(this, 'LongVideoWorker', {
          settings: s.longVideoWorker,
          image: s.ecrRepository && (s.imageDigest || s.imageTag)
            ? ecs.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(this, 'WorkerImageRepository', s.ecrRepository), s.imageDigest ?? s.imageTag)
            : ecs.ContainerImage.fromDockerImageAsset(new DockerImageAsset(this, 'WorkerImage', IMAGE_ASSET_PROPS)),
          environment: serviceEnvironment,
          grant: (r) => grants.forEach((g) => g(r)),
          maxReceiveCount: s.maxReceiveCount,
          dlqRetentionDays: s.dlqRetentionDays,
          logRetentionDays: s.logRetentionDays,
          alarmActions,
        })
      : undefined;

    this.fn = new lambda.DockerImageFunction(this, 'Function', {
      description: 'Scene-aware frame extraction: SQS {shortcode, platform} -> frames in S3 + status in Supabase',
      code,
      architecture: lambda.Architecture.X86_64,
      memorySize: s.memorySize,
      timeout: Duration.seconds(s.timeoutSeconds),
      ephemeralStorageSize: Size.mebibytes(s.ephemeralStorageMiB),
      role,
      logGroup,
      environment: { ...serviceEnvironment, ...(worker ? { LONG_VIDEO_QUEUE_URL: worker.queue.queueUrl } : {}) },
    });
    (this.fn.node.defaultChild as lambda.CfnFunction).overrideLogicalId(FUNCTION_LOGICAL_ID);
    // The function forwards videos it cannot finish (src/service/routing.ts): send, nothing else.
    worker?.queue.grantSendMessages(role);
    this.longVideoWorker = worker;

    this.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: s.batchSize,
        maxBatchingWindow: s.maxBatchingWindowSeconds > 0 ? Duration.seconds(s.maxBatchingWindowSeconds) : undefined,
        maxConcurrency: s.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    // ---------------------------------------------------------------- alarms
    const deadLetters = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'Messages in the frames dead-letter queue: see the runbook (README, "The DLQ alarm fired")',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const oldest = new cloudwatch.Alarm(this, 'OldestMessageAlarm', {
      alarmDescription: `Oldest frames job waited more than ${s.oldestMessageAgeAlarmSeconds} s: the worker is failing or under-scaled (maxConcurrency)`,
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: s.oldestMessageAgeAlarmSeconds,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const action of alarmActions) {
      for (const alarm of [deadLetters, oldest]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    // ---------------------------------------------------------------- outputs
    new CfnOutput(this, 'QueueUrl', { value: this.queue.queueUrl, description: 'Send {"shortcode","platform"} here (SQS_QUEUE_URL for `frames enqueue`)' });
    new CfnOutput(this, 'QueueArn', { value: this.queue.queueArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueArn', { value: this.deadLetterQueue.queueArn });
    new CfnOutput(this, 'FunctionName', { value: this.fn.functionName });
    new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName, description: 'aws logs tail <this> --follow' });
    new CfnOutput(this, 'VideosBucketName', { value: this.videosBucket.bucketName });
    new CfnOutput(this, 'FramesBucketName', { value: this.framesBucket.bucketName });

    if (worker) {
      new CfnOutput(this, 'LongVideoQueueUrl', { value: worker.queue.queueUrl, description: 'Videos the function cannot finish go here (the Fargate worker consumes it)' });
      new CfnOutput(this, 'LongVideoDeadLetterQueueUrl', { value: worker.deadLetterQueue.queueUrl });
      new CfnOutput(this, 'LongVideoWorkerLogGroupName', { value: worker.logGroup.logGroupName, description: 'aws logs tail <this> --follow' });
      new CfnOutput(this, 'LongVideoWorkerServiceName', { value: worker.service.service.serviceName });
    }

    this.acknowledgeObjectPatterns(role, videoObjects, frameObjects);
    if (worker) this.acknowledgeObjectPatterns(worker.taskRole, videoObjects, frameObjects);
  }

  /** Dev/test buckets, used when no existing bucket name is given. Kept on stack deletion. */
  private createBucket(id: string): s3.Bucket {
    const bucket = new s3.Bucket(this, id, {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Created only when no existing bucket is given (dev/test stacks). Production imports its buckets with ' +
        '-c videosBucket/-c framesBucket, where access logging is owned by whoever owns the bucket.',
    });
    return bucket;
  }

  /** A placeholder secret the operator fills once: `aws secretsmanager put-secret-value` (see docs). */
  private createSupabaseKeySecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'SupabaseKey', {
      description: 'Supabase service-role key for the frames worker. Set the value after the first deploy (README, deploy step 3).',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A Supabase service-role key is issued by Supabase, not by AWS: no rotation Lambda can mint a new one. ' +
        'Rotate it in Supabase and put the new value here (runbook in the README).',
    });
    return secret;
  }

  /**
   * cdk-nag AwsSolutions-IAM5 flags any `*` in a resource. The two object grants use `*` on purpose
   * (the ListBucket grants name the bucket itself and carry their pattern in an s3:prefix condition):
   * keys are `{platform}/{shortcode}/video.mp4` and `{platform}/{shortcode}/frames/{index}.jpg`, one
   * prefix per video, so a pattern is the narrowest grant that still covers every video. Each finding
   * is acknowledged by its exact id, so any other wildcard still fails the check.
   */
  private acknowledgeObjectPatterns(role: iam.Role, videoObjects: string, frameObjects: string): void {
    const reasons: Array<[string, string]> = [
      [videoObjects, 'Read-only on exactly the {platform}/{shortcode}/video.mp4 keys of the videos bucket; one key per video, so a pattern is the narrowest grant.'],
      [
        frameObjects,
        'PutObject + DeleteObject only under {platform}/{shortcode}/frames/ of the frames bucket, where each video gets its frames and ' +
          'manifest.json; delete removes frames left by an earlier, longer run of the same video.',
      ],
    ];
    for (const [arn, reason] of reasons) {
      const finding = flattenCfnReference(this.resolve(arn));
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${finding}]`, reason });
    }
  }
}
