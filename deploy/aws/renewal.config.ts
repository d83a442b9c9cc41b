/**
 * Example config for the scheduled ECS task in certkeeper.template.json (account 111122223333, us-east-1).
 * The stack names its table, secret and topic after itself and hands the names to the task in environment
 * variables; without them (on a laptop) they are those of a stack named "certkeeper".
 * Replace the account, zone and listener with yours, then regenerate the policy:
 *   certkeeper iam-policy --offline --config deploy/aws/renewal.config.ts > deploy/aws/iam-policy.json
 * and put it in the template's TaskRole (README.md in this folder; test/deploy/cloudformation.test.ts checks
 * that they agree for any stack name).
 */
import { defineConfig } from 'certkeeper';

const fromStack = {
  tableName: process.env.CERTKEEPER_STORE_TABLE || 'certkeeper-store',
  accountKeySecret: process.env.CERTKEEPER_ACCOUNT_KEY_SECRET || 'certkeeper/acme-account-key',
  alertsTopicArn: process.env.CERTKEEPER_ALERTS_TOPIC_ARN || 'arn:aws:sns:us-east-1:111122223333:certkeeper-alerts',
};

export default defineConfig({
  acme: {
    email: 'ops@example.com',
    termsOfServiceAgreed: true,
    // The account key lives in the template's secret: a task has no disk that outlives it.
    accountKey: { secretsManager: { secretId: fromStack.accountKeySecret } },
  },
  // Scratch space only (locks, crash notes): records are in DynamoDB.
  stateDir: '/tmp/certkeeper',
  // The stack's region: its table, secret and topic are there.
  aws: { region: 'us-east-1' },
  store: { type: 'dynamodb', tableName: fromStack.tableName },
  notifications: { snsTopicArn: fromStack.alertsTopicArn },
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
