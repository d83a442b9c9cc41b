import { describe, expect, it } from 'vitest';
import { UnexpectedRoute53Answer } from '../../src/dns/route53-answer-check.js';
import { isRetryable } from '../../src/dns/route53-gateway.js';

/** An answer that is not Route 53's XML, in one line (issue 13, item 7); the real path is in test/reliability/route53-shared.test.ts. */
describe('an answer that is not Route 53 XML', () => {
  const page = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';

  it('names the endpoint, what was expected and what came, in one line of at most 80 characters of the body', () => {
    const error = new UnexpectedRoute53Answer('https://route53.amazonaws.com', 'ChangeResourceRecordSets', 502, 'text/html; charset=utf-8', page.repeat(5));
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(
      /^Route 53 \(https:\/\/route53\.amazonaws\.com\): expected an XML answer to ChangeResourceRecordSets, got HTTP 502, text\/html: <html> <head><title>502 Bad Gateway/,
    );
    const shown = /text\/html: (.*?); if it lasts/.exec(error.message)![1]!;
    expect(shown.length).toBeLessThanOrEqual(80);
    expect(error.message).toMatch(/check what sits between certkeeper and Route 53/);
  });

  it('is retried like a 5xx when the server failed, not when it refused', () => {
    expect(isRetryable(new UnexpectedRoute53Answer('https://route53.amazonaws.com', 'ListHostedZones', 502, 'text/html', page))).toBe(true);
    expect(isRetryable(new UnexpectedRoute53Answer('https://route53.amazonaws.com', 'ListHostedZones', 200, 'text/html', ''))).toBe(true);
    expect(isRetryable(new UnexpectedRoute53Answer('https://route53.amazonaws.com', 'ListHostedZones', 403, 'text/html', page))).toBe(false);
  });

  it('says when the body was empty or had no content type', () => {
    expect(new UnexpectedRoute53Answer('http://127.0.0.1:1', 'GetChange', 503, '', '').message).toContain('got HTTP 503, no content type: (empty body)');
  });
});
