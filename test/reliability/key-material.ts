/**
 * Key material in a text: a PEM private key block, or any 32-character run of the base64 body of a
 * known private key (a key leaked re-wrapped, JSON-escaped or cut short is still found).
 */
export function findKeyMaterial(text: string, knownKeys: string[]): string[] {
  const found: string[] = [];
  if (/PRIVATE KEY-----/.test(text)) found.push('a PEM private key header');
  const flat = text.replace(/\\n|\s/g, '');
  for (const key of knownKeys) {
    const body = key.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');
    for (let start = 0; start + 32 <= body.length; start += 16) {
      if (flat.includes(body.slice(start, start + 32))) {
        found.push(`part of a known private key (${body.slice(0, 8)}…)`);
        break;
      }
    }
  }
  return found;
}
