/**
 * Service commands for the `frames` CLI (registered by src/cli/main.ts):
 * - `frames invoke --event events/sqs.json [--remaining-ms 900000]`: run the real Lambda handler
 *   in-process with a simulated Context whose remaining time counts down;
 * - `frames enqueue --shortcode X --platform Y`: send a message to SQS_QUEUE_URL;
 * - `frames worker [--once]`: poll SQS_QUEUE_URL and run the real handler on each batch (local runner).
 * Settings come from the environment (see .env.sample); `--env-file` loads one first.
 *
 * @example
 * ```ts
 * const program = new Command('frames');
 * registerServiceCommands(program);
 * await program.parseAsync(['node', 'frames', 'invoke', '--event', 'events/sqs.json']);
 * ```
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { SQSEvent } from 'aws-lambda';

function loadEnvFile(file: string | undefined): void {
  if (file) process.loadEnvFile(file);
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

export function registerServiceCommands(program: Command): Command {
  program
    .command('invoke')
    .description('run the Lambda handler in-process on an SQS event file, with a simulated Lambda context')
    .requiredOption('--event <file>', 'SQS event JSON (e.g. events/sqs.json)')
    .option('--remaining-ms <n>', 'remaining time the simulated context starts with', positiveInt('--remaining-ms'), 900_000)
    .option('--env-file <file>', 'load environment variables from this file first')
    .action(async (opts: { event: string; remainingMs: number; envFile?: string }) => {
      loadEnvFile(opts.envFile);
      const event = JSON.parse(await readFile(opts.event, 'utf8')) as SQSEvent;
      if (!Array.isArray(event.Records)) throw new Error(`${opts.event} is not an SQS event: it has no Records array`);
      const { handler } = await import('../lambda.js');
      const { simulatedContext } = await import('../service/local-runtime.js');
      const t0 = performance.now();
      const res = await handler(event, simulatedContext({ remainingMs: opts.remainingMs }));
      process.stdout.write(`${JSON.stringify({ ...res, records: event.Records.length, ms: Math.round(performance.now() - t0) }, null, 2)}\n`);
    });

  program
    .command('enqueue')
    .description('send {"shortcode","platform"} to the queue at SQS_QUEUE_URL')
    .requiredOption('--shortcode <s>')
    .requiredOption('--platform <p>')
    .option('--env-file <file>', 'load environment variables from this file first')
    .action(async (opts: { shortcode: string; platform: string; envFile?: string }) => {
      loadEnvFile(opts.envFile);
      const { queueFromEnv } = await import('../service/queue-from-env.js');
      const { parseMessage } = await import('../service/message.js');
      const body = JSON.stringify({ shortcode: opts.shortcode, platform: opts.platform });
      parseMessage(body);
      const id = await queueFromEnv(process.env).queue.send(body);
      process.stdout.write(`${id}\n`);
    });

  program
    .command('worker')
    .description('poll SQS_QUEUE_URL and run the real handler on each batch (what the Lambda event source does)')
    .option('--once', 'stop when the queue is empty')
    .option('--remaining-ms <n>', 'simulated Lambda time per batch', positiveInt('--remaining-ms'), 900_000)
    .option('--env-file <file>', 'load environment variables from this file first')
    .action(async (opts: { once?: boolean; remainingMs: number; envFile?: string }) => {
      loadEnvFile(opts.envFile);
      const { queueFromEnv } = await import('../service/queue-from-env.js');
      const { pollOnce } = await import('../service/local-runtime.js');
      const { handler } = await import('../lambda.js');
      const { queue, region } = queueFromEnv(process.env);
      for (;;) {
        const r = await pollOnce(queue, handler, { region, waitSeconds: opts.once ? 0 : 10, remainingMs: opts.remainingMs });
        if (r.received) process.stdout.write(`${JSON.stringify(r)}\n`);
        if (opts.once && r.received === 0) break;
      }
    });
  return program;
}
