import { describe, expect, it } from 'vitest';
import { contextOf, principalArn } from '../../src/preflight/iam-simulation.js';

describe('IAM simulation of a renewal', () => {
  it('simulates an assumed-role session as its role, and other principals as they are', () => {
    expect(principalArn('arn:aws:sts::123456789012:assumed-role/certkeeper/i-0abc')).toBe('arn:aws:iam::123456789012:role/certkeeper');
    expect(principalArn('arn:aws-us-gov:sts::123456789012:assumed-role/ck/session@x')).toBe('arn:aws-us-gov:iam::123456789012:role/ck');
    expect(principalArn('arn:aws:iam::123456789012:user/ops')).toBe('arn:aws:iam::123456789012:user/ops');
  });

  it("gives the request context a statement's conditions test: single values as strings, ForAllValues as lists, Null checks left out", () => {
    const context = contextOf({
      Sid: 'Route53ChallengeRecords',
      Effect: 'Allow',
      Action: ['route53:ChangeResourceRecordSets'],
      Resource: 'arn:aws:route53:::hostedzone/Z1',
      Condition: {
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'] },
        'ForAllValues:StringLike': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.a.example', '_acme-challenge.b.example'] },
        StringEquals: { 'aws:RequestTag/certkeeper:name': ['api'] },
        Null: { 'route53:ChangeResourceRecordSetsRecordTypes': 'false' },
      },
    });
    expect(context).toEqual([
      { ContextKeyName: 'route53:ChangeResourceRecordSetsRecordTypes', ContextKeyValues: ['TXT'], ContextKeyType: 'stringList' },
      {
        ContextKeyName: 'route53:ChangeResourceRecordSetsNormalizedRecordNames',
        ContextKeyValues: ['_acme-challenge.a.example', '_acme-challenge.b.example'],
        ContextKeyType: 'stringList',
      },
      { ContextKeyName: 'aws:RequestTag/certkeeper:name', ContextKeyValues: ['api'], ContextKeyType: 'string' },
    ]);
    expect(contextOf({ Sid: 'AcmList', Effect: 'Allow', Action: ['acm:ListCertificates'], Resource: '*' })).toEqual([]);
  });
});
