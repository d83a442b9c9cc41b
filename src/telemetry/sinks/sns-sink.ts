import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { countAwsRequests } from '../aws-request-metrics.js';
import { notificationBody, type NotificationSink } from '../notifications.js';

/**
 * Publishes the notification to an SNS topic: `Message` is the JSON body (what e-mail, chat and
 * Lambda subscribers receive), `Subject` the summary (for e-mail), and the event name a message
 * attribute, so subscriptions can filter (e.g. only `renewal.failed`).
 */
export function snsSink(topicArn: string): { sink: NotificationSink; client: SNSClient } {
  const region = topicArn.split(':')[3];
  // The notifier retries with its own backoff: one SDK attempt per try keeps the count honest.
  const client = countAwsRequests(new SNSClient({ region, maxAttempts: 1 }));
  return {
    client,
    sink: {
      channel: 'sns',
      target: topicArn,
      async send(notification, signal) {
        await client.send(
          new PublishCommand({
            TopicArn: topicArn,
            Subject: subjectLine(notification.text),
            Message: JSON.stringify(notificationBody(notification)),
            MessageAttributes: { event: { DataType: 'String', StringValue: notification.event } },
          }),
          { abortSignal: signal },
        );
      },
    },
  };
}

/** SNS subjects: at most 100 characters, printable ASCII, no line breaks. */
export function subjectLine(text: string): string {
  const ascii = text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 100 ? `${ascii.slice(0, 97)}...` : ascii;
}
