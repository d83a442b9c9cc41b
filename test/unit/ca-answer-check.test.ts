import { describe, expect, it } from 'vitest';
import { CaAnswerMalformed, checkCaAnswer, expectCaAnswer } from '../../src/acme/ca-answer-check.js';

/**
 * The check of each CA answer against its step: the URLs are learnt from the answers themselves, from
 * the directory down to the challenges. The reliability suite drives it against Pebble; this walks every
 * kind of answer, the ones Pebble's tests do not garble included (newNonce, newAccount, order, challenge).
 */
const CA = 'https://ca.test';
const json = { 'content-type': 'application/json' };
const ok = (data: unknown, headers: Record<string, unknown> = json) => ({ status: 200, headers, data: typeof data === 'string' ? data : JSON.stringify(data) });

function learnEverything(): void {
  expectCaAnswer(`${CA}/dir`, 'directory');
  checkCaAnswer('get', `${CA}/dir`, ok({ newNonce: `${CA}/nonce`, newAccount: `${CA}/acct`, newOrder: `${CA}/new-order` }));
  checkCaAnswer('post', `${CA}/acct`, ok({ status: 'valid' }, { ...json, location: `${CA}/acct/1` }));
  checkCaAnswer('post', `${CA}/new-order`, {
    status: 201,
    headers: { ...json, location: `${CA}/order/1` },
    data: JSON.stringify({ status: 'pending', authorizations: [`${CA}/authz/1`], finalize: `${CA}/finalize/1` }),
  });
  checkCaAnswer('post', `${CA}/authz/1`, ok({ status: 'pending', identifier: { type: 'dns', value: 'a.test' }, challenges: [{ type: 'dns-01', url: `${CA}/chall/1` }] }));
  checkCaAnswer('post', `${CA}/order/1`, ok({ status: 'valid', authorizations: [], finalize: `${CA}/finalize/1`, certificate: `${CA}/cert/1` }));
}

describe('checking the CA answers', () => {
  learnEverything();

  it.each([
    [
      'newNonce',
      'head',
      `${CA}/nonce`,
      ok(''),
      /HEAD https:\/\/ca\.test\/nonce: expected a Replay-Nonce header, came HTTP 200, application\/json, no Replay-Nonce: an empty body$/,
    ],
    [
      'newAccount',
      'post',
      `${CA}/acct`,
      ok('[]'),
      /POST https:\/\/ca\.test\/acct: expected a JSON account object \(status\), came HTTP 200, application\/json, not a JSON object: \[\]$/,
    ],
    ['the account', 'post', `${CA}/acct/1`, ok({ contact: [] }), /expected a JSON account object \(status\), came HTTP 200, application\/json, no status: \{"contact":\[\]\}$/],
    [
      'newOrder',
      'post',
      `${CA}/new-order`,
      ok({ status: 'pending', authorizations: [], finalize: `${CA}/f` }),
      /expected a JSON order object .* and a Location header, came .*no Location/,
    ],
    [
      'the order',
      'post',
      `${CA}/order/1`,
      ok('<html>oops</html>', { 'content-type': 'text/html' }),
      /POST https:\/\/ca\.test\/order\/1: expected a JSON order object \(status\), came HTTP 200, text\/html, not a JSON object: <html>oops<\/html>$/,
    ],
    [
      'an authorization',
      'post',
      `${CA}/authz/1`,
      ok({ status: 'pending', challenges: [] }),
      /expected a JSON authorization object \(status, identifier, challenges\), came .*no identifier/,
    ],
    [
      'a challenge',
      'post',
      `${CA}/chall/1`,
      ok('"processing"'),
      /POST https:\/\/ca\.test\/chall\/1: expected a JSON challenge object \(status\), came HTTP 200, application\/json, not a JSON object: "processing"$/,
    ],
    ['finalize', 'post', `${CA}/finalize/1`, ok('null'), /expected a JSON order object \(status\), came HTTP 200, application\/json, not a JSON object: null$/],
    [
      'the certificate',
      'post',
      `${CA}/cert/1`,
      ok({ status: 'valid' }),
      /expected a PEM certificate chain, came HTTP 200, application\/json, no certificate: \{"status":"valid"\}$/,
    ],
  ])('%s: garbage is one line with the URL, what was expected and what came', (_label, method, url, answer, why) => {
    let error: unknown;
    try {
      checkCaAnswer(method, url, answer);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CaAnswerMalformed);
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).not.toContain('\n');
  });

  it('passes good answers, error answers (acme-client reads their problem) and URLs it never learnt', () => {
    expect(() => checkCaAnswer('head', `${CA}/nonce`, ok('', { 'replay-nonce': 'abc' }))).not.toThrow();
    expect(() =>
      checkCaAnswer('post', `${CA}/cert/1`, ok('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', { 'content-type': 'application/pem-certificate-chain' })),
    ).not.toThrow();
    expect(() => checkCaAnswer('post', `${CA}/order/1`, { status: 503, headers: { 'content-type': 'text/html' }, data: '<html>down</html>' })).not.toThrow();
    expect(() => checkCaAnswer('post', `${CA}/renewal-info/x`, ok('garbage'))).not.toThrow();
  });

  it('cuts a long body to 60 characters and keeps it on one line', () => {
    const body = `{\n  "detail": "${'x'.repeat(200)}"\n}`;
    expect(() => checkCaAnswer('post', `${CA}/chall/1`, ok(body))).toThrow(/no status: \{ "detail": "x{47}…$/);
  });
});
