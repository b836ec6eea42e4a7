/**
 * The boundaries' error tables (ffmpeg, S3, Supabase, SQS): every rule produces what it declares on
 * its own example and is reachable (no earlier rule shadows it), every table states its unknown
 * policy, and the README's failure tables agree with the rules in both directions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { s3Errors } from '../../src/adapters/s3-errors.js';
import { sqsErrors } from '../../src/adapters/sqs-errors.js';
import { supabaseErrors } from '../../src/adapters/supabase-errors.js';
import { ffmpegErrors, reportsTruncation } from '../../src/engine/ffmpeg-errors.js';
import type { ErrorTable } from '../../src/error-table.js';
import { DiskFullError, FramesError, InvalidVideoError, isRetryableInPlace, type ErrorKind } from '../../src/errors.js';
import { ClaimLockedError, NotDownloadedError, NotEnoughTimeError, UnknownVideoError, VideoTooLargeError, VideoTooLongError } from '../../src/service/errors.js';
import { InvalidMessageError } from '../../src/service/message.js';

const tables: Array<ErrorTable<never>> = [ffmpegErrors, s3Errors, supabaseErrors, sqsErrors] as unknown as Array<ErrorTable<never>>;

/** Errors the service and engine raise themselves (not at a boundary), with the kind the README promises. */
const serviceErrors: FramesError[] = [
  new InvalidMessageError(['body is empty']),
  new UnknownVideoError('instagram', 'abc'),
  new NotDownloadedError('instagram', 'abc'),
  new ClaimLockedError('instagram', 'abc'),
  new NotEnoughTimeError(10, 60_000),
  new InvalidVideoError('EMPTY_FILE', 'empty'),
  new InvalidVideoError('NO_FRAMES', 'no frames'),
  new InvalidVideoError('TRUNCATED_VIDEO', 'cut short'),
  new VideoTooLongError(5400, 1_350_000, 280_000),
  new VideoTooLargeError(12e9, 9e9),
  new DiskFullError('creating the scratch dir'),
];

interface Row {
  line: string;
  codes: string[];
  outcome: string;
}

/** Rows of every table in the README's "Failure semantics" section that name at least one code. */
function readmeRows(): Row[] {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.split('\n## Failure semantics')[1]?.split('\n## ')[0] ?? '';
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|') || /^\|[-| ]+\|$/.test(line) || line.startsWith('| Failure')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const codes = [...(cells[1] ?? '').matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1]!);
    if (codes.length) rows.push({ line, codes, outcome: cells.at(-1)! });
  }
  return rows;
}

/** What an outcome cell promises: recorded/reported = permanent, retried = transient or deadline. */
function promised(outcome: string): 'permanent' | 'retried' | 'unclear' {
  if (/^(recorded|reported)/.test(outcome)) return 'permanent';
  if (/retried/.test(outcome)) return 'retried';
  return 'unclear';
}

const expectedFor = (kind: ErrorKind) => (kind === 'permanent' ? 'permanent' : 'retried');

describe('error tables', () => {
  describe.each(tables.map((t) => [t.boundary, t] as const))('%s', (_name, table) => {
    it.each(table.rules.map((r) => [r.when, r]))('rule "%s" produces its code and kind on its example, and is reached', (_when, rule) => {
      const err = table.classify(rule.example);
      expect(err).toBeInstanceOf(FramesError);
      expect({ code: err.code, kind: err.kind }).toEqual({ code: rule.code, kind: rule.kind });
      expect(table.ruleFor(rule.example)).toBe(rule);
    });

    it('states an unknown policy that no rule shadows', () => {
      const err = table.classify(table.unknown.example);
      expect(table.ruleFor(table.unknown.example)).toBe(table.unknown);
      expect({ code: err.code, kind: err.kind }).toEqual({ code: table.unknown.code, kind: table.unknown.kind });
      expect(table.unknown.kind).toBe('transient');
    });
  });

  it('Supabase: outages are retried in place, 4xx answers are not (the message still comes back)', () => {
    const outage = supabaseErrors.classify({ fn: 'claim_video', status: 503, message: 'down' });
    const rejected = supabaseErrors.classify({ fn: 'claim_video', status: 401, message: 'invalid API key' });
    expect([outage.retryable, isRetryableInPlace(outage)]).toEqual([true, true]);
    expect([rejected.retryable, isRetryableInPlace(rejected)]).toEqual([true, false]);
  });

  it('ffmpeg: one truncation test for the probe and the decode pass', () => {
    expect(reportsTruncation('[mov,mp4 @ 0x1] stream 0, offset 0x30: partial file')).toBe(true);
    expect(reportsTruncation('[h264 @ 0x1] error while decoding MB 3 4')).toBe(false);
  });
});

describe('README failure tables agree with the error tables', () => {
  const rows = readmeRows();

  it('finds the tables', () => {
    expect(rows.length).toBeGreaterThan(25);
    for (const r of rows) expect([r.line, promised(r.outcome)]).not.toEqual([r.line, 'unclear']);
  });

  const produced = tables.flatMap((t) => [...t.rules, t.unknown].map((r) => [`${t.boundary}: ${r.when}`, r.code, r.kind] as const));
  it.each(produced)('%s (%s) has a README row with its outcome', (_what, code, kind) => {
    const row = rows.find((r) => r.codes.includes(code) && promised(r.outcome) === expectedFor(kind));
    expect(row ? code : `no README row for ${code} promising "${expectedFor(kind)}"`).toBe(code);
  });

  it('every code in the README is produced by a rule or a named service error, with the promised outcome', () => {
    const kinds = new Map<string, Set<string>>();
    const add = (code: string, kind: ErrorKind) => kinds.set(code, (kinds.get(code) ?? new Set()).add(expectedFor(kind)));
    for (const [, code, kind] of produced) add(code, kind);
    for (const e of serviceErrors) add(e.code, e.kind);
    add('UNEXPECTED', 'transient'); // a non-FramesError: isRetryable() says transient
    const wrong = rows.flatMap((r) => r.codes.filter((c) => !kinds.get(c)?.has(promised(r.outcome))).map((c) => `${c} in: ${r.line}`));
    expect(wrong).toEqual([]);
  });
});
