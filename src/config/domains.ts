import { domainToASCII } from 'node:url';

/**
 * Checks one configured domain and says, in words, what is wrong with it (or null when it is fine).
 * The rules are the ones a CA applies (RFC 1035 labels, RFC 8555 wildcards), so a bad name fails
 * at config load instead of at the CA in the middle of a renewal.
 */
export function domainProblem(domain: string): string | null {
  if (domain.length === 0) return 'is empty; expected a DNS name such as "api.example.com"';
  if (domain !== domain.trim()) return `"${domain}" has surrounding spaces`;
  // eslint-disable-next-line no-control-regex -- the range \x00-\x7f is all of ASCII: anything else is a non-ASCII name
  if (/[^\x00-\x7f]/.test(domain)) {
    const ascii = domainToASCII(domain.replace(/^\*\./, ''));
    const hint = ascii ? `; write it in its ASCII (punycode) form: "${domain.startsWith('*.') ? '*.' : ''}${ascii}"` : '';
    return `"${domain}" is an internationalised name${hint}`;
  }
  if (domain !== domain.toLowerCase()) return `"${domain}" has upper-case letters; write "${domain.toLowerCase()}"`;
  if (domain.endsWith('.')) return `"${domain}" ends with a dot; write it without the trailing dot`;
  if (domain.length > 253) return `"${domain.slice(0, 40)}…" is ${domain.length} characters long; a DNS name has at most 253`;

  // The CA looks up the TXT record at _acme-challenge.NAME, which must itself be a valid DNS name.
  const challengeName = `${CHALLENGE_PREFIX}${challengeBaseName(domain)}`;
  if (challengeName.length > 253) {
    return `"${domain.slice(0, 40)}…" is too long for DNS-01: its challenge name ${CHALLENGE_PREFIX}… is ${challengeName.length} characters, a DNS name has at most 253; use a name of at most ${253 - CHALLENGE_PREFIX.length} characters (without "*.")`;
  }

  const labels = domain.split('.');
  if (labels.some((label, index) => label.includes('*') && (label !== '*' || index !== 0))) {
    return `"${domain}" has a wildcard in the wrong place; a wildcard may only be the whole leftmost label, as in "*.example.com"`;
  }
  const rest = labels[0] === '*' ? labels.slice(1) : labels;
  if (rest.length < 2) return `"${domain}" is not a fully qualified name; expected at least two labels, as in "example.com"`;
  for (const label of rest) {
    if (label.length === 0) return `"${domain}" has an empty label (two dots in a row)`;
    if (label.length > 63) return `"${domain}" has a label of ${label.length} characters; a label has at most 63`;
    // A CA refuses "_" in a host name (RFC 5280 SANs are host names), whatever DNS itself allows.
    if (label.includes('_'))
      return `"${domain}" has "_" in the label "${label}"; a CA issues certificates for host names only (letters, digits and hyphens): use "${label.replace(/_/g, '-')}" or another name`;
    if (!/^[a-z0-9-]+$/.test(label)) return `"${domain}" has a character not allowed in a DNS name in "${label}" (letters, digits and hyphens only)`;
    if (label.startsWith('-') || label.endsWith('-')) return `"${domain}" has a label that starts or ends with a hyphen ("${label}")`;
  }
  if (/^[0-9]+$/.test(rest[rest.length - 1]!)) return `"${domain}" looks like an IP address; certkeeper orders certificates for DNS names only`;
  return null;
}

const CHALLENGE_PREFIX = '_acme-challenge.';

/** Apex of a wildcard, or the name itself: the name whose `_acme-challenge` record proves control. */
export function challengeBaseName(domain: string): string {
  return domain.startsWith('*.') ? domain.slice(2) : domain;
}
