import type { SNSClient } from '@aws-sdk/client-sns';
import type { ResolvedConfig } from '../config/schema.js';
import type { AuditLogger } from './logger.js';
import { Notifier, type NotificationSink } from './notifications.js';
import { snsSink, topicRegion } from './sinks/sns-sink.js';
import { webhookSink } from './sinks/webhook-sink.js';

/**
 * The notifier for `notifications` in the config, following `log`; undefined when no channel is configured.
 * `snsClient` makes the topic's client (aws/sns-client.ts's, with the request timeout): telemetry makes no AWS
 * client. It is made (and SNS's SDK loaded) with the first notification.
 */
export function notifierFromConfig(config: ResolvedConfig, log: AuditLogger, snsClient: (region: string) => Promise<SNSClient>): { notifier: Notifier; close(): void } | undefined {
  const settings = config.notifications;
  if (!settings?.snsTopicArn && !settings?.webhookUrl) return undefined;
  const sinks: NotificationSink[] = [];
  const closers: (() => void)[] = [];
  if (settings.snsTopicArn) {
    const region = topicRegion(settings.snsTopicArn);
    let client: Promise<SNSClient> | undefined;
    sinks.push(snsSink(settings.snsTopicArn, () => (client ??= snsClient(region))));
    closers.push(() => void client?.then((made) => made.destroy()).catch(() => undefined)); // a client never made has nothing to close
  }
  if (settings.webhookUrl) sinks.push(webhookSink(settings.webhookUrl));
  const notifier = new Notifier(sinks, log, { onSuccess: settings.onSuccess });
  const unfollow = notifier.follow(log);
  return {
    notifier,
    close() {
      unfollow();
      for (const close of closers) close();
    },
  };
}
