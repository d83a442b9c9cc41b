import { createServer, type IncomingHttpHeaders } from 'node:http';
import { ACMClient, ListTagsForCertificateCommand } from '@aws-sdk/client-acm';
import { forwardRequest, sendForwarded, withBody } from './forward-request.js';
import { listenOnLoopback } from './ports.js';

/** moto's account: every ARN it makes is in this account. */
export const MOTO_ACCOUNT = '123456789012';

/**
 * One AWS call as IAM sees it: the action, the resource it is authorised against, and the request
 * context keys that certkeeper's policy conditions use.
 */
export interface RecordedCall {
  action: string;
  /** ARN, or "*" for calls that take no resource. */
  resource: string;
  context: Record<string, string | string[]>;
  /** HTTP status moto answered. */
  status: number;
}

export interface AwsCallRecorder {
  /** Point certkeeper's AWS_ENDPOINT_URL here. */
  endpoint: string;
  calls: RecordedCall[];
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of moto that records every call certkeeper makes, for evaluating an IAM policy
 * against them. It adds nothing and changes nothing: requests and answers pass through untouched. The
 * resource's tags (aws:ResourceTag) are read from moto just before the call is forwarded, as IAM sees
 * them when it authorises the call.
 */
export async function startAwsCallRecorder(motoEndpoint: string): Promise<AwsCallRecorder> {
  const upstream = new URL(motoEndpoint);
  const calls: RecordedCall[] = [];
  const acmClients = new Map<string, ACMClient>();
  const acm = (region: string) => {
    let client = acmClients.get(region);
    if (!client) acmClients.set(region, (client = new ACMClient({ region, endpoint: motoEndpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } })));
    return client;
  };
  const resourceTags = async (region: string, arn: string): Promise<Record<string, string>> => {
    try {
      const answer = await acm(region).send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
      return Object.fromEntries((answer.Tags ?? []).map((tag) => [`aws:ResourceTag/${tag.Key}`, tag.Value ?? '']));
    } catch {
      return {};
    }
  };

  const server = createServer(
    withBody(async (req, res, body) => {
      const scope = credentialScope(req.headers);
      const call = describeCall(scope.service, scope.region, req.method ?? 'GET', req.url ?? '/', req.headers, body);
      if (call?.action.startsWith('acm:') && call.resource.startsWith('arn:')) Object.assign(call.context, await resourceTags(scope.region, call.resource));
      const answer = await forwardRequest(upstream, req.method ?? 'POST', req.url ?? '/', req.headers, body);
      if (call) {
        for (const recorded of completeFromAnswer(call, answer.body)) calls.push({ ...recorded, status: answer.status });
      }
      sendForwarded(res, answer);
    }),
  );
  const listening = await listenOnLoopback(server);
  return {
    endpoint: `http://127.0.0.1:${listening.port}`,
    calls,
    stop: async () => {
      for (const client of acmClients.values()) client.destroy();
      await listening.stop();
    },
  };
}

/** SigV4: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`. */
function credentialScope(headers: IncomingHttpHeaders): { region: string; service: string } {
  const match = String(headers.authorization ?? '').match(/Credential=[^/]+\/\d+\/([^/]+)\/([^/]+)\//);
  if (!match) throw new Error('unsigned request');
  return { region: match[1]!, service: match[2]! };
}

type PendingCall = Omit<RecordedCall, 'status'>;

function describeCall(service: string, region: string, method: string, url: string, headers: IncomingHttpHeaders, body: Buffer): PendingCall | undefined {
  const text = body.toString('utf8');
  const target = String(headers['x-amz-target'] ?? '');
  const form = new URLSearchParams(headers['content-type']?.includes('x-www-form-urlencoded') ? text : '');
  const json = target ? (JSON.parse(text || '{}') as Record<string, any>) : {};
  const operation = form.get('Action') ?? target.split('.').pop();

  if (service === 'route53') return route53Call(method, new URL(url, 'http://x').pathname, text);
  if (service === 'cloudfront') return cloudFrontCall(method, new URL(url, 'http://x').pathname);
  if (service === 'acm') {
    const arn = json.CertificateArn as string | undefined;
    const context: Record<string, string | string[]> = {};
    if (Array.isArray(json.Tags)) {
      for (const tag of json.Tags as { Key: string; Value: string }[]) context[`aws:RequestTag/${tag.Key}`] = tag.Value;
      context['aws:TagKeys'] = (json.Tags as { Key: string }[]).map((tag) => tag.Key);
    }
    return { action: `acm:${operation}`, resource: operation === 'ListCertificates' ? '*' : (arn ?? 'pending'), context };
  }
  if (service === 'elasticloadbalancing') {
    return { action: `elasticloadbalancing:${operation}`, resource: operation?.startsWith('Describe') ? '*' : (form.get('ListenerArn') ?? '*'), context: {} };
  }
  if (service === 'dynamodb') return { action: `dynamodb:${operation}`, resource: `arn:aws:dynamodb:${region}:${MOTO_ACCOUNT}:table/${json.TableName}`, context: {} };
  if (service === 'secretsmanager') return { action: `secretsmanager:${operation}`, resource: 'pending', context: {} };
  if (service === 'ssm') return { action: `ssm:${operation}`, resource: `arn:aws:ssm:${region}:${MOTO_ACCOUNT}:parameter/${String(json.Name).replace(/^\//, '')}`, context: {} };
  if (service === 'sns') return { action: `sns:${operation}`, resource: form.get('TopicArn') ?? json.TopicArn ?? '*', context: {} };
  // The Resource Groups Tagging API signs as "tagging" but its IAM actions are "tag:…".
  if (service === 'tagging') return { action: `tag:${operation}`, resource: '*', context: {} };
  if (service === 'sts') return { action: `sts:${operation}`, resource: form.get('RoleArn') ?? json.RoleArn ?? '*', context: {} };
  return { action: `${service}:${operation}`, resource: '*', context: {} };
}

/** Route 53 is REST: the path says the action; a change batch carries the names, types and actions. */
function route53Call(method: string, path: string, body: string): PendingCall {
  const zone = path.match(/\/hostedzone\/([^/]+)/)?.[1];
  const zoneArn = `arn:aws:route53:::hostedzone/${zone}`;
  if (/\/hostedzone\/[^/]+\/rrset\/?$/.test(path) && method === 'POST') {
    const changes = [...body.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map((match) => ({
      action: match[1]!.match(/<Action>([^<]+)<\/Action>/)?.[1] ?? '',
      name: match[1]!.match(/<Name>([^<]+)<\/Name>/)?.[1] ?? '',
      type: match[1]!.match(/<Type>([^<]+)<\/Type>/)?.[1] ?? '',
    }));
    return {
      action: 'route53:ChangeResourceRecordSets',
      resource: zoneArn,
      context: {
        'route53:ChangeResourceRecordSetsActions': [...new Set(changes.map((c) => c.action))],
        'route53:ChangeResourceRecordSetsRecordTypes': [...new Set(changes.map((c) => c.type))],
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [...new Set(changes.map((c) => route53Normalised(c.name)))],
      },
    };
  }
  if (/\/hostedzone\/[^/]+\/rrset\/?$/.test(path)) return { action: 'route53:ListResourceRecordSets', resource: zoneArn, context: {} };
  if (/\/hostedzone\/[^/]+\/?$/.test(path)) return { action: 'route53:GetHostedZone', resource: zoneArn, context: {} };
  if (/\/hostedzone\/?$/.test(path)) return { action: method === 'GET' ? 'route53:ListHostedZones' : 'route53:CreateHostedZone', resource: '*', context: {} };
  const change = path.match(/\/change\/([^/]+)/)?.[1];
  if (change) return { action: 'route53:GetChange', resource: `arn:aws:route53:::change/${change}`, context: {} };
  return { action: `route53:${method} ${path}`, resource: '*', context: {} };
}

/** CloudFront is REST too: /2020-05-31/distribution/ID/config, GET to read, PUT to update. */
function cloudFrontCall(method: string, path: string): PendingCall {
  const id = path.match(/\/distribution\/([^/]+)/)?.[1];
  const resource = id ? `arn:aws:cloudfront::${MOTO_ACCOUNT}:distribution/${id}` : '*';
  if (/\/distribution\/[^/]+\/config\/?$/.test(path))
    return { action: method === 'PUT' ? 'cloudfront:UpdateDistribution' : 'cloudfront:GetDistributionConfig', resource, context: {} };
  return { action: `cloudfront:${method} ${path}`, resource, context: {} };
}

/** What Route 53 puts in the condition key: lower case, no trailing dot, other characters as \ooo. */
function route53Normalised(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)))
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/[^a-z0-9._-]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * Resources only the answer names (a new ACM import, a secret by name). A new import with tags is also
 * authorised as acm:AddTagsToCertificate on the new certificate, as AWS documents for ImportCertificate.
 */
function completeFromAnswer(call: PendingCall, answer: Buffer): PendingCall[] {
  if (call.resource !== 'pending') return [call];
  let parsed: Record<string, any> = {};
  try {
    parsed = JSON.parse(answer.toString('utf8') || '{}') as Record<string, any>;
  } catch {
    // not JSON: an error page; the resource stays unknown
  }
  const resource = (parsed.CertificateArn ?? parsed.ARN ?? 'unknown') as string;
  const done = { ...call, resource };
  if (call.action === 'acm:ImportCertificate' && call.context['aws:TagKeys']) return [done, { ...done, action: 'acm:AddTagsToCertificate' }];
  return [done];
}
