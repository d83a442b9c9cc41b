import { randomUUID } from 'node:crypto';
import { CreateListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsListener } from '../stack/aws-fixtures.js';
import { awsError, type ProxiedCall } from './fault-proxy.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, runCli, type CliResult } from './output-log.js';

/**
 * The preflight (issue 13, item 1): every problem that can be found before an ACME order stops that
 * certificate before the order, with an error that names what is wrong and the fix, and counts as a
 * failure; the others renew. Orders are counted where Pebble receives them (newOrder through the ACME
 * fault proxy), so "no order" means the CA never saw one.
 */

let rel: ReliabilityStack;
let good: HttpsListener;
let west: HttpsListener;
let httpListenerArn: string;
const ZONE = 'preflight.example';
// moto's account: what a listener or certificate ARN of this stack carries.
const ACCOUNT = '123456789012';

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone(ZONE);
  [good, west] = await Promise.all([rel.aws.createHttpsListener({ name: 'alb-preflight' }), rel.aws.createHttpsListener({ name: 'alb-west', region: 'us-west-2' })]);
  const http = await rel.aws.elbv2().send(
    new CreateListenerCommand({
      LoadBalancerArn: good.loadBalancerArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }],
    }),
  );
  httpListenerArn = http.Listeners![0]!.ListenerArn!;
});

afterEach(() => {
  rel.acme.clear();
  rel.awsProxy.clear();
});

afterAll(async () => {
  await rel?.stop();
});

const orders = () => rel.acme.calls.filter((call) => call.action === 'order-plz').length;

async function renewCounting(configPath: string, ...names: string[]): Promise<{ run: CliResult; orders: number }> {
  const before = orders();
  const run = await runCli(['renew', '--force', '--ignore-rate-limits', '--config', configPath, ...names], rel.env);
  return { run, orders: orders() - before };
}

function certificate(name: string, acm: Record<string, unknown>, domains = [`${name}.${ZONE}`]): Record<string, unknown> {
  return { name, domains, acm: [{ region: 'us-east-1', ...acm }] };
}

/** The single preflight.failed event of a certificate, and that it ended as a counted failure (renewal.failed). */
function preflightFailure(run: CliResult, name: string): { checks: { check: string; detail: string; fix: string | null }[]; error: string } {
  const failed = eventsNamed(run.events, 'preflight.failed', name);
  expect(failed, `${name}: ${run.stderr}`).toHaveLength(1);
  const renewal = eventsNamed(run.events, 'renewal.failed', name);
  expect(renewal).toHaveLength(1);
  expect(renewal[0]!.consecutiveFailures).toBeGreaterThanOrEqual(1);
  expect(eventsNamed(run.events, 'acme.order.created', name)).toEqual([]);
  expect(eventsNamed(run.events, 'renewal.started', name)).toEqual([]);
  return { checks: failed[0]!.checks as never, error: renewal[0]!.error as string };
}

// The same listener ARN with another load balancer listener ID: well formed, but no such listener.
const missingListenerArn = () => good.listenerArn.replace(/\/[0-9a-f]+$/, '/0123456789abcdef');

describe('preflight before an order', () => {
  it('stops a wrong listener, a listener of another region, an HTTP listener, a missing certificate ARN and a missing zone before any order; the good certificate renews', async () => {
    const path = writeConfig(rel, 'mixed.config.mjs', {
      certificates: [
        certificate('good', { listeners: [{ arn: good.listenerArn, mode: 'sni' }] }),
        certificate('wrong-listener', { listeners: [{ arn: missingListenerArn() }] }),
        // The ARN of a listener that lives in us-west-2, written for us-east-1 (as after copying a config between regions).
        certificate('other-region', { listeners: [{ arn: west.listenerArn.replace(':us-west-2:', ':us-east-1:') }] }),
        certificate('http-listener', { listeners: [{ arn: httpListenerArn }] }),
        certificate('missing-arn', { certificateArn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/${randomUUID()}` }),
        certificate('no-zone', {}, ['www.no-such-zone.example']),
      ],
    });
    const { run, orders: placed } = await renewCounting(path);
    expect(run.code, run.stderr).toBe(1);
    // One order, the good certificate's: the CA saw nothing of the five others.
    expect(placed).toBe(1);
    expect(eventsNamed(run.events, 'renewal.succeeded', 'good'), run.stderr).toHaveLength(1);

    const wrong = preflightFailure(run, 'wrong-listener');
    expect(wrong.checks).toEqual([
      { check: 'listener', detail: `listener ${missingListenerArn()} not found in us-east-1`, fix: expect.stringMatching(/^check certificates\[1\]\.acm\[0\]\.listeners\[0\]/) },
    ]);
    expect(wrong.error).toMatch(new RegExp(`^listener ${escape(missingListenerArn())} not found in us-east-1: check certificates\\[1\\]\\.acm\\[0\\]\\.listeners\\[0\\]`));

    const region = preflightFailure(run, 'other-region');
    expect(region.checks[0]).toMatchObject({
      check: 'listener',
      detail: expect.stringMatching(/not found in us-east-1$/),
      fix: expect.stringMatching(/^check certificates\[2\]\.acm\[0\]\.listeners\[0\]: .*region/),
    });

    const http = preflightFailure(run, 'http-listener');
    expect(http.checks).toEqual([
      {
        check: 'listener',
        detail: `listener ${httpListenerArn} is HTTP on port 80, not HTTPS or TLS: it cannot serve a certificate`,
        fix: expect.stringMatching(/^check certificates\[3\]\.acm\[0\]\.listeners\[0\]: name the load balancer's HTTPS \(ALB\) or TLS \(NLB\) listener/),
      },
    ]);

    const missing = preflightFailure(run, 'missing-arn');
    expect(missing.checks).toEqual([
      {
        check: 'certificateArn',
        detail: expect.stringMatching(/^ACM certificate arn:aws:acm:us-east-1:\d+:certificate\/[0-9a-f-]+ not found in us-east-1$/),
        fix: expect.stringMatching(/^check certificates\[4\]\.acm\[0\]\.certificateArn, or remove it/),
      },
    ]);

    const zone = preflightFailure(run, 'no-zone');
    expect(zone.checks).toEqual([
      {
        check: 'zone',
        detail: expect.stringMatching(/^no public Route 53 hosted zone contains _acme-challenge\.www\.no-such-zone\.example/),
        fix: expect.stringMatching(/^check certificates\[5\]\.domains/),
      },
    ]);

    // moto does not implement SimulatePrincipalPolicy (HTTP 500): said once for the whole process, and the renewals went on.
    expect(eventsNamed(run.events, 'preflight.iam_unavailable')).toHaveLength(1);
  });

  it('stops every certificate of an unreachable CA before any order, as a counted failure', async () => {
    const path = writeConfig(rel, 'ca-down.config.mjs', { certificates: [certificate('ca-down', { listeners: [{ arn: good.listenerArn, mode: 'sni' }] })] });
    await rel.acme.down();
    let result: Awaited<ReturnType<typeof renewCounting>>;
    try {
      result = await renewCounting(path);
    } finally {
      await rel.acme.up();
    }
    expect(result.run.code, result.run.stderr).toBe(1);
    expect(result.orders).toBe(0);
    const failure = preflightFailure(result.run, 'ca-down');
    expect(failure.checks).toEqual([
      {
        check: 'ca',
        detail: expect.stringMatching(
          new RegExp(`^cannot read the ACME directory ${escape(rel.directoryUrl)}: cannot reach the ACME server at ${escape(rel.directoryUrl)}: ECONNREFUSED`),
        ),
        fix: expect.stringMatching(/^check acme\.directoryUrl/),
      },
    ]);
  });

  it('stops a certificate whose import IAM would deny (a SimulatePrincipalPolicy double) before any order; a denied simulation itself is said once and renewals go on', async () => {
    const path = writeConfig(rel, 'iam.config.mjs', { certificates: [certificate('iam-denied', { listeners: [{ arn: good.listenerArn, mode: 'sni' }] })] });
    const simulated: ProxiedCall[] = [];
    rel.awsProxy.add({
      match: (call) => call.action === 'SimulatePrincipalPolicy',
      fault: (call) => {
        simulated.push(call);
        return simulatePrincipalPolicy(call, (action) => (action === 'acm:ImportCertificate' ? 'explicitDeny' : 'allowed'));
      },
    });
    const denied = await renewCounting(path);
    expect(denied.run.code, denied.run.stderr).toBe(1);
    expect(denied.orders).toBe(0);
    const failure = preflightFailure(denied.run, 'iam-denied');
    expect(failure.checks.length).toBeGreaterThan(0);
    for (const check of failure.checks) {
      expect(check).toMatchObject({
        check: 'iam',
        detail: expect.stringMatching(/^IAM denies acm:ImportCertificate on arn:aws:acm:us-east-1:\d{12}:certificate\/\* \(explicitDeny\)$/),
        fix: expect.stringMatching(/^allow it as statement "Acm(ImportNewTagged|ManageTagged)" of `certkeeper iam-policy` does$/),
      });
    }
    // Asked as the caller STS names, with the context the conditions test (the tags certkeeper sets).
    const importCall = simulated.map((call) => new URLSearchParams(call.text)).find((form) => [...form.values()].includes('acm:ImportCertificate'))!;
    // (moto's GetCallerIdentity names its default user arn:aws:sts::ACCOUNT:user/moto; not an assumed role, so asked as it is.)
    expect(importCall.get('PolicySourceArn')).toBe(`arn:aws:sts::${ACCOUNT}:user/moto`);
    expect([...importCall.values()]).toContain('aws:RequestTag/certkeeper:name');

    // Not allowed to simulate at all: said once, and the renewal goes on (one order).
    rel.awsProxy.clear();
    rel.awsProxy.add({
      match: (call) => call.action === 'SimulatePrincipalPolicy',
      fault: (call) => awsError(call, 403, 'AccessDenied', 'not authorized to perform: iam:SimulatePrincipalPolicy'),
    });
    const unavailable = await renewCounting(path);
    expect(unavailable.run.code, unavailable.run.stderr).toBe(0);
    expect(unavailable.orders).toBe(1);
    const said = eventsNamed(unavailable.run.events, 'preflight.iam_unavailable');
    expect(said).toHaveLength(1);
    expect(said[0]!.error).toMatch(/AccessDenied|not authorized/);
  });

  it('doctor prints the checklist (text and --json) with exit 0 when all pass, 1 otherwise, 2 for an unknown name; status and plan give the problems as reasons; nothing is ordered', async () => {
    const path = writeConfig(rel, 'doctor.config.mjs', {
      certificates: [
        certificate('doc-good', { listeners: [{ arn: good.listenerArn, mode: 'sni' }] }),
        certificate('doc-bad', { listeners: [{ arn: missingListenerArn() }] }),
        // The listener's placeholder is ECDSA P-256: ACM would refuse to re-import an RSA certificate into it.
        { ...certificate('doc-keytype', { certificateArn: good.placeholderCertificateArn }), keyType: 'rsa-2048' },
        certificate('doc-reimport', { certificateArn: good.placeholderCertificateArn }),
      ],
    });
    const before = orders();
    const all = await runCli(['doctor', '--config', path], rel.env);
    expect(all.code, all.stderr).toBe(1);
    const lines = all.stdout.split('\n');
    expect(lines).toContain('doc-good: ready to renew');
    expect(lines).toContain('doc-bad: 1 check failed, a renewal would stop before its order');
    expect(lines).toContain(
      `  ✗ listener: listener ${missingListenerArn()} not found in us-east-1 (fix: check certificates[1].acm[0].listeners[0]: the ARN of an existing listener, in the region of its load balancer)`,
    );
    expect(lines).toContain(`  ✓ listener: listener ${good.listenerArn} exists in us-east-1 and is HTTPS on port 443`);
    expect(lines).toContain(
      `  ✗ certificateArn: ACM certificate ${good.placeholderCertificateArn} cannot be re-imported: key type changes from ecdsa-p256 to rsa-2048 (fix: set certificates[2].keyType to match it ("ecdsa-p256"), or remove certificates[2].acm[0].certificateArn to import a new certificate)`,
    );
    expect(lines).toContain(`  ✓ certificateArn: ACM certificate ${good.placeholderCertificateArn} exists in us-east-1 and can be re-imported (ecdsa-p256)`);
    expect(lines).toContain('doc-reimport: ready to renew');
    expect(lines.filter((line) => line.startsWith('  ✓ ca: the CA at '))).toHaveLength(4);
    expect(lines.filter((line) => line.startsWith('  ✓ zone: _acme-challenge.doc-good.preflight.example goes in hosted zone '))).toHaveLength(1);

    const json = await runCli(['doctor', '--json', '--config', path], rel.env);
    expect(json.code).toBe(1);
    const results = JSON.parse(json.stdout) as { name: string; checks: { check: string; ok: boolean; detail: string; fix?: string }[] }[];
    expect(results.map((result) => result.name)).toEqual(['doc-good', 'doc-bad', 'doc-keytype', 'doc-reimport']);
    expect(results[0]!.checks.every((check) => check.ok && check.fix === undefined)).toBe(true);
    expect(results[0]!.checks.map((check) => check.check)).toEqual(['ca', 'zone', 'listener', 'iam']);
    expect(results[1]!.checks.filter((check) => !check.ok)).toEqual([
      { check: 'listener', ok: false, detail: `listener ${missingListenerArn()} not found in us-east-1`, fix: expect.any(String) },
    ]);

    const one = await runCli(['doctor', 'doc-good', '--config', path], rel.env);
    expect(one.code, one.stdout + one.stderr).toBe(0);
    expect(one.stdout).not.toContain('doc-bad');
    expect((await runCli(['doctor', 'no-such-certificate', '--config', path], rel.env)).code).toBe(2);

    for (const command of ['status', 'plan']) {
      const shown = await runCli([command, '--json', '--config', path], rel.env);
      expect(shown.code, shown.stderr).toBe(1);
      const row = (JSON.parse(shown.stdout) as { name: string; reasons: string[]; error?: string }[]).find((entry) => entry.name === 'doc-bad')!;
      expect(row.reasons).toContain(
        `cannot renew: listener ${missingListenerArn()} not found in us-east-1: check certificates[1].acm[0].listeners[0]: the ARN of an existing listener, in the region of its load balancer`,
      );
      expect(row.error).toMatch(/not found in us-east-1/);
    }
    // doctor, status and plan change nothing: no order, no event of a renewal.
    expect(orders()).toBe(before);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** IAM's SimulatePrincipalPolicy answer (query protocol, XML) for the call's actions and resources. */
function simulatePrincipalPolicy(call: ProxiedCall, decide: (action: string) => string): { status: number; headers: Record<string, string>; body: string } {
  const form = new URLSearchParams(call.text);
  const listed = (prefix: string) => [...form.entries()].filter(([key]) => key.startsWith(`${prefix}.member.`)).map(([, value]) => value);
  const resources = listed('ResourceArns');
  const members = listed('ActionNames').flatMap((action) =>
    (resources.length ? resources : ['*']).map(
      (resource) =>
        `<member><EvalActionName>${action}</EvalActionName><EvalResourceName>${resource}</EvalResourceName><EvalDecision>${decide(action)}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`,
    ),
  );
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: `<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>${members.join('')}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>preflight-double</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`,
  };
}
