import type { Chain, PolicyCheck } from './chain.js';
import { Check } from './checks.js';
import { describeRemaining, iso } from './describe.js';
import { deployedIn as deployed } from './observed.js';
import { emergencyPoint } from './renewal-time.js';

/** Triggers: why a certificate should be renewed now. */

const forced: PolicyCheck = ({ force }) => (force ? [{ check: Check.Forced, message: 'renewal forced (--force)' }] : []);

const notDeployed: PolicyCheck = ({ desired, observed }) =>
  desired.regions
    .filter((region) => !observed.find((entry) => entry.region === region)?.facts)
    .map((region) => {
      const arn = observed.find((entry) => entry.region === region)?.certificateArn;
      return {
        check: Check.NotDeployed,
        urgent: true,
        message: arn ? `configured certificate ${arn} in ${region} does not exist` : `no certificate deployed in ACM in ${region}`,
      };
    });

const domainsDiffer: PolicyCheck = ({ desired, observed }) => {
  const wanted = sorted(desired.domains);
  return deployed(observed)
    .filter(({ facts }) => sorted(facts.domains).join(',') !== wanted.join(','))
    .map(({ region, facts }) => ({
      check: Check.DomainsDiffer,
      message: `domains differ in ${region}: deployed ${facts.domains.join(', ')}; configured ${wanted.join(', ')}`,
    }));
};

const keyTypeDiffers: PolicyCheck = ({ desired, observed }) =>
  deployed(observed)
    .filter(({ facts }) => facts.keyType !== desired.keyType)
    .map(({ region, facts }) => ({
      check: Check.KeyTypeDiffers,
      message: `key type differs in ${region}: deployed ${facts.keyType}; configured ${desired.keyType}`,
    }));

const regionsOutOfStep: PolicyCheck = ({ observed }) => {
  const serials = new Set(deployed(observed).map(({ facts }) => facts.serial));
  if (serials.size <= 1) return [];
  return [
    {
      check: Check.RegionsOutOfStep,
      message: `regions hold different certificates (${deployed(observed)
        .map(({ region, facts }) => `${region}: ${facts.serial}`)
        .join(', ')})`,
    },
  ];
};

const expired: PolicyCheck = ({ observed, now }) =>
  deployed(observed)
    .filter(({ facts }) => facts.notAfter <= now)
    .map(({ region, facts }) => ({ check: Check.Expired, urgent: true, message: `expired in ${region} on ${iso(facts.notAfter)}` }));

const emergency: PolicyCheck = ({ soonest, now }) => {
  if (!soonest || soonest.notAfter <= now || now < emergencyPoint(soonest)) return [];
  return [
    {
      check: Check.Emergency,
      urgent: true,
      message: `${describeRemaining(soonest, now)}: less than 1/20 of its lifetime left, renewing now whatever the backoff`,
    },
  ];
};

const renewalDue: PolicyCheck = ({ now, plan }) => {
  if (!plan || now < plan.renewAt) return [];
  return [{ check: plan.source === 'ari' ? Check.AriWindowOpen : Check.InRenewalWindow, message: `${plan.description}; due since ${iso(plan.renewAt)}` }];
};

// Whatever else is true: it was issued to be deployed, and deploying it spends no order.
const issuedNotDeployed: PolicyCheck = ({ issued }) =>
  issued
    ? [
        {
          check: Check.IssuedNotDeployed,
          message: `certificate ${issued.serial} (valid until ${iso(issued.notAfter)}) was issued by an interrupted run and is not deployed everywhere yet: deploying it, no new order`,
        },
      ]
    : [];

export const triggers: Chain = {
  name: 'triggers',
  checks: [forced, notDeployed, domainsDiffer, keyTypeDiffers, regionsOutOfStep, expired, emergency, renewalDue, issuedNotDeployed],
};

function sorted(values: string[]): string[] {
  return [...values].map((value) => value.toLowerCase()).sort();
}
