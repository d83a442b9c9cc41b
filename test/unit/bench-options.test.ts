import { describe, expect, it } from 'vitest';
import { mergeConfig, parseOptions } from '../bench/options.js';

const defaults = { bin: '/x/bin/certkeeper', out: '/x/results.json' };

describe('npm run bench flags', () => {
  it('runs every part at full size by default, leaving concurrency to certkeeper', () => {
    const options = parseOptions([], defaults);
    expect([...options.parts]).toEqual(['certkeeper', 'certbot', 'floor', 'daemon', 'startup', 'status']);
    expect(options.scenarios).toEqual([
      { label: 'INSYNC instant', certificates: 30, insyncMs: [0, 0], certbotCertificates: 30 },
      { label: 'INSYNC 30 s', certificates: 100, insyncMs: [30_000, 30_000], certbotCertificates: 3 },
    ]);
    expect(options.concurrency).toBeUndefined();
    expect(options.statusCertificates).toBe(1000);
    expect(options.daemonDayMs).toBe(5 * 60_000);
  });

  it('--only picks parts, --n-faithful 0 leaves a scenario out, and an unknown part or flag is refused', () => {
    const options = parseOptions(['--only', 'floor,certbot', '--n', '5', '--n-faithful', '0', '--insync', '20-60'], defaults);
    expect([...options.parts]).toEqual(['floor', 'certbot']);
    expect(options.scenarios.map((scenario) => scenario.certificates)).toEqual([5]);
    expect(() => parseOptions(['--only', 'certkeeper,acme'], defaults)).toThrow(/unknown part acme/);
    expect(() => parseOptions(['--fast'], defaults)).toThrow(/unknown argument --fast/);
    expect(() => parseOptions(['--concurrency', '0'], defaults)).toThrow(/--concurrency/);
  });

  it('--certkeeper-config-extra is a JSON object merged over the bench config', () => {
    const options = parseOptions(['--certkeeper-config-extra', '{ "aws": { "requestRates": { "acm:ImportCertificate": 20 } } }'], defaults);
    expect(mergeConfig({ aws: { region: 'us-east-1' }, concurrency: 4 }, options.configExtra)).toEqual({
      aws: { region: 'us-east-1', requestRates: { 'acm:ImportCertificate': 20 } },
      concurrency: 4,
    });
    expect(() => parseOptions(['--certkeeper-config-extra', '{aws'], defaults)).toThrow(/not JSON/);
    expect(() => parseOptions(['--certkeeper-config-extra', '[1]'], defaults)).toThrow(/a JSON object/);
  });
});
