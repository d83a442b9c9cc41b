/**
 * TXT values as Route 53 stores them: each value one or more double-quoted character-strings
 * (`"abc" "def"`, at most 255 bytes each) with `\"`, `\\` and `\NNN` (octal) escapes.
 * moto also accepts unquoted values (real Route 53 rejects them); those are read as one string.
 */

/** The character-strings of one Route 53 TXT value, unquoted and unescaped. */
export function parseTxtValue(value: string): Buffer[] {
  const trimmed = value.trim();
  if (!trimmed.startsWith('"')) return [Buffer.from(trimmed, 'utf8')];
  const strings: Buffer[] = [];
  let i = 0;
  while (i < trimmed.length) {
    if (trimmed[i] !== '"') {
      i++; // whitespace between strings
      continue;
    }
    const bytes: number[] = [];
    for (i++; i < trimmed.length && trimmed[i] !== '"'; i++) {
      if (trimmed[i] === '\\' && i + 1 < trimmed.length) {
        const octal = /^[0-7]{3}/.exec(trimmed.slice(i + 1, i + 4));
        if (octal) {
          bytes.push(parseInt(octal[0], 8));
          i += 3;
        } else {
          bytes.push(...Buffer.from(trimmed[++i]!, 'utf8'));
        }
      } else {
        bytes.push(...Buffer.from(trimmed[i]!, 'utf8'));
      }
    }
    i++; // closing quote
    strings.push(Buffer.from(bytes));
  }
  return strings;
}

/** The text a DNS client sees after joining the strings of the record, as ACME servers do. */
export function txtValueText(value: string): string {
  return Buffer.concat(parseTxtValue(value)).toString('utf8');
}

/** Route 53 form of `text`: quoted, escaped, split into 255-byte strings. */
export function quoteTxtValue(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const parts: string[] = [];
  for (let start = 0; start < bytes.length || parts.length === 0; start += 255) {
    const chunk = bytes.subarray(start, start + 255).toString('latin1');
    const escaped = chunk.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
    parts.push(`"${escaped}"`);
  }
  return parts.join(' ');
}
