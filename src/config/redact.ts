/**
 * Config error messages quote what came, to show what is wrong; never for a secret. The schema words its
 * secret fields without their values; this is the net under it: every string the config holds under a
 * secret-like key (or a container of secrets given as a plain string) is cut out of the message, whole,
 * JSON-escaped or truncated, whatever part of the code worded it.
 */

const SECRET_KEY = /hmac|webhook|passw|secret(?!id$)|token|credential|private|apikey|^key$|authorization|cookie/i;
// These hold secrets among other things: a value there that is not an object is most likely the secret itself.
const SECRET_HOLDER = /^(eab|stagingEab|notifications)$/i;

export const SECRET_NOT_SHOWN = '(value not shown: it may be a secret)';

/** Every string found under a secret-like key of the config, however deep. */
export function secretValues(config: unknown): string[] {
  const found = new Set<string>();
  const seen = new Set<object>();
  const visit = (value: unknown, secret: boolean) => {
    if (typeof value === 'string') {
      if (secret && value.length >= 4) found.add(value);
      return;
    }
    if (!value || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    for (const [key, item] of Object.entries(value)) {
      const holderGivenAValue = SECRET_HOLDER.test(key) && (typeof item !== 'object' || item === null || Array.isArray(item));
      visit(item, secret || SECRET_KEY.test(key) || holderGivenAValue);
    }
  };
  visit(config, false);
  return [...found];
}

/** `message` with every form of each secret (as is, JSON-escaped, or cut short by a quote of its start) replaced. */
export function redactSecrets(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    for (const form of new Set([secret, escaped, secret.slice(0, 60), escaped.slice(0, 60)])) {
      if (form.length >= 4) out = out.split(form).join(SECRET_NOT_SHOWN);
    }
  }
  return out;
}
