/**
 * A work queue as the local runner and the CLI see it (enqueue, poll, acknowledge). On AWS the
 * Lambda event source mapping does the polling; locally `pollOnce` feeds the real handler.
 */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS ApproximateReceiveCount. */
  receiveCount: number;
  attributes: Record<string, string>;
  md5OfBody?: string;
}

/** One entry of a batch send; `id` is unique within the batch (SQS: 1-80 of A-Z a-z 0-9 _ -). */
export interface BatchEntry {
  id: string;
  body: string;
}

/** What SendMessageBatch reports: per entry, success or a failure with SQS's code and sender-fault flag. */
export interface BatchSendResult {
  successful: Array<{ id: string; messageId: string }>;
  /** `senderFault: true` means the entry itself is wrong (permanent); otherwise it may be retried. */
  failed: Array<{ id: string; code: string; message: string; senderFault: boolean }>;
}

export interface Queue {
  readonly url: string;
  send(body: string): Promise<string>;
  /** Send up to 10 entries in one request. Throws only when the whole request failed. */
  sendBatch(entries: BatchEntry[], signal?: AbortSignal): Promise<BatchSendResult>;
  /** `signal` cancels a long poll (graceful shutdown). */
  receive(max: number, waitSeconds?: number, visibilityTimeout?: number, signal?: AbortSignal): Promise<ReceivedMessage[]>;
  delete(receiptHandle: string): Promise<void>;
  /** Make a message visible again after `seconds` (0 = now). */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
}
