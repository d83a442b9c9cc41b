import { expect } from 'vitest';

/**
 * Secrets planted in test configs, and the check that an error message quotes none of them: not whole,
 * not JSON-escaped, not cut short (any 12 characters in a row of one is a leak).
 */
export const EAB_HMAC_KEY = 'c2VjcmV0LWVhYi1obWFjLWtleS1TRUNSRVQtZm9yLXRlc3Rz';
export const WEBHOOK_URL = 'https://hooks.secret-sink.test/services/T0SECRET/B0SECRET/WebhookSecretToken42';
/** An EAB key as some CAs print it: standard base64, which the schema refuses (it wants base64url). */
export const STANDARD_BASE64_HMAC_KEY = 'SECRET+HMAC/c2VjcmV0LWhtYWMta2V5LWluLXN0YW5kYXJkLWJhc2U2NA==';

export function expectNoSecret(message: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) {
      for (let start = 0; start + 12 <= form.length; start++) {
        const piece = form.slice(start, start + 12);
        if (message.includes(piece)) expect.fail(`the message quotes part of a secret ("${piece}"):\n${message}`);
      }
    }
  }
}
