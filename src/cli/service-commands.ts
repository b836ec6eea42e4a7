/**
 * Service commands for the `frames` CLI (registered by src/cli/main.ts):
 * - `frames invoke --event events/sqs.json [--remaining-ms 900000]`: run the real Lambda handler
 *   in-process with a simulated Context whose remaining time counts down;
 * - `frames enqueue [--queue-url URL] [--shortcode X --platform Y] [--file F] [-]`: validate, de-duplicate
 *   and send messages in batches of 10 (src/service/enqueue.ts);
 * - `frames worker [--queue-url URL] [--wait-seconds N] [--visibility-timeout N] [--once]`: long-poll and
 *   run the same job as the Lambda with no 15-minute cap, heartbeats, graceful SIGTERM, ECS scale-in
 *   protection while a video runs (src/service/worker.ts). It is also the Fargate long-video worker's command.
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
import type { EnqueueItem, InvalidLine } from '../service/enqueue.js';

function loadEnvFile(file: string | undefined): void {
  if (file) process.loadEnvFile(file);
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.once('error', reject);
  });
}

/** The work queue from --queue-url or SQS_QUEUE_URL (SQS_ENDPOINT / AWS_REGION apply). */
async function queueFor(queueUrl: string | undefined) {
  const { queueFromEnv } = await import('../service/queue-from-env.js');
  return queueFromEnv(queueUrl ? { ...process.env, SQS_QUEUE_URL: queueUrl } : process.env);
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
    .description('send {"shortcode","platform"} messages to SQS in batches of 10: from flags, a file or stdin (JSON lines or platform,shortcode CSV)')
    .argument('[input]', '"-" reads stdin (also read when stdin is not a TTY and no other input is given)')
    .option('--queue-url <url>', 'queue URL (default SQS_QUEUE_URL)')
    .option('--shortcode <s>', 'one video: its shortcode (with --platform)')
    .option('--platform <p>', 'one video: its platform (with --shortcode)')
    .option('--file <file>', 'JSON lines and/or CSV (optional header platform,shortcode)')
    .option('--env-file <file>', 'load environment variables from this file first')
    .action(async (input: string | undefined, opts: { queueUrl?: string; shortcode?: string; platform?: string; file?: string; envFile?: string }) => {
      loadEnvFile(opts.envFile);
      if (input !== undefined && input !== '-') throw new Error(`unexpected argument "${input}": use --file ${input}, or "-" for stdin`);
      if ((opts.shortcode === undefined) !== (opts.platform === undefined)) throw new Error('--shortcode and --platform go together');
      const { enqueueVideos, parseEnqueueInput } = await import('../service/enqueue.js');
      const items: EnqueueItem[] = [];
      const invalid: InvalidLine[] = [];
      let lineBase = 0;
      const addText = (text: string) => {
        const parsed = parseEnqueueInput(text);
        items.push(...parsed.items.map((i) => ({ ...i, line: (i.line ?? 0) + lineBase })));
        invalid.push(...parsed.invalid.map((i) => ({ ...i, line: i.line + lineBase })));
        lineBase += text.split(/\r?\n/).length;
      };
      if (opts.shortcode !== undefined && opts.platform !== undefined) {
        items.push({ shortcode: opts.shortcode, platform: opts.platform, line: 0 });
      }
      if (opts.file) addText(await readFile(opts.file, 'utf8'));
      const noOtherInput = opts.shortcode === undefined && !opts.file;
      if (input === '-' || (noOtherInput && !process.stdin.isTTY)) addText(await readStdin());
      else if (noOtherInput) throw new Error('nothing to enqueue: give --shortcode and --platform, --file F, or "-" for stdin');
      const { queue } = await queueFor(opts.queueUrl);
      const res = await enqueueVideos(queue, items);
      const allInvalid = [...invalid, ...res.invalid].sort((a, b) => a.line - b.line);
      for (const i of allInvalid) process.stderr.write(`invalid ${i.line === 0 ? '--shortcode/--platform' : `line ${i.line}`}: ${i.error}\n`);
      for (const f of res.failed) process.stderr.write(`failed ${f.item.platform}/${f.item.shortcode}${f.item.line ? ` (line ${f.item.line})` : ''}: ${f.error}\n`);
      process.stdout.write(`enqueue: sent=${res.sent} duplicates=${res.duplicates} invalid=${allInvalid.length} failed=${res.failed.length}\n`);
      if (allInvalid.length || res.failed.length) process.exitCode = 1;
    });

  program
    .command('worker')
    .description('long-poll SQS and run the same job as the Lambda, without its 15-minute cap (ECS, EC2, local); stops gracefully on SIGTERM/SIGINT')
    .option('--queue-url <url>', 'queue URL (default SQS_QUEUE_URL)')
    .option('--wait-seconds <n>', 'long-poll wait per receive, 0-20 (default 20; 1 with --once)', positiveInt('--wait-seconds'))
    .option('--visibility-timeout <n>', 'seconds a message stays invisible; extended every n/2 s while it is worked on', positiveInt('--visibility-timeout'), 300)
    .option('--concurrency <n>', 'messages processed at once (default CONCURRENCY_LIMIT)', positiveInt('--concurrency'))
    .option('--remaining-ms <n>', 'time one video may take before it is aborted and given back', positiveInt('--remaining-ms'), 6 * 3_600_000)
    .option('--shutdown-timeout-ms <n>', 'on SIGTERM, how long in-flight work may finish before it is aborted', positiveInt('--shutdown-timeout-ms'), 25_000)
    .option('--once', 'stop when the queue is empty')
    .option('--env-file <file>', 'load environment variables from this file first')
    .action(
      async (opts: { queueUrl?: string; waitSeconds?: number; visibilityTimeout: number; concurrency?: number; remainingMs: number; shutdownTimeoutMs: number; once?: boolean; envFile?: string }) => {
        loadEnvFile(opts.envFile);
        const { runWorker, handleShutdownSignals } = await import('../service/worker.js');
        const { buildDeps } = await import('../service/runtime.js');
        const { EcsTaskProtection } = await import('../adapters/ecs-task-protection.js');
        const { queue } = await queueFor(opts.queueUrl);
        const deps = await buildDeps(process.env);
        // Never forward to the queue this worker consumes: what does not fit here is refused (permanent) instead.
        if (deps.longVideoQueue?.url === queue.url) deps.longVideoQueue = undefined;
        const controller = new AbortController();
        const uninstall = handleShutdownSignals(controller, {
          onSignal: (s) => process.stderr.write(`worker: ${s} received, finishing in-flight work (up to ${opts.shutdownTimeoutMs} ms)\n`),
          onSecondSignal: (s) => {
            process.stderr.write(`worker: second ${s}, exiting now\n`);
            process.exit(130);
          },
        });
        try {
          const stats = await runWorker({
            queue,
            deps,
            waitSeconds: opts.waitSeconds ?? (opts.once ? 1 : 20),
            visibilityTimeout: opts.visibilityTimeout,
            jobTimeoutMs: opts.remainingMs,
            shutdownTimeoutMs: opts.shutdownTimeoutMs,
            ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
            ...(opts.once ? { once: true } : {}),
            signal: controller.signal,
            protection: EcsTaskProtection.fromEnv(process.env),
            onMessage: (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
          });
          process.stdout.write(`worker: ${JSON.stringify(stats)}\n`);
        } finally {
          uninstall();
        }
      },
    );
  return program;
}
