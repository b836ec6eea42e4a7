/**
 * The SQS boundary's error table, for sending (enqueue): a whole SendMessageBatch request that
 * failed, or one entry SQS refused in an otherwise accepted batch. A client fault that is not
 * throttling, or an entry flagged `SenderFault`, is the sender's problem and permanent; throttling,
 * server faults and anything unrecognised are transient (retried with the shared policy).
 *
 * @example
 * ```ts
 * const err = sqsErrors.classify({ entry: { id: 'm0', code: 'InvalidMessageContents', message: '...', senderFault: true } });
 * err.kind; // 'permanent'
 * ```
 */
import { errorMessage } from '../errors.js';
import { errorTable } from '../error-table.js';
import { QueueRejectedError, QueueUnavailableError } from './errors.js';

export type SqsFailure =
  /** The request itself failed (the SDK threw). */
  | { request: unknown }
  /** SQS accepted the batch but refused this entry. */
  | { entry: { id: string; code: string; message: string; senderFault: boolean } };

interface SdkLikeError {
  name?: string;
  $fault?: string;
  $retryable?: unknown;
}

const THROTTLING = /throttl|RequestThrottled|OverLimit|KmsThrottled/i;
const sdk = (f: SqsFailure): SdkLikeError | undefined => ('request' in f ? ((f.request ?? {}) as SdkLikeError) : undefined);
const sdkError = (name: string, fault: 'client' | 'server') => Object.assign(new Error(name), { name, $fault: fault });

export const sqsErrors = errorTable<SqsFailure>(
  'sqs',
  [
    {
      when: 'throttling (a client fault SQS asks us to retry)',
      code: 'SQS_UNAVAILABLE',
      kind: 'transient',
      example: { request: sdkError('RequestThrottled', 'client') },
      match: (f) => sdk(f) !== undefined && (Boolean(sdk(f)!.$retryable) || THROTTLING.test(sdk(f)!.name ?? '')),
      error: (f) => new QueueUnavailableError(`SendMessageBatch failed: ${errorMessage('request' in f ? f.request : '')}`, { cause: 'request' in f ? f.request : undefined }),
    },
    {
      when: 'the request rejected as the client\'s fault (no such queue, access denied, invalid parameters)',
      code: 'SQS_BATCH_REJECTED',
      kind: 'permanent',
      example: { request: sdkError('QueueDoesNotExist', 'client') },
      match: (f) => sdk(f)?.$fault === 'client',
      error: (f) => new QueueRejectedError(`SendMessageBatch rejected: ${errorMessage('request' in f ? f.request : '')}`, { cause: 'request' in f ? f.request : undefined }),
    },
    {
      when: 'an entry refused as the sender\'s fault (SenderFault: invalid body, too large)',
      code: 'SQS_ENTRY_REJECTED',
      kind: 'permanent',
      example: { entry: { id: 'm0', code: 'InvalidMessageContents', message: 'invalid character', senderFault: true } },
      match: (f) => 'entry' in f && f.entry.senderFault,
      error: (f) => new QueueRejectedError('entry' in f ? `${f.entry.code}: ${f.entry.message}` : '', { code: 'SQS_ENTRY_REJECTED' }),
    },
    {
      when: 'an entry that failed on SQS\'s side',
      code: 'SQS_BATCH_ENTRIES_FAILED',
      kind: 'transient',
      example: { entry: { id: 'm0', code: 'InternalError', message: 'internal error', senderFault: false } },
      match: (f) => 'entry' in f,
      error: (f) => new QueueUnavailableError('entry' in f ? `${f.entry.code}: ${f.entry.message}` : '', { code: 'SQS_BATCH_ENTRIES_FAILED' }),
    },
  ],
  {
    when: 'anything else: server faults (5xx), network errors, timeouts',
    code: 'SQS_UNAVAILABLE',
    kind: 'transient',
    example: { request: sdkError('InternalError', 'server') },
    error: (f) => new QueueUnavailableError(`SendMessageBatch failed: ${errorMessage('request' in f ? f.request : '')}`, { cause: 'request' in f ? f.request : undefined }),
  },
);
