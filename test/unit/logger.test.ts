import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, describeError } from '../../src/telemetry/logger.js';

function capture(pretty = false) {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk) => chunks.push(String(chunk)));
  return { logger: createLogger({ stream, pretty, level: 'debug' }), lines: () => chunks.join('').trim().split('\n') };
}

const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

describe('audit log', () => {
  it('writes one JSON object per line with time, level, event, runId and certificate first', () => {
    const { logger, lines } = capture();
    logger.child({ runId: 'r1' }).child({ certificate: 'api' }).info('acm.imported', { certificateArn: 'arn:x', serial: 'ab' });
    const [line] = lines();
    const parsed = JSON.parse(line!);
    expect(Object.keys(parsed).slice(0, 5)).toEqual(['time', 'level', 'event', 'runId', 'certificate']);
    expect(parsed).toMatchObject({ level: 'info', event: 'acm.imported', runId: 'r1', certificate: 'api', certificateArn: 'arn:x', serial: 'ab' });
    expect(new Date(parsed.time).toISOString()).toBe(parsed.time);
  });

  it('never writes private key material, even when a caller passes it', () => {
    const { logger, lines } = capture();
    logger.error('renewal.failed', { error: `boom ${KEY}`, nested: { key: KEY } });
    const text = lines().join('\n');
    expect(text).not.toContain('PRIVATE KEY');
    expect(JSON.parse(lines()[0]!)).toMatchObject({ error: '[redacted: private key material]', nested: '[redacted: private key material]' });
    expect(describeError(new Error(KEY))).toBe('[redacted: private key material]');
  });

  it('writes readable lines for a terminal', () => {
    const { logger, lines } = capture(true);
    logger.child({ certificate: 'api' }).warn('renewal.skipped', { why: 'busy' });
    expect(lines()[0]).toMatch(/^\d\d:\d\d:\d\d warn {2}renewal\.skipped \[api\] why=busy$/);
  });

  it('tells subscribers about every event of the logger and its children, with context, redacted, even below the level', () => {
    const { logger } = capture();
    const seen: { level: string; event: string; fields: Record<string, unknown> }[] = [];
    const quiet = createLogger({ stream: new PassThrough(), level: 'info' });
    const stop = quiet.subscribe((entry) => seen.push(entry));
    quiet
      .child({ runId: 'r1' })
      .child({ certificate: 'api' })
      .error('renewal.failed', { error: `boom ${KEY}` });
    quiet.debug('dns.change.insync', { changeId: 'c' });
    stop();
    quiet.info('pass.started');
    expect(seen).toEqual([
      { level: 'error', event: 'renewal.failed', fields: { runId: 'r1', certificate: 'api', error: '[redacted: private key material]' } },
      { level: 'debug', event: 'dns.change.insync', fields: { changeId: 'c' } },
    ]);
    // A failing subscriber breaks neither the log nor the caller.
    logger.subscribe(() => {
      throw new Error('listener bug');
    });
    expect(() => logger.info('pass.started')).not.toThrow();
  });
});
