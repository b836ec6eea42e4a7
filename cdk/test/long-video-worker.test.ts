/**
 * The long-video worker (`-c longVideoWorker=true`, cdk/lib/long-video-worker.ts): off by default with
 * the default template unchanged (fixture), and when on: its own queue + DLQ + alarm, an ECS cluster
 * and a Fargate service running the function's image with `frames worker`, scaling 0..workerMaxTasks
 * on visible messages, validated sizing keys, least-privilege IAM, logs with retention, cdk-nag clean.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FramesStack, FUNCTION_LOGICAL_ID, REPO_ROOT } from '../lib/frames-stack.js';
import { WORKER_STOP_TIMEOUT_SECONDS } from '../lib/long-video-worker.js';
import { settingsFromContext, SettingsError, WORKER_DEFAULTS } from '../lib/settings.js';
import { defaultTemplate } from './default-template.js';

const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
const DIGEST = `sha256:${'cd'.repeat(32)}`;

type Resource = { Type: string; Properties?: Record<string, unknown> };
interface Synth {
  stack: FramesStack;
  template: Template;
  resources: Record<string, Resource>;
}

const OUT_ROOT = mkdtempSync(path.join(tmpdir(), 'frames-worker-cdk-test-'));
let outCount = 0;
afterAll(() => rmSync(OUT_ROOT, { recursive: true, force: true }));

function synth(context: Record<string, unknown>): Synth {
  const app = new App({ outdir: path.join(OUT_ROOT, String(outCount++)), context: { ...CDK_JSON_CONTEXT, ...context } });
  const stack = new FramesStack(app, 'Test', { settings: settingsFromContext((k) => app.node.tryGetContext(k)) });
  const template = Template.fromStack(stack);
  return { stack, template, resources: (template.toJSON() as { Resources: Record<string, Resource> }).Resources };
}

const ofType = (s: Synth, type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const one = (s: Synth, type: string) => {
  const all = ofType(s, type);
  expect(all).toHaveLength(1);
  return all[0]!;
};

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Sid?: string;
  Condition?: unknown;
}
const actions = (st: Statement) => (Array.isArray(st.Action) ? st.Action : [st.Action]);

/** Statements of the policies attached to the role with this logical id prefix. */
function roleStatements(s: Synth, rolePrefix: string): Statement[] {
  return ofType(s, 'AWS::IAM::Policy')
    .filter(([, r]) => ((r.Properties!.Roles as Array<{ Ref: string }>) ?? []).some((x) => x.Ref.startsWith(rolePrefix)))
    .flatMap(([, r]) => (r.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

let off: Synth;
let on: Synth; // defaults of the worker
let tuned: Synth; // pushed image by digest, sizing keys, alarm topic

beforeAll(() => {
  off = synth({});
  on = synth({ longVideoWorker: 'true', supabaseUrl: 'https://abc.supabase.co' });
  tuned = synth({
    longVideoWorker: true,
    ecrRepository: 'scene-frames',
    imageDigest: DIGEST,
    alarmTopicArn: TOPIC_ARN,
    workerCpu: '2048',
    workerMemoryMiB: '6144',
    workerEphemeralStorageGiB: '200',
    workerMaxTasks: '7',
    workerJobTimeoutMinutes: '120',
    maxReceiveCount: '3',
    logRetentionDays: '90',
  });
});

describe('off by default', () => {
  it('the default stack is exactly the template from before the worker existed (asset hashes normalised)', () => {
    const fixture = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk/test/fixtures/template-before-worker.json'), 'utf8')) as unknown;
    expect(defaultTemplate()).toEqual(fixture);
    expect(defaultTemplate({ longVideoWorker: 'false' })).toEqual(fixture);
  });

  it('has no ECS, VPC or long-video queue, and the function has no LONG_VIDEO_QUEUE_URL', () => {
    for (const type of ['AWS::ECS::Cluster', 'AWS::ECS::Service', 'AWS::EC2::VPC']) expect(ofType(off, type)).toEqual([]);
    expect(ofType(off, 'AWS::SQS::Queue')).toHaveLength(2);
    const env = (off.resources[FUNCTION_LOGICAL_ID]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).not.toHaveProperty('LONG_VIDEO_QUEUE_URL');
  });
});

describe('long-video queue', () => {
  const queueId = (s: Synth) => ofType(s, 'AWS::SQS::Queue').find(([id]) => /^LongVideoWorkerQueue[0-9A-F]{8}$/.test(id))![0];
  const dlqId = (s: Synth) => ofType(s, 'AWS::SQS::Queue').find(([id]) => id.startsWith('LongVideoWorkerDeadLetterQueue'))![0];

  it('has its own dead-letter queue (maxReceiveCount from context), encrypted and TLS-only', () => {
    for (const [s, count] of [[on, 5], [tuned, 3]] as const) {
      expect(ofType(s, 'AWS::SQS::Queue')).toHaveLength(4);
      expect(s.resources[queueId(s)]!.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId(s), 'Arn'] }, maxReceiveCount: count },
      });
      for (const id of [queueId(s), dlqId(s)]) {
        s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: id }],
          PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
        });
      }
    }
  });

  it('alarms on any message in its dead-letter queue, notifying the alarm topic when one is given', () => {
    const alarm = ofType(tuned, 'AWS::CloudWatch::Alarm').find(([id]) => id.startsWith('LongVideoWorkerDeadLetterAlarm'));
    expect(alarm?.[1].Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId(tuned), 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [TOPIC_ARN],
      OKActions: [TOPIC_ARN],
    });
  });

  it('the function gets its URL and may only send to it', () => {
    const env = (on.resources[FUNCTION_LOGICAL_ID]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.LONG_VIDEO_QUEUE_URL).toEqual({ Ref: queueId(on) });
    const toWorkerQueue = roleStatements(on, 'FunctionRole').filter((st) => JSON.stringify(st.Resource).includes(queueId(on)));
    expect(toWorkerQueue).toHaveLength(1);
    expect(actions(toWorkerQueue[0]!).sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
  });
});

describe('ECS cluster and Fargate service', () => {
  const container = (s: Synth) => (one(s, 'AWS::ECS::TaskDefinition')[1].Properties!.ContainerDefinitions as Array<Record<string, unknown>>)[0]!;

  it('runs the function\'s image with `frames worker` on the long-video queue', () => {
    const lambdaImage = (on.resources[FUNCTION_LOGICAL_ID]!.Properties!.Code as { ImageUri: unknown }).ImageUri;
    const c = container(on);
    expect(c.Image).toEqual(lambdaImage);
    expect(c.EntryPoint).toEqual(['node', '/var/task/bin/frames.js']);
    expect((c.Command as string[])[0]).toBe('worker');
    expect(c.Command).toEqual(expect.arrayContaining(['--remaining-ms', String(WORKER_DEFAULTS.jobTimeoutMinutes * 60_000)]));
    expect(c.StopTimeout).toBe(WORKER_STOP_TIMEOUT_SECONDS);
    const env = Object.fromEntries((c.Environment as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value]));
    const queueRef = (on.resources[FUNCTION_LOGICAL_ID]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables.LONG_VIDEO_QUEUE_URL;
    expect(env).toMatchObject({ SQS_QUEUE_URL: queueRef, LONG_VIDEO_QUEUE_URL: '', SUPABASE_URL: 'https://abc.supabase.co', CONCURRENCY_LIMIT: '1' });
    expect(env.SUPABASE_KEY_SECRET_ARN).toBeDefined();
    expect(env).not.toHaveProperty('SUPABASE_KEY');
    // A pushed image: the worker uses the same digest as the function.
    expect(JSON.stringify(container(tuned).Image)).toContain(`scene-frames@${DIGEST}`);
    expect(JSON.stringify((tuned.resources[FUNCTION_LOGICAL_ID]!.Properties!.Code as { ImageUri: unknown }).ImageUri)).toContain(`scene-frames@${DIGEST}`);
  });

  it('is a Fargate service in an ECS cluster, with task size and ephemeral storage from context', () => {
    one(on, 'AWS::ECS::Cluster');
    expect(one(on, 'AWS::ECS::Service')[1].Properties).toMatchObject({ LaunchType: 'FARGATE' });
    expect(one(on, 'AWS::ECS::TaskDefinition')[1].Properties).toMatchObject({
      Cpu: String(WORKER_DEFAULTS.cpu),
      Memory: String(WORKER_DEFAULTS.memoryMiB),
      EphemeralStorage: { SizeInGiB: WORKER_DEFAULTS.ephemeralStorageGiB },
      RequiresCompatibilities: ['FARGATE'],
    });
    expect(one(tuned, 'AWS::ECS::TaskDefinition')[1].Properties).toMatchObject({ Cpu: '2048', Memory: '6144', EphemeralStorage: { SizeInGiB: 200 } });
    expect(container(tuned).Command).toEqual(expect.arrayContaining(['--remaining-ms', String(120 * 60_000)]));
  });

  it('scales from 0 to workerMaxTasks on the queue\'s visible messages, without CPU scaling', () => {
    for (const [s, max] of [[on, WORKER_DEFAULTS.maxTasks], [tuned, 7]] as const) {
      expect(one(s, 'AWS::ApplicationAutoScaling::ScalableTarget')[1].Properties).toMatchObject({ MinCapacity: 0, MaxCapacity: max, ScalableDimension: 'ecs:service:DesiredCount' });
      const policies = ofType(s, 'AWS::ApplicationAutoScaling::ScalingPolicy');
      expect(policies.map(([, p]) => p.Properties!.PolicyType)).toEqual(['StepScaling', 'StepScaling']);
      const queueName = { 'Fn::GetAtt': [ofType(s, 'AWS::SQS::Queue').find(([id]) => /^LongVideoWorkerQueue[0-9A-F]{8}$/.test(id))![0], 'QueueName'] };
      const scalingAlarms = ofType(s, 'AWS::CloudWatch::Alarm').filter(([id]) => id.includes('QueueMessagesVisibleScaling'));
      expect(scalingAlarms).toHaveLength(2);
      for (const [, a] of scalingAlarms) expect(a.Properties).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: queueName }] });
    }
  });

  it('runs in public subnets with public IPs and no NAT gateway; the security group admits nothing inbound', () => {
    expect(ofType(on, 'AWS::EC2::NatGateway')).toEqual([]);
    expect(ofType(on, 'AWS::EC2::EIP')).toEqual([]);
    const subnets = ofType(on, 'AWS::EC2::Subnet');
    expect(subnets.length).toBeGreaterThanOrEqual(1);
    for (const [, sn] of subnets) expect(sn.Properties).toMatchObject({ MapPublicIpOnLaunch: true });
    const net = (one(on, 'AWS::ECS::Service')[1].Properties!.NetworkConfiguration as { AwsvpcConfiguration: { AssignPublicIp: string; Subnets: Array<{ Ref: string }> } }).AwsvpcConfiguration;
    expect(net.AssignPublicIp).toBe('ENABLED');
    expect(net.Subnets.map((s) => s.Ref).sort()).toEqual(subnets.map(([id]) => id).sort());
    const [, sg] = one(on, 'AWS::EC2::SecurityGroup');
    expect(sg.Properties!.SecurityGroupIngress).toBeUndefined();
    expect(ofType(on, 'AWS::EC2::SecurityGroupIngress')).toEqual([]);
  });

  it('logs to its own log group with retention (logRetentionDays)', () => {
    for (const [s, days] of [[on, 30], [tuned, 90]] as const) {
      const group = ofType(s, 'AWS::Logs::LogGroup').find(([id]) => id.startsWith('LongVideoWorkerLogs'))!;
      expect(group[1].Properties).toMatchObject({ RetentionInDays: days });
      expect(container(s).LogConfiguration).toMatchObject({ LogDriver: 'awslogs', Options: { 'awslogs-group': { Ref: group[0] } } });
    }
  });
});

describe('least-privilege IAM for the worker', () => {
  it('the task role has exactly the function\'s data grants plus consuming the long-video queue', () => {
    const task = roleStatements(on, 'LongVideoWorkerTaskRole');
    const fn = roleStatements(on, 'FunctionRole');
    const data = (sts: Statement[]) => sts.filter((st) => actions(st).some((a) => a.startsWith('s3:') || a.startsWith('secretsmanager:')));
    expect(data(task)).toEqual(data(fn));
    expect(data(task).map((st) => st.Sid ?? actions(st).join(','))).toEqual(['ReadVideos', 'ListVideoKeys', 'WriteFrames', 'ListFrames', 'secretsmanager:DescribeSecret,secretsmanager:GetSecretValue']);
    const rest = task.filter((st) => !data(task).includes(st));
    expect(rest).toHaveLength(1);
    expect(actions(rest[0]!).sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage']);
    expect(JSON.stringify(rest[0]!.Resource)).toMatch(/LongVideoWorkerQueue[0-9A-F]{8}/);
    for (const st of task) {
      expect(st.Resource).not.toBe('*');
      for (const a of actions(st)) expect(a).not.toMatch(/\*/);
    }
  });

  it('the execution role pulls the image and writes the log group; its only "*" is ecr:GetAuthorizationToken', () => {
    const exec = roleStatements(on, 'LongVideoWorkerTaskDefinitionExecutionRole');
    expect(exec.filter((st) => st.Resource === '*').map(actions)).toEqual([['ecr:GetAuthorizationToken']]);
    const logs = exec.find((st) => actions(st).includes('logs:PutLogEvents'))!;
    expect(JSON.stringify(logs.Resource)).toMatch(/LongVideoWorkerLogs/);
  });

  it('no managed policies on any worker role', () => {
    for (const [id, r] of ofType(on, 'AWS::IAM::Role').filter(([rid]) => rid.startsWith('LongVideoWorker'))) {
      expect([id, r.Properties!.ManagedPolicyArns]).toEqual([id, undefined]);
    }
  });
});

describe('cdk-nag AwsSolutions with the worker', () => {
  it('passes (each suppression carries a reason in code)', () => {
    for (const s of [on, tuned]) expect(new AwsSolutionsChecks().validateScope(s.stack).violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('worker context keys', () => {
  it.each([
    [{ longVideoWorker: 'yes' }, /"longVideoWorker" must be true or false/],
    [{ workerMaxTasks: '3' }, /only apply with -c longVideoWorker=true/],
    [{ longVideoWorker: 'true', workerCpu: '3000' }, /"workerCpu" must be one of 256, 512, 1024, 2048, 4096, 8192, 16384/],
    [{ longVideoWorker: 'true', workerCpu: '4096', workerMemoryMiB: '4096' }, /"workerMemoryMiB" 4096 is not a Fargate size for workerCpu 4096: allowed 8192\.\.30720 in steps of 1024/],
    [{ longVideoWorker: 'true', workerCpu: '1024', workerMemoryMiB: '9216' }, /allowed 2048, 3072, 4096, 5120, 6144, 7168, 8192 MiB/],
    [{ longVideoWorker: 'true', workerCpu: '8192', workerMemoryMiB: '18432' }, /steps of 4096/],
    [{ longVideoWorker: 'true', workerEphemeralStorageGiB: '20' }, /"workerEphemeralStorageGiB" must be an integer in \[21, 200\]/],
    [{ longVideoWorker: 'true', workerEphemeralStorageGiB: '201' }, /\[21, 200\]/],
    [{ longVideoWorker: 'true', workerMaxTasks: '0' }, /"workerMaxTasks" must be an integer in \[1, 100\]/],
    [{ longVideoWorker: 'true', workerJobTimeoutMinutes: '700' }, /"workerJobTimeoutMinutes" must be an integer in \[15, 690\]/],
    [{ serviceEnv: { LONG_VIDEO_QUEUE_URL: 'x' } }, /may not set LONG_VIDEO_QUEUE_URL/],
  ])('rejects %j', (ctx, message) => {
    const get = (k: string) => (ctx as Record<string, unknown>)[k];
    expect(() => settingsFromContext(get)).toThrow(SettingsError);
    expect(() => settingsFromContext(get)).toThrow(message);
  });

  it('defaults: off; on with 4 vCPU / 8 GiB / 100 GiB / 4 tasks / 240 min; a smaller CPU gets its smallest memory', () => {
    expect(settingsFromContext(() => undefined).longVideoWorker).toBeUndefined();
    expect(settingsFromContext((k) => ({ longVideoWorker: 'true' })[k]).longVideoWorker).toEqual(WORKER_DEFAULTS);
    expect(settingsFromContext((k) => ({ longVideoWorker: true, workerCpu: 1024 })[k]).longVideoWorker).toMatchObject({ cpu: 1024, memoryMiB: 2048 });
  });
});
