import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument } from '../../src/aws/iam-policy.js';
import { MOTO_ACCOUNT, type RecordedCall } from './aws-call-recorder.js';

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/**
 * Asks @cloud-copilot/iam-simulate (AWS's evaluation logic, with the service authorisation data for
 * every action, resource type and condition key) whether `policy`, as an identity policy in the
 * resource's account, allows one call.
 */
export async function evaluateCall(policy: PolicyDocument, call: Pick<RecordedCall, 'action' | 'resource' | 'context'>): Promise<Decision> {
  const result = await runSimulation(
    {
      identityPolicies: [{ name: 'certkeeper', policy: policy as never }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: call.action,
        principal: `arn:aws:iam::${MOTO_ACCOUNT}:role/certkeeper`,
        resource: { resource: call.resource, accountId: MOTO_ACCOUNT },
        contextVariables: call.context,
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`iam-simulate cannot evaluate ${call.action} on ${call.resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}
