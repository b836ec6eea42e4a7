/** The `frames` command line: engine commands plus the service's local tools. */
import { Command, CommanderError } from 'commander';
import { TOOL_VERSION } from '../engine/manifest.js';
import { errorMessage, FramesError } from '../errors.js';
import { registerEngineCommands } from './engine-commands.js';
import { registerReportCommand } from './report-command.js';

const ENGINE_COMMANDS = new Set(['detect', 'extract', 'report']);

export async function main(argv: string[], io = { out: (s: string) => console.log(s), err: (s: string) => console.error(s) }): Promise<number> {
  const program = new Command('frames')
    .description('Scene-aware video frame extraction: detect scenes, pick representative frames, run the SQS/Lambda service locally')
    .version(TOOL_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  registerEngineCommands(program, io);
  registerReportCommand(program, io);
  // Engine commands start fast: the service commands (AWS SDK, supabase-js) load only when asked for.
  const sub = argv.slice(2).find((a) => !a.startsWith('-'));
  if (sub === undefined || !ENGINE_COMMANDS.has(sub)) {
    try {
      const { registerServiceCommands } = await import('./service-commands.js');
      registerServiceCommands(program);
    } catch (err) {
      if (process.env.DEBUG) io.err(`service commands unavailable: ${errorMessage(err)}`);
    }
  }
  // Actions report failure through process.exitCode; isolate it so an embedder (or a test) that
  // calls main() twice does not inherit the first call's status.
  const outer = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    io.err(`error: ${errorMessage(err)}${err instanceof FramesError ? ` [${err.code}]` : ''}`);
    return 1;
  } finally {
    process.exitCode = outer;
  }
}
