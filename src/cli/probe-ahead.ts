/**
 * The launcher's head start: `frames extract <file> ...` and `frames detect <file> ...` start
 * probing the file before the rest of the CLI has loaded (src/engine/probe.ts, probeAhead). Only
 * the form where the video follows the command directly is recognised, so no option parsing is
 * guessed at here; anything else (a folder, `--help`, options first) simply starts no probe.
 */
import { probeAhead } from '../engine/probe.js';

const PROBED = new Set(['extract', 'detect']);

/** `argv` as process.argv (node, script, command, ...). */
export function probeAheadFromArgv(argv: readonly string[]): void {
  const [command, input] = argv.slice(2);
  if (command === undefined || input === undefined || !PROBED.has(command) || input.startsWith('-')) return;
  // An S3 URL or other scheme is not a local file (statSync in probeAhead finds nothing either).
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return;
  probeAhead(input);
}
