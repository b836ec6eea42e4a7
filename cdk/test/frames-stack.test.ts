/**
 * Properties of the synthesized template: queue + DLQ, function, event source, IAM, secrets, alarms,
 * logs, image source, and cdk-nag's AwsSolutions pack. Each stack variant is synthesized once.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { jest } from '@jest/globals';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FramesStack, FUNCTION_LOGICAL_ID, REPO_ROOT } from '../lib/frames-stack.js';
import { DEFAULTS, settingsFromContext, SettingsError } from '../lib/settings.js';

const execFileAsync = promisify(execFile);

/** The context defaults and feature flags from cdk.json, so tests see what `npx cdk synth` sees. */
const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:scene-frames/supabase-AbCdEf';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

interface Synth {
  app: App;
  stack: FramesStack;
  template: Template;
  json: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }> };
}

// Every App synthesizes into a folder under one temp root that is removed at the end (without an
// outdir, aws-cdk-lib leaves a cdk.outXXXX folder in the temp dir per App).
const OUT_ROOT = mkdtempSync(path.join(tmpdir(), 'frames-cdk-test-'));
let outCount = 0;
const outdir = (): string => path.join(OUT_ROOT, String(outCount++));
afterAll(() => rmSync(OUT_ROOT, { recursive: true, force: true }));

function synth(context: Record<string, unknown>, env?: { account: string; region: string }): Synth {
  // The CLI turns asset metadata on (SAM reads it to build the image); so do the tests.
  const app = new App({ outdir: outdir(), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:enable-asset-metadata': true, ...context } });
  const settings = settingsFromContext((k) => app.node.tryGetContext(k));
  const stack = new FramesStack(app, 'Test', { settings, env });
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as Synth['json'] };
}

function resourcesOfType(s: Synth, type: string) {
  return Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
  Sid?: string;
  Condition?: Record<string, unknown>;
}

function statements(s: Synth): Statement[] {
  return resourcesOfType(s, 'AWS::IAM::Policy').flatMap(
    ([, r]) => (r.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
  );
}

const actionsOf = (st: Statement) => (Array.isArray(st.Action) ? st.Action : [st.Action]);

function nagViolations(stack: Stack): string[] {
  return new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
}

let defaults: Synth; // no context: buckets + secret created, image built from docker/
let imported: Synth; // existing buckets, secret, pushed image by digest, tuned knobs, alarm topic
let ssmTagged: Synth; // SSM parameter for the key, pushed image by tag, env-specific (partition literals)

beforeAll(() => {
  defaults = synth({});
  imported = synth({
    videosBucket: 'acme-videos',
    framesBucket: 'acme-frames',
    supabaseUrl: 'https://abc.supabase.co',
    supabaseKeySecretArn: SECRET_ARN,
    ecrRepository: 'scene-frames',
    imageDigest: DIGEST,
    // strings, as `-c key=value` delivers them
    memorySize: '5307',
    timeoutSeconds: '600',
    ephemeralStorageMiB: '4096',
    batchSize: '20',
    maxBatchingWindowSeconds: '10',
    maxConcurrency: '50',
    maxReceiveCount: '3',
    logRetentionDays: '90',
    alarmTopicArn: TOPIC_ARN,
    oldestMessageAgeAlarmSeconds: '1200',
    serviceEnv: '{"MIN_FRAMES":"5","SCENE_THRESHOLD":30}',
  });
  ssmTagged = synth(
    {
      videosBucket: 'acme-videos',
      framesBucket: 'acme-frames',
      supabaseKeyParameterName: '/scene-frames/supabase-key',
      ecrRepository: 'scene-frames',
      imageTag: 'abc1234',
    },
    { account: '123456789012', region: 'eu-west-1' },
  );
});

describe('queue and dead-letter queue', () => {
  it('redrives to the DLQ after maxReceiveCount receives (default 5, configurable)', () => {
    // Assess
    for (const [s, count] of [[defaults, DEFAULTS.maxReceiveCount], [imported, 3]] as const) {
      const dlq = resourcesOfType(s, 'AWS::SQS::Queue').find(([id]) => id.startsWith('DeadLetterQueue'));
      expect(dlq).toBeDefined();
      s.template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq![0], 'Arn'] }, maxReceiveCount: count },
      });
    }
  });

  it('keeps the visibility timeout at >= 6x the function timeout (+ batching window)', () => {
    for (const [s, timeout, window] of [[defaults, 300, 0], [imported, 600, 10]] as const) {
      s.template.hasResourceProperties('AWS::Lambda::Function', { Timeout: timeout });
      const main = resourcesOfType(s, 'AWS::SQS::Queue').find(([, r]) => r.Properties?.RedrivePolicy !== undefined);
      const visibility = main![1].Properties!.VisibilityTimeout as number;
      expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
      expect(visibility).toBe(6 * timeout + window);
    }
  });

  it('encrypts both queues server-side and denies non-TLS access to both', () => {
    const queues = resourcesOfType(defaults, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    for (const [id, q] of queues) {
      expect(q.Properties?.SqsManagedSseEnabled ?? q.Properties?.KmsMasterKeyId).toBeTruthy();
      defaults.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('function', () => {
  it('is an x86_64 container image with the default sizing for 90 s 1080p videos', () => {
    defaults.template.hasResource('AWS::Lambda::Function', {
      Properties: {
        PackageType: 'Image',
        Architectures: ['x86_64'],
        MemorySize: 3538,
        Timeout: 300,
        EphemeralStorage: { Size: 2048 },
      },
    });
    expect(defaults.json.Resources[FUNCTION_LOGICAL_ID]?.Type).toBe('AWS::Lambda::Function');
  });

  it('takes memory, timeout and ephemeral storage from context', () => {
    imported.template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 5307,
      Timeout: 600,
      EphemeralStorage: { Size: 4096 },
    });
  });

  it('builds the image from docker/Dockerfile as an asset by default, without node_modules or .git in the context', () => {
    const fn = defaults.json.Resources[FUNCTION_LOGICAL_ID]!;
    expect(fn.Metadata?.['aws:asset:dockerfile-path']).toBe('docker/Dockerfile');
    const assetDir = path.join(defaults.app.outdir, fn.Metadata!['aws:asset:path'] as string);
    const staged = readdirSync(assetDir);
    expect(staged).toEqual(expect.arrayContaining(['docker', 'package.json', 'package-lock.json', 'src']));
    for (const banned of ['node_modules', '.git', 'cdk.out', '.tools', 'dist']) expect(staged).not.toContain(banned);
    expect(JSON.stringify(fn.Properties?.Code)).toContain('container-assets');
  });

  it('deploys a pushed image by digest or by tag instead of building', () => {
    const byDigest = JSON.stringify(imported.json.Resources[FUNCTION_LOGICAL_ID]!.Properties!.Code);
    expect(byDigest).toContain(`/scene-frames@${DIGEST}`);
    expect(imported.json.Resources[FUNCTION_LOGICAL_ID]!.Metadata?.['aws:asset:path']).toBeUndefined();
    const byTag = JSON.stringify(ssmTagged.json.Resources[FUNCTION_LOGICAL_ID]!.Properties!.Code);
    expect(byTag).toContain('/scene-frames:abc1234');
  });

  it('passes bucket names, Supabase URL, maxReceiveCount and service settings through the environment', () => {
    imported.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          S3_BUCKET_VIDEOS: 'acme-videos',
          S3_BUCKET_FRAMES: 'acme-frames',
          SUPABASE_URL: 'https://abc.supabase.co',
          MAX_RECEIVE_COUNT: '3',
          MIN_FRAMES: '5',
          SCENE_THRESHOLD: '30',
        }),
      },
    });
  });
});

describe('local invocation samples (events/)', () => {
  it('sam-env.json overrides only variables the function declares (SAM ignores any others)', () => {
    const samEnv = JSON.parse(readFileSync(path.join(REPO_ROOT, 'events', 'sam-env.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.keys(samEnv)).toEqual([FUNCTION_LOGICAL_ID]);
    const declared = Object.keys((defaults.json.Resources[FUNCTION_LOGICAL_ID]!.Properties!.Environment as { Variables: object }).Variables);
    expect(declared).toEqual(expect.arrayContaining(Object.keys(samEnv[FUNCTION_LOGICAL_ID]!)));
  });

  it('ships well-formed SQS events', () => {
    const files = readdirSync(path.join(REPO_ROOT, 'events')).filter((f) => f.startsWith('sqs') && f.endsWith('.json'));
    expect(files).toEqual(expect.arrayContaining(['sqs.json', 'sqs-batch.json', 'sqs-malformed.json']));
    for (const f of files) {
      const event = JSON.parse(readFileSync(path.join(REPO_ROOT, 'events', f), 'utf8')) as { Records: Array<Record<string, unknown>> };
      expect(event.Records.length).toBeGreaterThan(0);
      for (const r of event.Records) {
        expect(r).toMatchObject({ eventSource: 'aws:sqs', messageId: expect.any(String), body: expect.any(String), receiptHandle: expect.any(String) });
      }
      expect(new Set(event.Records.map((r) => r.messageId)).size).toBe(event.Records.length);
    }
  });
});

describe('SQS event source', () => {
  it('reports partial batch failures with batch size, batching window and maximum concurrency', () => {
    defaults.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: FUNCTION_LOGICAL_ID },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: DEFAULTS.batchSize,
      ScalingConfig: { MaximumConcurrency: DEFAULTS.maxConcurrency },
    });
    imported.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 20,
      MaximumBatchingWindowInSeconds: 10,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });
});

describe('least-privilege IAM', () => {
  /** Every S3 statement of the role, with ARNs flattened to text (`<LogicalId>` for created buckets, `aws` for the partition). */
  function s3Grants(s: Synth) {
    const text = (v: unknown): string => {
      if (typeof v === 'string') return v;
      const o = v as Record<string, unknown>;
      if (o['Ref'] === 'AWS::Partition') return 'aws';
      if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[])[0]!.replace(/[A-F0-9]{8}$/, '')}>`;
      if (Array.isArray(o['Fn::Join'])) return ((o['Fn::Join'] as [string, unknown[]])[1]).map(text).join('');
      return JSON.stringify(v);
    };
    return statements(s)
      .filter((st) => actionsOf(st).some((a) => a.toLowerCase().startsWith('s3:')))
      .map((st) => ({
        Sid: st.Sid,
        Effect: st.Effect,
        Action: actionsOf(st),
        Resource: (Array.isArray(st.Resource) ? st.Resource : [st.Resource]).map(text),
        Condition: st.Condition,
      }));
  }

  const expected = (videos: string, frames: string) => [
    { Sid: 'ReadVideos', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`${videos}/*/video.mp4`], Condition: undefined },
    { Sid: 'ListVideoKeys', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [videos], Condition: { StringLike: { 's3:prefix': '*/video.mp4' } } },
    { Sid: 'WriteFrames', Effect: 'Allow', Action: ['s3:DeleteObject', 's3:PutObject'], Resource: [`${frames}/*/frames/*`], Condition: undefined },
    { Sid: 'ListFrames', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [frames], Condition: { StringLike: { 's3:prefix': '*/frames/*' } } },
  ];

  it('grants exactly: GetObject on */video.mp4, DeleteObject + PutObject on */frames/*, ListBucket only for those prefixes', () => {
    for (const s of [imported, ssmTagged]) {
      expect(s3Grants(s)).toEqual(expected('arn:aws:s3:::acme-videos', 'arn:aws:s3:::acme-frames'));
    }
    expect(s3Grants(defaults)).toEqual(expected('<VideosBucket>', '<FramesBucket>'));
  });

  it('grants nothing broader: no s3:* or other S3 action, no bucket-wide object ARN, no unconditioned ListBucket', () => {
    for (const s of [defaults, imported, ssmTagged]) {
      const grants = s3Grants(s);
      expect(new Set(grants.flatMap((g) => g.Action))).toEqual(new Set(['s3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:DeleteObject']));
      for (const g of grants) {
        for (const r of g.Resource) {
          expect(r).not.toMatch(/^[^/]*\/\*$/); // bucket-wide, e.g. arn:aws:s3:::acme-videos/*
          expect(r).not.toBe('*');
        }
        if (g.Action.includes('s3:ListBucket')) {
          expect(g.Action).toEqual(['s3:ListBucket']);
          expect(g.Resource.every((r) => !r.includes('/'))).toBe(true); // the bucket itself
          expect(g.Condition).toEqual({ StringLike: { 's3:prefix': expect.stringMatching(/^\*\/(video\.mp4|frames\/\*)$/) } });
        } else {
          expect(g.Condition).toBeUndefined();
        }
      }
      // GetObject only on videos, write/delete only on frames.
      const on = (action: string) => grants.filter((g) => g.Action.includes(action)).flatMap((g) => g.Resource);
      expect(on('s3:GetObject').every((r) => r.endsWith('/*/video.mp4'))).toBe(true);
      for (const a of ['s3:PutObject', 's3:DeleteObject']) expect(on(a).every((r) => r.endsWith('/*/frames/*'))).toBe(true);
    }
  });

  it('has no wildcard action, no Resource "*" and no managed policies', () => {
    for (const s of [defaults, imported, ssmTagged]) {
      for (const st of statements(s)) {
        for (const a of actionsOf(st)) expect(a).not.toMatch(/\*/);
        expect(st.Resource).not.toBe('*');
      }
      s.template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    }
  });

  it('writes logs only to its own log group', () => {
    const logs = statements(defaults).filter((st) => actionsOf(st).some((a) => a.startsWith('logs:')));
    expect(logs).toHaveLength(1);
    expect(logs[0]!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^FunctionLogs/), 'Arn'] });
  });
});

describe('Supabase key', () => {
  it('is never a plain environment value: the function gets a secret ARN and read access to that secret only', () => {
    for (const s of [defaults, imported, ssmTagged]) {
      const vars = (s.json.Resources[FUNCTION_LOGICAL_ID]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(vars)).not.toContain('SUPABASE_KEY');
      expect(Object.keys(vars)).not.toContain('SUPABASE_SERVICE_ROLE_KEY');
    }
    imported.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SUPABASE_KEY_SECRET_ARN: SECRET_ARN }) },
    });
    const secretReads = statements(imported).filter((st) => actionsOf(st).includes('secretsmanager:GetSecretValue'));
    expect(secretReads).toHaveLength(1);
    expect(secretReads[0]!.Resource).toBe(SECRET_ARN);
  });

  it('creates a placeholder secret when none is given and points the function at it', () => {
    const [secretId] = resourcesOfType(defaults, 'AWS::SecretsManager::Secret')[0]!;
    defaults.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SUPABASE_KEY_SECRET_ARN: { Ref: secretId } }) },
    });
    defaults.template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain' });
  });

  it('can read the key from an SSM SecureString parameter instead', () => {
    ssmTagged.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SUPABASE_KEY_PARAMETER: '/scene-frames/supabase-key' }) },
    });
    const reads = statements(ssmTagged).filter((st) => actionsOf(st).includes('ssm:GetParameter'));
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0]!.Resource)).toContain(':parameter/scene-frames/supabase-key');
    ssmTagged.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });
});

describe('alarms and logs', () => {
  it('alarms on any message in the dead-letter queue', () => {
    const [dlqId] = resourcesOfType(defaults, 'AWS::SQS::Queue').find(([id]) => id.startsWith('DeadLetterQueue'))!;
    defaults.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms on the age of the oldest message in the work queue, with a configurable threshold', () => {
    const [queueId] = resourcesOfType(imported, 'AWS::SQS::Queue').find(([, r]) => r.Properties?.RedrivePolicy)!;
    imported.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 1200,
    });
  });

  it('notifies the alarm topic when one is given', () => {
    imported.template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: [TOPIC_ARN], OKActions: [TOPIC_ARN] }, 2);
    defaults.template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: Match.absent() }, 2);
  });

  it('sends function logs to a log group with retention (default 30 days)', () => {
    for (const [s, days] of [[defaults, 30], [imported, 90]] as const) {
      const [logId] = resourcesOfType(s, 'AWS::Logs::LogGroup')[0]!;
      s.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: days });
      s.template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logId } } });
    }
  });
});

describe('buckets', () => {
  it('imports named buckets and creates private, TLS-only, encrypted, retained buckets otherwise', () => {
    imported.template.resourceCountIs('AWS::S3::Bucket', 0);
    defaults.template.resourceCountIs('AWS::S3::Bucket', 2);
    defaults.template.allResources('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: Match.anyValue(),
      }),
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('passes for every variant (suppressions are justified in code)', () => {
    expect(nagViolations(defaults.stack)).toEqual([]);
    expect(nagViolations(imported.stack)).toEqual([]);
    expect(nagViolations(ssmTagged.stack)).toEqual([]);
  });

  it('still catches a new wildcard grant (the acknowledgements are exact, not blanket)', () => {
    // Prepare
    const app = new App({ outdir: outdir(), context: CDK_JSON_CONTEXT });
    const stack = new FramesStack(app, 'Widened', { settings: settingsFromContext((k) => app.node.tryGetContext(k)) });
    // Act
    stack.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [stack.videosBucket.arnForObjects('*')] }));
    // Assess
    expect(nagViolations(stack)).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*\/\*\]$/)]);
  });

  it('fails app synthesis when the pack finds something (the plugin is wired the way cdk/bin/app.ts wires it)', () => {
    const app = new App({ outdir: outdir(), context: CDK_JSON_CONTEXT });
    const stack = new FramesStack(app, 'Widened', { settings: settingsFromContext((k) => app.node.tryGetContext(k)) });
    stack.fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [stack.videosBucket.arnForObjects('*')] }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::<VideosBucket[A-F0-9]+\.Arn>\/\*\]/);
    } finally {
      log.mockRestore();
      out.mockRestore();
    }
  });
});

describe('settings from context', () => {
  it.each([
    [{ memorySize: '20000' }, /memorySize.*\[128, 10240\]/],
    [{ timeoutSeconds: 901 }, /timeoutSeconds/],
    [{ ephemeralStorageMiB: '100' }, /ephemeralStorageMiB/],
    [{ maxConcurrency: 1 }, /maxConcurrency.*\[2, 1000\]/],
    [{ batchSize: 50 }, /maxBatchingWindowSeconds/],
    [{ logRetentionDays: 31 }, /"logRetentionDays" must be one of/],
    [{ serviceEnv: { SUPABASE_KEY: 'x' } }, /may not set SUPABASE_KEY/],
    [{ serviceEnv: { AWS_REGION: 'x' } }, /may not set AWS_REGION/],
    [{ imageTag: 'abc' }, /needs "ecrRepository"/],
    [{ ecrRepository: 'scene-frames' }, /needs "imageTag" or "imageDigest"/],
    [{ imageDigest: 'sha256:nothex', ecrRepository: 'r' }, /imageDigest/],
    [{ supabaseKeySecretArn: SECRET_ARN, supabaseKeyParameterName: '/x' }, /only one of/],
    [{ videosBucket: 'Not_A_Bucket' }, /videosBucket/],
  ])('rejects %j', (ctx, message) => {
    expect(() => settingsFromContext((k) => (ctx as Record<string, unknown>)[k])).toThrow(SettingsError);
    expect(() => settingsFromContext((k) => (ctx as Record<string, unknown>)[k])).toThrow(message);
  });

  it('uses the documented defaults when nothing is set', () => {
    expect(settingsFromContext(() => undefined)).toMatchObject({ ...DEFAULTS, serviceEnv: {} });
  });
});

describe('cdk/bin/app.ts', () => {
  it('synthesizes offline with the cdk-nag plugin registered, as `npx cdk synth` runs it', async () => {
    // Prepare
    const outdir = mkdtempSync(path.join(tmpdir(), 'frames-synth-'));
    try {
      // Act: the exact app command from cdk.json, with the CLI's handshake variables
      const app = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { app: string }).app.split(' ');
      const context = JSON.stringify({ ...CDK_JSON_CONTEXT, supabaseUrl: 'https://abc.supabase.co' });
      await execFileAsync(app[0] === 'node' ? process.execPath : app[0]!, app.slice(1), {
        cwd: REPO_ROOT,
        env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: context, CDK_DISABLE_CLI_TELEMETRY: 'true' },
        timeout: 60_000,
      });
      // Assess
      const template = JSON.parse(readFileSync(path.join(outdir, `${DEFAULTS.stackName}.template.json`), 'utf8')) as Synth['json'];
      expect(template.Resources[FUNCTION_LOGICAL_ID]?.Type).toBe('AWS::Lambda::Function');
      expect(existsSync(path.join(outdir, 'manifest.json'))).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
