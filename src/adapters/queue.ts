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

export interface Queue {
  readonly url: string;
  send(body: string): Promise<string>;
  receive(max: number, waitSeconds?: number, visibilityTimeout?: number): Promise<ReceivedMessage[]>;
  delete(receiptHandle: string): Promise<void>;
  /** Make a message visible again after `seconds` (0 = now). */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
}
