import type { ContextEntry, EvaluationResult } from '@aws-sdk/client-iam';
import type { AwsClients } from '../aws/clients.js';
import type { PolicyStatement } from '../aws/iam-policy.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';

/** One action the renewal will make that IAM would not allow on its resource. */
export interface IamDenial {
  action: string;
  resource: string;
  /** IAM's word: `implicitDeny` (nothing allows it) or `explicitDeny` (a Deny statement). */
  decision: string;
  /** The statement of `certkeeper iam-policy` that grants it. */
  sid: string;
}

export type IamVerdict = { available: true; denied: IamDenial[] } | { available: false; why: string };

/**
 * Asks IAM (SimulatePrincipalPolicy) whether the agent's own principal may make the calls of the
 * statements `certkeeper iam-policy` computes, on their exact resources and with the request context
 * the conditions test (tags, record names). The principal comes from STS GetCallerIdentity; an assumed
 * role is simulated as its role. When the simulation itself cannot be had (the credentials may not call
 * it, or the endpoint does not implement it, as moto answers HTTP 500), that is said once per process
 * and the check is skipped: a missing permission to check must not stop renewals.
 */
export class IamSimulator {
  private principal?: Promise<{ arn: string; account: string }>;
  /** Set once the simulation proved unavailable: not asked again in this process. */
  private unavailable?: string;
  /** The first simulation of the process: the others wait for it to answer. */
  private proven?: Promise<void>;

  constructor(private readonly aws: AwsClients) {}

  /**
   * The denied calls among `statements`. `results` caches one simulation per statement for a pass:
   * statements shared by many certificates (listings, a zone, a listener) are asked once.
   */
  async simulate(statements: PolicyStatement[], results: Map<string, Promise<IamDenial[]>>, log: AuditLogger): Promise<IamVerdict> {
    if (this.unavailable) return { available: false, why: this.unavailable };
    try {
      const principal = await this.callerPrincipal();
      const simulated = (statement: PolicyStatement) => {
        const key = JSON.stringify(statement);
        let result = results.get(key);
        if (!result) {
          result = this.simulateStatement(principal, statement);
          results.set(key, result);
        }
        return result;
      };
      // One simulation first proves the call can be had: the renewals of a pass preflight at once, and
      // where it cannot (moto, a policy without it) each of their statements would be refused in turn.
      if (statements[0]) await (this.proven ??= simulated(statements[0]).then(() => undefined));
      const denied = await Promise.all(statements.map(simulated));
      return { available: true, denied: denied.flat() };
    } catch (error) {
      if (this.unavailable) return { available: false, why: this.unavailable };
      this.unavailable = describeError(error);
      log.warn('preflight.iam_unavailable', {
        error: this.unavailable,
        why: 'the permissions of each renewal cannot be simulated (iam:SimulatePrincipalPolicy and sts:GetCallerIdentity): the other preflight checks go on; said once per process',
      });
      return { available: false, why: this.unavailable };
    }
  }

  private callerPrincipal(): Promise<{ arn: string; account: string }> {
    // The SDKs of IAM and STS load here, on the first simulation, not with the preflight.
    this.principal ??= Promise.all([this.aws.sts(), import('@aws-sdk/client-sts')])
      .then(([sts, { GetCallerIdentityCommand }]) => sts.send(new GetCallerIdentityCommand({})))
      .then((answer) => {
        if (!answer.Arn || !answer.Account) throw new Error('sts:GetCallerIdentity answered without an ARN');
        return { arn: principalArn(answer.Arn), account: answer.Account };
      });
    this.principal.catch(() => (this.principal = undefined));
    return this.principal;
  }

  private async simulateStatement(principal: { arn: string; account: string }, statement: PolicyStatement): Promise<IamDenial[]> {
    const resources = (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map((arn) => inAccount(arn, principal.account));
    const results: EvaluationResult[] = [];
    const [iam, { SimulatePrincipalPolicyCommand }] = await Promise.all([this.aws.iam(), import('@aws-sdk/client-iam')]);
    let marker: string | undefined;
    do {
      const page = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: principal.arn,
          ActionNames: statement.Action,
          ...(!resources.includes('*') && { ResourceArns: resources }),
          ContextEntries: contextOf(statement),
          Marker: marker,
        }),
      );
      results.push(...(page.EvaluationResults ?? []));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return results.flatMap((result) => {
      const perResource = result.ResourceSpecificResults?.length
        ? result.ResourceSpecificResults.map((entry) => ({ resource: entry.EvalResourceName ?? '*', decision: entry.EvalResourceDecision ?? 'implicitDeny' }))
        : [{ resource: result.EvalResourceName ?? '*', decision: result.EvalDecision ?? 'implicitDeny' }];
      return perResource
        .filter((entry) => entry.decision !== 'allowed')
        .map((entry) => ({ action: result.EvalActionName ?? '?', resource: entry.resource, decision: entry.decision, sid: statement.Sid }));
    });
  }
}

/** An assumed-role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`) is simulated as its role. */
export function principalArn(callerArn: string): string {
  const assumed = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  return assumed ? `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}` : callerArn;
}

/** A resource the policy writes for any account ("*", when the config names none) is asked about in the caller's. */
function inAccount(arn: string, account: string): string {
  return arn.replace(/^(arn:[^:]+:[^:]+:[^:]*:)\*:/, `$1${account}:`);
}

/**
 * The request context the renewal's calls will carry, read from the statement's own conditions: the
 * tags certkeeper sets, the TXT names and actions of its Route 53 changes. (`Null` checks only that the
 * keys are present, which they then are.)
 */
export function contextOf(statement: PolicyStatement): ContextEntry[] {
  const entries: ContextEntry[] = [];
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    if (operator === 'Null') continue;
    const list = /^For(All|Any)Values:/.test(operator);
    for (const [key, value] of Object.entries(keys)) {
      const values = Array.isArray(value) ? value : [value];
      entries.push({ ContextKeyName: key, ContextKeyValues: list ? values : values.slice(0, 1), ContextKeyType: list ? 'stringList' : 'string' });
    }
  }
  return entries;
}
