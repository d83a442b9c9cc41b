import type { SNSClient } from '@aws-sdk/client-sns';
import { notificationBody, type NotificationSink } from '../notifications.js';

/**
 * Publishes the notification to an SNS topic: `Message` is the JSON body (what e-mail, chat and
 * Lambda subscribers receive), `Subject` the summary (for e-mail), and the event name a message
 * attribute, so subscriptions can filter (e.g. only `renewal.failed`).
 */
export function snsSink(topicArn: string, client: () => Promise<SNSClient>): NotificationSink {
  return {
    channel: 'sns',
    target: topicArn,
    async send(notification, signal) {
      // SNS's SDK loads with the first notification, not at start-up.
      const [sns, { PublishCommand }] = await Promise.all([client(), import('@aws-sdk/client-sns')]);
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: subjectLine(notification.text),
          Message: JSON.stringify(notificationBody(notification)),
          MessageAttributes: { event: { DataType: 'String', StringValue: notification.event } },
        }),
        { abortSignal: signal },
      );
    },
  };
}

/** The region of a topic: `arn:aws:sns:REGION:ACCOUNT:NAME`. */
export function topicRegion(topicArn: string): string {
  return topicArn.split(':')[3]!;
}

/** SNS subjects: at most 100 characters, printable ASCII, no line breaks. */
export function subjectLine(text: string): string {
  const ascii = text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > 100 ? `${ascii.slice(0, 97)}...` : ascii;
}
