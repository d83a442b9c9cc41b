import { describeError } from '../logger.js';
import { notificationBody, type NotificationSink } from '../notifications.js';

/**
 * POSTs the notification as JSON (Slack-compatible: `text` is the summary). A webhook URL is a secret
 * (a Slack URL's path is its credential): logs and errors name only its host.
 */
export function webhookSink(url: string): NotificationSink {
  const host = new URL(url).host;
  return {
    channel: 'webhook',
    target: host,
    async send(notification, signal) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'certkeeper' },
          body: JSON.stringify(notificationBody(notification)),
          signal,
        });
      } catch (error) {
        // fetch's own message is generic ("fetch failed"); the cause says why, and names no path.
        const cause = (error as { cause?: unknown }).cause;
        throw new Error(`webhook at ${host}: ${describeError(cause ?? error)}`, { cause: error });
      }
      await response.body?.cancel();
      if (!response.ok) throw new Error(`webhook at ${host} answered HTTP ${response.status}`);
    },
  };
}
