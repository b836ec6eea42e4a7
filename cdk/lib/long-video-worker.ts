/**
 * The long-video worker (`-c longVideoWorker=true`): videos the Lambda cannot finish (too long for
 * its 15 minutes, too large for its /tmp) are forwarded to this construct's queue, and a Fargate
 * service running the same image with `frames worker` takes them. Built on aws-ecs-patterns
 * `QueueProcessingFargateService`: step scaling on the queue's visible messages, from 0 tasks while
 * the queue is empty to `maxTasks`. The worker holds ECS task scale-in protection while a video runs,
 * so scaling in (visible messages back at 0 while one is in flight) never stops a task mid-video.
 *
 * Network: a VPC with public subnets only and NO NAT gateway; tasks get public IPs and a security
 * group without ingress. Why: a NAT gateway costs about $33/month per AZ before traffic, more than
 * the worker itself for most users; the tasks only make outbound HTTPS calls (S3, SQS, Secrets
 * Manager, ECR, CloudWatch Logs, Supabase), which a public IP with no inbound rule serves.
 *
 * @example
 * ```ts
 * const worker = new LongVideoWorker(stack, 'LongVideoWorker', { settings: s.longVideoWorker, image, environment, grant, ... });
 * worker.queue.grantSendMessages(lambdaRole);
 * ```
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { LongVideoWorkerSettings } from './settings.js';

/** Visibility the worker sets on receive and extends every half of it (`frames worker --visibility-timeout`). */
export const WORKER_VISIBILITY_SECONDS = 300;
/** On SIGTERM (a deploy, a stopped task) in-flight work may finish this long, then is given back. */
export const WORKER_SHUTDOWN_TIMEOUT_MS = 60_000;
/** ECS waits this long after SIGTERM before SIGKILL (Fargate's maximum is 120 s). */
export const WORKER_STOP_TIMEOUT_SECONDS = 90;

export interface LongVideoWorkerProps {
  settings: LongVideoWorkerSettings;
  /** The Lambda's image (asset or pushed ECR image). */
  image: ecs.ContainerImage;
  /** The service environment the Lambda gets (buckets, Supabase URL and key source, service settings). */
  environment: Record<string, string>;
  /** Adds the Lambda's data grants (S3 prefixes, KMS, the Supabase key) to the task role. */
  grant: (role: iam.IRole) => void;
  maxReceiveCount: number;
  dlqRetentionDays: number;
  logRetentionDays: number;
  /** Alarm actions (the stack's SNS topic), if any. */
  alarmActions?: cloudwatch.IAlarmAction[];
}

export class LongVideoWorker extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  readonly service: ecsPatterns.QueueProcessingFargateService;
  readonly taskRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: LongVideoWorkerProps) {
    super(scope, id);
    const s = props.settings;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(props.dlqRetentionDays),
    });
    // The worker heartbeats visibility, so the queue's own timeout only matters for a task that died.
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(WORKER_VISIBILITY_SECONDS),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'Messages in the long-video dead-letter queue: see the runbook (README, "The long-video DLQ alarm fired")',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const action of props.alarmActions ?? []) {
      this.deadLetterAlarm.addAlarmAction(action);
      this.deadLetterAlarm.addOkAction(action);
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
    });
    Validations.of(this.vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        'The VPC exists only to give the worker tasks outbound HTTPS to AWS APIs and Supabase; its security group admits no inbound ' +
        'traffic, so flow logs would record only those calls at extra cost. Enable them on the VPC if your policy requires it.',
    });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Scene frames long-video worker: read videos, write frames, read the Supabase key, consume the long-video queue',
    });
    props.grant(this.taskRole);

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: s.cpu,
      memoryLimitMiB: s.memoryMiB,
      ephemeralStorageGiB: s.ephemeralStorageGiB,
      taskRole: this.taskRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const jobTimeoutMs = s.jobTimeoutMinutes * 60_000;
    taskDefinition.addContainer('Worker', {
      image: props.image,
      // The image is the Lambda image: its entry point is Lambda's bootstrap, so run the CLI directly.
      entryPoint: ['node', '/var/task/bin/frames.js'],
      command: [
        'worker',
        '--visibility-timeout', String(WORKER_VISIBILITY_SECONDS),
        '--remaining-ms', String(jobTimeoutMs),
        '--shutdown-timeout-ms', String(WORKER_SHUTDOWN_TIMEOUT_MS),
      ],
      environment: {
        ...props.environment,
        SQS_QUEUE_URL: this.queue.queueUrl,
        AWS_REGION: Stack.of(this).region,
        // The claim must outlive the longest job (the lease is not renewed while the video runs).
        CLAIM_LEASE_SECONDS: String(Math.min(43_200, s.jobTimeoutMinutes * 60 + 60)),
        // A video the worker cannot finish either is refused (permanent), never forwarded again.
        LONG_VIDEO_QUEUE_URL: '',
        // One video at a time per task: each task's CPU and scratch disk belong to one film.
        CONCURRENCY_LIMIT: '1',
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'worker' }),
      stopTimeout: Duration.seconds(WORKER_STOP_TIMEOUT_SECONDS),
    });

    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds only non-secret settings (bucket names, queue URL, the Supabase URL, and the ARN/name of the secret ' +
        'or parameter holding the key); the key itself is read from Secrets Manager / SSM at start, exactly as the function does.',
    });
    Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken, which the execution role needs to pull the image, supports no resource-level permission (only "*").',
    });

    this.service = new ecsPatterns.QueueProcessingFargateService(this, 'Service', {
      cluster,
      taskDefinition,
      queue: this.queue,
      assignPublicIp: true,
      taskSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      minScalingCapacity: 0,
      maxScalingCapacity: s.maxTasks,
      // One task per waiting video up to the cap; back down when nothing is waiting (protected tasks finish first).
      scalingSteps: [
        { upper: 0, change: -s.maxTasks },
        { lower: 1, change: +1 },
        { lower: 2, change: +Math.max(1, Math.ceil(s.maxTasks / 2)) },
      ],
      cooldown: Duration.seconds(60),
      disableCpuBasedScaling: true,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 0,
      maxHealthyPercent: 200,
    });
  }
}
