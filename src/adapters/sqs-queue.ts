/**
 * {@link Queue} on Amazon SQS (or fauxqs locally), plus `toSqsEvent`, which turns received messages
 * into the `SQSEvent` the Lambda handler gets, so a local poller can run the real handler.
 *
 * @example
 * ```ts
 * const q = new SqsQueue(new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4566' }), queueUrl);
 * await q.send(JSON.stringify({ shortcode: 'abc', platform: 'instagram' }));
 * ```
 */
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { BatchEntry, BatchSendResult, Queue, ReceivedMessage } from './queue.js';

export function createSqsClient(o: { region: string; endpoint?: string | undefined }): SQSClient {
  return new SQSClient({ region: o.region, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
}

export class SqsQueue implements Queue {
  readonly url: string;
  readonly #client: SQSClient;
  constructor(client: SQSClient, url: string) {
    this.#client = client;
    this.url = url;
  }

  async send(body: string): Promise<string> {
    const res = await this.#client.send(new SendMessageCommand({ QueueUrl: this.url, MessageBody: body }));
    return res.MessageId ?? '';
  }

  async sendBatch(entries: BatchEntry[], signal?: AbortSignal): Promise<BatchSendResult> {
    const res = await this.#client.send(
      new SendMessageBatchCommand({ QueueUrl: this.url, Entries: entries.map((e) => ({ Id: e.id, MessageBody: e.body })) }),
      signal ? { abortSignal: signal } : {},
    );
    return {
      successful: (res.Successful ?? []).map((s) => ({ id: s.Id ?? '', messageId: s.MessageId ?? '' })),
      failed: (res.Failed ?? []).map((f) => ({ id: f.Id ?? '', code: f.Code ?? 'Unknown', message: f.Message ?? f.Code ?? 'failed', senderFault: f.SenderFault === true })),
    };
  }

  async receive(max: number, waitSeconds = 0, visibilityTimeout?: number, signal?: AbortSignal): Promise<ReceivedMessage[]> {
    const res = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.url,
        MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
        WaitTimeSeconds: waitSeconds,
        ...(visibilityTimeout !== undefined ? { VisibilityTimeout: visibilityTimeout } : {}),
        MessageSystemAttributeNames: ['All'],
      }),
      signal ? { abortSignal: signal } : {},
    );
    return (res.Messages ?? []).map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
      attributes: { ...(m.Attributes ?? {}) } as Record<string, string>,
      ...(m.MD5OfBody ? { md5OfBody: m.MD5OfBody } : {}),
    }));
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.#client.send(new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: receiptHandle }));
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await this.#client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.url, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }
}

/** ARN of a queue from its URL (`https://sqs.<region>.<host>/<account>/<name>` or `http://host/<account>/<name>`). */
export function queueArnFromUrl(url: string, region: string): string {
  const parts = new URL(url).pathname.split('/').filter(Boolean);
  const name = parts.at(-1) ?? 'queue';
  const account = parts.at(-2) ?? '000000000000';
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

/** Build the SQSEvent Lambda would deliver for these messages. */
export function toSqsEvent(messages: ReceivedMessage[], queueArn: string, region: string): SQSEvent {
  return {
    Records: messages.map(
      (m): SQSRecord => ({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: m.attributes.SentTimestamp ?? String(Date.now()),
          SenderId: m.attributes.SenderId ?? 'local',
          ApproximateFirstReceiveTimestamp: m.attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: m.md5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: region,
      }),
    ),
  };
}
