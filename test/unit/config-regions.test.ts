import { VPCRegion } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { AWS_REGIONS } from '../../src/config/aws-regions.js';
import { validateConfig } from '../../src/config/load.js';

/** config/ keeps its own region list so validating a config loads no AWS SDK; the SDK stays the reference. */
describe('the AWS regions a config may name', () => {
  it('are every region the installed AWS SDK knows (add a new one to src/config/aws-regions.ts)', () => {
    expect([...AWS_REGIONS].sort()).toEqual([...new Set(Object.values(VPCRegion))].sort());
  });

  it('are accepted in every partition, and an unknown one is named', () => {
    const config = (region: string) => ({
      acme: { directoryUrl: 'https://acme.example.net/directory', email: 'ops@example.com', termsOfServiceAgreed: true },
      aws: { region },
      certificates: [{ name: 'api', domains: ['api.example.com'], acm: [{ region }] }],
    });
    for (const region of ['us-east-1', 'cn-north-1', 'us-gov-west-1', 'eu-isoe-west-1']) {
      expect(validateConfig(config(region), '/x/renewal.config.ts').aws.region).toBe(region);
    }
    expect(() => validateConfig(config('us-east-7'), '/x/renewal.config.ts')).toThrow(
      '  - aws.region: "us-east-7" is not an AWS region known to certkeeper; expected a region code such as "us-east-1" or "eu-west-1"',
    );
  });
});
