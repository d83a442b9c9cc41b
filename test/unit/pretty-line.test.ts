import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/telemetry/logger.js';
import { logFormatInArgv, progressWanted } from '../../src/cli/output-mode.js';
import { colorAllowed, prettyLine, shortenArn } from '../../src/telemetry/pretty-line.js';

const NOON = new Date('2026-12-07T12:34:56.000Z');
const CERT_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const LISTENER_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/alb-www/50dc6c495c0c9188/f2f7dc8efc522ab2';

describe('the readable log line', () => {
  it('says time, level, event, certificate and the fields that matter: no nulls, no runId, ARNs shortened', () => {
    const line = prettyLine(
      'info',
      'acm.imported',
      { runId: 'r1', certificate: 'www', region: 'us-east-1', certificateArn: CERT_ARN, replaces: null, tags: [], serial: 'ab12', changeIds: ['C1'] },
      { color: false },
      NOON,
    );
    expect(line).toBe('12:34:56 info  acm.imported [www] region=us-east-1 certificateArn=certificate/0f1e2d3c… serial=ab12');
  });

  it('shortens ARNs inside lists and objects, keeps free text whole and quotes values with spaces', () => {
    const line = prettyLine(
      'error',
      'renewal.failed',
      {
        certificate: 'www',
        error: `listener ${LISTENER_ARN}: not found`,
        deployments: [{ region: 'us-east-1', certificateArn: CERT_ARN, note: null }],
        domains: ['a.example', 'b.example'],
      },
      { color: false },
      NOON,
    );
    expect(line).toBe(
      `12:34:56 error renewal.failed [www] error="listener ${LISTENER_ARN}: not found" deployments=[{"region":"us-east-1","certificateArn":"certificate/0f1e2d3c…"}] domains=a.example,b.example`,
    );
  });

  it('colours warnings yellow and errors red, info not at all', () => {
    expect(prettyLine('warn', 'renewal.skipped', { why: 'busy' }, { color: true }, NOON)).toBe('12:34:56 \x1b[33mwarn  renewal.skipped\x1b[0m why=busy');
    expect(prettyLine('error', 'renewal.failed', {}, { color: true }, NOON)).toBe('12:34:56 \x1b[31merror renewal.failed\x1b[0m');
    expect(prettyLine('info', 'pass.started', {}, { color: true }, NOON)).toBe('12:34:56 info  pass.started');
  });

  it('leaves out a zero failure count, keeps other zeros', () => {
    expect(prettyLine('info', 'renewal.decided', { action: 'none', consecutiveFailures: 0 }, { color: false }, NOON)).toBe('12:34:56 info  renewal.decided action=none');
    expect(prettyLine('info', 'pass.finished', { renewed: 1, failed: 0 }, { color: false }, NOON)).toBe('12:34:56 info  pass.finished renewed=1 failed=0');
  });

  it('is what the logger writes at a terminal: coloured, unless NO_COLOR is set', () => {
    const written = (env: string | undefined) => {
      const saved = process.env.NO_COLOR;
      if (env === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = env;
      try {
        const stream = Object.assign(new PassThrough(), { isTTY: true });
        let text = '';
        stream.on('data', (chunk) => (text += String(chunk)));
        createLogger({ stream }).error('renewal.failed', { error: 'boom' });
        return text;
      } finally {
        if (saved === undefined) delete process.env.NO_COLOR;
        else process.env.NO_COLOR = saved;
      }
    };
    const [coloured, plain] = [written(undefined), written('1')];
    expect(coloured.slice(0, 9)).toMatch(/^\d\d:\d\d:\d\d $/);
    expect(coloured.slice(9)).toBe('\x1b[31merror renewal.failed\x1b[0m error=boom\n');
    expect(plain.slice(9)).toBe('error renewal.failed error=boom\n');
  });

  it('shortens ARNs to their resource with long IDs cut', () => {
    expect(shortenArn(LISTENER_ARN)).toBe('listener/app/alb-www/50dc6c49…/f2f7dc8e…');
    expect(shortenArn('arn:aws:iam::123456789012:role/certkeeper-dns')).toBe('role/certkeeper-dns');
    expect(shortenArn('not an arn')).toBe('not an arn');
  });
});

describe('colours and the progress block, by where the output goes', () => {
  const tty = Object.assign(new PassThrough(), { isTTY: true });
  const pipe = new PassThrough();

  it('colours only at a terminal, and never under a non-empty NO_COLOR (https://no-color.org)', () => {
    expect(colorAllowed(tty, {})).toBe(true);
    expect(colorAllowed(tty, { NO_COLOR: '1' })).toBe(false);
    expect(colorAllowed(tty, { NO_COLOR: '' })).toBe(true);
    expect(colorAllowed(tty, { TERM: 'dumb' })).toBe(false);
    expect(colorAllowed(pipe, {})).toBe(false);
  });

  it('draws progress only on a terminal stdout, never for --json, and not between JSON log lines on that terminal', () => {
    expect(progressWanted({ stdout: tty, stderr: tty }, { logFormat: 'pretty' }, {})).toBe(true);
    expect(progressWanted({ stdout: tty, stderr: pipe }, { logFormat: 'json' }, {})).toBe(true);
    expect(progressWanted({ stdout: tty, stderr: tty }, { logFormat: 'json' }, {})).toBe(false);
    expect(progressWanted({ stdout: tty, stderr: tty }, { logFormat: 'pretty', json: true }, {})).toBe(false);
    expect(progressWanted({ stdout: pipe, stderr: tty }, { logFormat: 'pretty' }, {})).toBe(false);
    expect(progressWanted({ stdout: tty, stderr: tty }, { logFormat: 'pretty' }, { TERM: 'dumb' })).toBe(false);
  });

  it('reads --log-format from a command line before it is parsed', () => {
    expect(logFormatInArgv(['renew', '--log-format', 'json'])).toBe('json');
    expect(logFormatInArgv(['status', '--log-format=pretty'])).toBe('pretty');
    expect(logFormatInArgv(['status', '--log-format=xml'])).toBeUndefined();
  });
});
