import type { Chain, PolicyCheck } from './chain.js';
import { Check } from './checks.js';
import type { ObservedRegion } from './decision-input.js';

/**
 * Drift: the certificate needs no renewal but what surrounds it is not as certkeeper left it. Evaluated
 * only when no trigger fired; what it finds is put right with no order (`redeploy`).
 */

// Listeners, and the other places a deployer observes (`attachments`: CloudFront distributions, …), that no
// longer serve the deployed certificate (changed by hand, or an interrupted swap). The one place the
// decision reads where a certificate is attached: a new kind of place needs nothing here, its deployer
// reports it among `attachments`. The check keeps its name (a contract) for every kind of place.
const listenerDrift: PolicyCheck = ({ observed }) => observed.flatMap(driftIn);

function driftIn(region: ObservedRegion) {
  return [
    ...(region.listeners ?? [])
      .filter((listener) => !listener.carries)
      .map((listener) => ({
        check: Check.ListenerDrift,
        message: listener.error
          ? `listener ${listener.arn} cannot be read: ${listener.error}`
          : `listener ${listener.arn} does not serve ${region.certificateArn} as its ${listener.mode === 'default' ? 'default certificate' : 'SNI certificate'}: put it back`,
      })),
    ...(region.attachments ?? [])
      .filter((place) => !place.carries)
      .map((place) => ({
        check: Check.ListenerDrift,
        message: place.error ? `${place.kind} ${place.id} cannot be read: ${place.error}` : `${place.kind} ${place.id} does not serve ${region.certificateArn}: put it back`,
      })),
  ];
}

// A crash between importing a new ARN and retiring the old one leaves two certificates of one name: retire the extra.
const leftoverCertificates: PolicyCheck = ({ observed }) =>
  observed.flatMap((region) =>
    region.certificateArn
      ? (region.leftovers ?? []).map((arn) => ({
          check: Check.LeftoverCertificate,
          message: `${arn} in ${region.region} is left over from an interrupted renewal (deployed: ${region.certificateArn}): retire it`,
        }))
      : [],
  );

export const drift: Chain = { name: 'drift', checks: [listenerDrift, leftoverCertificates] };
