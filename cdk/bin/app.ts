/**
 * CDK app: `npx cdk synth` / `npx cdk deploy -c key=value ...` from the repository root (cdk.json).
 * Every knob is a context key, validated in `cdk/lib/settings.ts`; cdk-nag's AwsSolutions pack runs on
 * every synth, so a new finding fails the synth until it is fixed or justified in code.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FramesStack } from '../lib/frames-stack.js';
import { settingsFromContext } from '../lib/settings.js';

const app = new App();
const settings = settingsFromContext((key) => app.node.tryGetContext(key));

new FramesStack(app, settings.stackName, {
  settings,
  // Environment-agnostic unless the CLI knows the account (deploy), so synth works offline.
  env:
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined,
  description: 'Scene-aware video frame extraction (SQS -> Lambda container image -> S3 + Supabase)',
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
