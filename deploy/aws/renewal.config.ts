/**
 * Example config for the scheduled ECS task in certkeeper.template.json (account 111122223333, us-east-1).
 * Replace the account, zone and listener with yours, then regenerate the policy:
 *   certkeeper iam-policy --offline --config deploy/aws/renewal.config.ts > deploy/aws/iam-policy.json
 * and put it in the template's TaskRole (test/unit/deploy-files.test.ts checks that they agree).
 */
import { defineConfig } from 'certkeeper';

export default defineConfig({
  acme: {
    email: 'ops@example.com',
    termsOfServiceAgreed: true,
    // The account key lives in the template's secret: a task has no disk that outlives it.
    accountKey: { secretsManager: { secretId: 'certkeeper/acme-account-key' } },
  },
  // Scratch space only (locks, crash notes): records are in DynamoDB.
  stateDir: '/tmp/certkeeper',
  aws: { region: 'us-east-1' },
  store: { type: 'dynamodb', tableName: 'certkeeper' },
  notifications: { snsTopicArn: 'arn:aws:sns:us-east-1:111122223333:certkeeper-alerts' },
  certificates: [
    {
      name: 'web',
      domains: ['example.com', '*.example.com'],
      route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ' },
      acm: [
        {
          region: 'us-east-1',
          listeners: [{ arn: 'arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2' }],
        },
      ],
    },
  ],
});
