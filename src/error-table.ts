/**
 * Table-driven error classification, one table per boundary (ffmpeg, S3, Supabase, SQS). A table
 * is data: ordered rules, each naming what it recognises, the code and kind it produces and an
 * example input, plus an explicit rule for what no rule recognises. The first matching rule wins.
 * Tests run every rule on its example, and the README's failure table is checked against the rules.
 *
 * @example
 * ```ts
 * const table = errorTable<{ status?: number }>('supabase', [
 *   { when: 'HTTP 5xx', code: 'STATUS_STORE_UNAVAILABLE', kind: 'transient', example: { status: 503 },
 *     match: (i) => (i.status ?? 0) >= 500, error: (i) => new StatusStoreError(`HTTP ${i.status}`, i.status) },
 * ], { when: 'anything else', code: 'STATUS_STORE_UNAVAILABLE', kind: 'transient', example: {}, error: () => new StatusStoreError('?') });
 * table.classify({ status: 503 }); // StatusStoreError (transient)
 * ```
 */
import type { ErrorKind, FramesError } from './errors.js';

/** The boundaries whose failures are classified. */
export type Boundary = 'ffmpeg' | 's3' | 'supabase' | 'sqs';

export interface ErrorRule<I> {
  /** What the rule recognises, in words (the README's failure table describes the same case). */
  readonly when: string;
  /** The `FramesError.code` the rule produces. */
  readonly code: string;
  /** The kind the rule produces: permanent = recorded, transient/deadline = retried. */
  readonly kind: ErrorKind;
  /** A representative input (tests classify it and expect this rule's code and kind). */
  readonly example: I;
  readonly match: (input: I) => boolean;
  readonly error: (input: I) => FramesError;
}

/** The rule for inputs no other rule matches: every table states it. */
export type UnknownRule<I> = Omit<ErrorRule<I>, 'match'>;

export interface ErrorTable<I> {
  readonly boundary: Boundary;
  readonly rules: readonly ErrorRule<I>[];
  readonly unknown: UnknownRule<I>;
  /** The error of the first matching rule, or of the unknown rule. */
  classify(input: I): FramesError;
  /** The rule that decides `input` (for tests and logs). */
  ruleFor(input: I): ErrorRule<I> | UnknownRule<I>;
}

/** Build a boundary's table. Rule order matters: more specific rules first. */
export function errorTable<I>(boundary: Boundary, rules: readonly ErrorRule<I>[], unknown: UnknownRule<I>): ErrorTable<I> {
  const ruleFor = (input: I) => rules.find((r) => r.match(input)) ?? unknown;
  return { boundary, rules, unknown, ruleFor, classify: (input) => ruleFor(input).error(input) };
}
