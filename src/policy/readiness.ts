import type { Chain, PolicyCheck } from './chain.js';
import { Check } from './checks.js';
import type { ServedEndpoint } from './decision-input.js';
import { describeRemaining, iso } from './describe.js';

/**
 * Readiness: nothing to renew and nothing drifted. Is that all (`UpToDate`, with when it renews), and
 * is the deployed certificate what the `verify` endpoints serve? One that is not is failing: counted,
 * notified and reported as a failure, though there is nothing to order.
 */

const upToDate: PolicyCheck = ({ soonest, plan, now }) =>
  soonest && plan ? [{ check: Check.UpToDate, message: `${describeRemaining(soonest, now)}; ${plan.description}; renewing at ${iso(plan.renewAt)}` }] : [];

const notServed: PolicyCheck = ({ served = [], soonest }) => {
  const wrong = served.filter((entry) => !servesDeployed(entry, soonest?.serial));
  if (wrong.length === 0) return [];
  return [
    {
      check: Check.NotServed,
      failing: true,
      message: `deployed but not served: ${wrong.map((entry) => `${entry.endpoint} ${entry.error ?? `serves serial ${entry.serial}`}`).join('; ')}`,
    },
  ];
};

/** Whether an endpoint serves the deployed certificate (an endpoint that could not be probed does not). */
export function servesDeployed(entry: Pick<ServedEndpoint, 'serial' | 'error'>, deployedSerial: string | undefined): boolean {
  return entry.error === undefined && entry.serial !== undefined && entry.serial === deployedSerial;
}

export const readiness: Chain = { name: 'readiness', checks: [upToDate, notServed] };
