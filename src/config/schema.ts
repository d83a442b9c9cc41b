import { z } from 'zod';
import { AWS_REGIONS } from './aws-regions.js';
import { API_RATES } from './aws-api-rates.js';
import { isValidCron } from './cron.js';
import { domainProblem } from './domains.js';

/**
 * The config contract. Keys and defaults here are what users write in renewal.config.ts;
 * every message says what is expected, so a wrong config names its fix.
 */

const KNOWN_REGIONS: ReadonlySet<string> = new Set(AWS_REGIONS);

export const KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** `renewBefore` from the config: a number of days before expiry, or a share of the lifetime left. */
export type RenewBefore = { days: number } | { percent: number };

const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]{36}$/;
const LISTENER_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):(\d{12}):listener\/(app|net)\/[A-Za-z0-9-]+\/[0-9a-f]+\/[0-9a-f]+$/;
// CloudFront's own IDs: an upper-case letter, then upper-case letters and digits (real ones start with E).
const DISTRIBUTION_ID = /^[A-Z][A-Z0-9]{5,31}$/;
/** CloudFront serves ACM certificates from this region only (a `cloudfront` entry implies an `acm` entry for it). */
export const CLOUDFRONT_ACM_REGION = 'us-east-1';
const HOSTED_ZONE_ID = /^(\/hostedzone\/)?[A-Z0-9]{1,32}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const CERTIFICATE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
// IPv4 or IPv6 address, optionally with a port: "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53", "2001:db8::53".
const RESOLVER = /^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$/;

const region = z.string().refine((value) => KNOWN_REGIONS.has(value), {
  error: (issue) => `"${String(issue.input)}" is not an AWS region known to certkeeper; expected a region code such as "us-east-1" or "eu-west-1"`,
});

const domain = z.string().superRefine((value, ctx) => {
  const problem = domainProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const listener = z.strictObject({
  arn: z.string().regex(LISTENER_ARN, {
    error: (issue) => `"${String(issue.input)}" is not a load-balancer listener ARN; expected "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID"`,
  }),
  /** `default`: the listener's default certificate. `sni`: one of its additional (SNI) certificates. */
  mode: z.enum(['default', 'sni']).default('default'),
});

const acmTarget = z
  .strictObject({
    region,
    /** Re-import into this certificate, keeping its ARN. Without it certkeeper imports one and tags it. */
    certificateArn: z
      .string()
      .regex(ACM_ARN, {
        error: (issue) => `"${String(issue.input)}" is not an ACM certificate ARN; expected "arn:aws:acm:REGION:ACCOUNT:certificate/UUID"`,
      })
      .optional(),
    listeners: z.array(listener).default([]),
  })
  .superRefine((target, ctx) => {
    const arnRegion = target.certificateArn?.match(ACM_ARN)?.[1];
    if (arnRegion && arnRegion !== target.region) {
      ctx.addIssue({
        code: 'custom',
        path: ['certificateArn'],
        message: `is in region ${arnRegion} but this entry's region is ${target.region}; an ACM certificate can only be used in its own region`,
      });
    }
    target.listeners.forEach((entry, index) => {
      const listenerRegion = entry.arn.match(LISTENER_ARN)?.[1];
      if (listenerRegion && listenerRegion !== target.region) {
        ctx.addIssue({
          code: 'custom',
          path: ['listeners', index, 'arn'],
          message: `is in region ${listenerRegion} but this entry's region is ${target.region}; put the listener under an acm entry for ${listenerRegion}`,
        });
      }
    });
  });

const hostedZoneId = z
  .string()
  .regex(HOSTED_ZONE_ID, {
    error: (issue) => `"${String(issue.input)}" is not a Route 53 hosted zone ID; expected something like "Z0123456789ABCDEFGHIJ"`,
  })
  .transform((id) => id.replace(/^\/hostedzone\//, ''));

/** An IAM role to assume (STS) for Route 53 in another account; externalId when the role's trust policy asks for one. */
const roleArn = z.string().regex(ROLE_ARN, { error: expecting('an IAM role ARN such as "arn:aws:iam::123456789012:role/certkeeper-dns"') });
const externalId = z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, { error: expecting("the external ID of the role's trust policy (2-1224 letters, digits or +=,.@:/-)") });

const route53Settings = z.strictObject({
  /** Route 53 allows 5 API requests per second per AWS account; every certkeeper call to it shares this budget. */
  requestsPerSecond: z
    .number()
    .positive({ error: expecting('a positive number of requests per second, such as 5') })
    .max(1_000)
    .default(5),
  /** How long a change may stay PENDING before the renewal fails (real Route 53: usually under a minute). */
  insyncTimeoutSeconds: z
    .number()
    .int()
    .min(1, { error: expecting('a whole number of seconds, at least 1 (default 300)') })
    .max(3_600)
    .default(300),
  propagation: z
    .strictObject({
      /** Ask the zone's authoritative nameservers for the TXT values before answering the challenge. */
      check: z.boolean().default(true),
      /** Nameservers to ask instead of the zone's own (e.g. a split-horizon setup): "ip" or "ip:port". */
      resolvers: z
        .array(z.string().regex(RESOLVER, { error: expecting('a nameserver address such as "192.0.2.53" or "192.0.2.53:5353"') }))
        .min(1, { error: 'is empty; expected at least one nameserver such as "192.0.2.53", or leave resolvers out to ask the zone\'s own nameservers' })
        .optional(),
      timeoutSeconds: z
        .number()
        .int()
        .min(1, { error: expecting('a whole number of seconds, at least 1 (default 120)') })
        .max(3_600)
        .default(120),
    })
    .default({ check: true, timeoutSeconds: 120 }),
  /** Zones reached through a role (another account), by hosted zone ID. */
  zones: z.array(z.strictObject({ hostedZoneId, roleArn: roleArn.optional(), externalId: externalId.optional() })).default([]),
});
export type Route53Settings = z.output<typeof route53Settings>;

const certificate = z
  .strictObject({
    /** Stable name: used in logs, in `renew NAME`, in the state directory and in the ACM tag `certkeeper:name`. */
    name: z.string().regex(CERTIFICATE_NAME, {
      error: (issue) =>
        `"${String(issue.input)}" is not a valid certificate name; expected lower-case letters, digits, ".", "_" or "-" (at most 63, starting with a letter or digit)`,
    }),
    domains: z.array(domain).min(1, { error: 'is empty; expected at least one domain, such as ["api.example.com"]' }),
    keyType: z.enum(KEY_TYPES).default('ecdsa-p256'),
    /**
     * Renew at the latest this long before expiry ("30d") or with this share of the lifetime left ("40%"),
     * when the CA gives no renewal information (ARI) and this comes before the one-third rule.
     */
    renewBefore: z
      .string()
      .regex(/^(\d{1,4})d$|^(\d{1,2})%$/, {
        error: expecting('a number of days such as "30d", or a share of the lifetime such as "40%" (1-99)'),
      })
      .refine((value) => !/^0+[d%]$/.test(value), { error: expecting('more than zero, such as "30d" or "40%"') })
      .transform((value): RenewBefore => (value.endsWith('d') ? { days: Number(value.slice(0, -1)) } : { percent: Number(value.slice(0, -1)) }))
      .optional(),
    route53: z
      .strictObject({
        hostedZoneId: hostedZoneId.optional(),
        /** Assume this role for this certificate's Route 53 calls (zones in another account). */
        roleArn: roleArn.optional(),
        externalId: externalId.optional(),
      })
      .default({}),
    acm: z.array(acmTarget).optional(),
    /**
     * CloudFront distributions whose viewer certificate this is. CloudFront uses ACM certificates of
     * us-east-1 only: an `acm` entry for us-east-1 is implied (an explicit one is shared with its listeners).
     */
    cloudfront: z
      .array(
        z.strictObject({
          distributionId: z.string().regex(DISTRIBUTION_ID, { error: expecting('a CloudFront distribution ID such as "E2QWRUHAPOMQZL"') }),
        }),
      )
      .default([]),
    /** Endpoints whose served certificate must match the deployed one, checked after deploying and on every pass. */
    verify: z
      .array(
        z.strictObject({
          host: z.string().min(1, { error: 'is empty; expected a host name or address to connect to' }),
          port: z.number().int().min(1).max(65_535).default(443),
          sni: z.string().min(1).optional(),
        }),
      )
      .default([]),
    /** How long a new certificate may take to be served on every `verify` endpoint before it counts as a failure. */
    verifyTimeoutSeconds: z.number().int().min(0).max(3_600).default(300),
  })
  .superRefine((spec, ctx) => {
    reportDuplicates(spec.domains, ctx, ['domains'], 'domain');
    if ((spec.acm ?? []).length === 0 && spec.cloudfront.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['acm'],
        message: `${spec.acm ? 'is empty; expected' : 'is required; expected'} at least one { region } to import the certificate into (or cloudfront: [{ distributionId }])`,
      });
    }
    reportDuplicates(
      (spec.acm ?? []).map((target) => target.region),
      ctx,
      ['acm'],
      'region',
      'region',
    );
    reportDuplicates(
      spec.cloudfront.map((entry) => entry.distributionId),
      ctx,
      ['cloudfront'],
      'distribution',
      'distributionId',
    );
  })
  // The implied us-east-1 entry is made here, so everything that reads `acm` (deploy, observe, status, iam-policy) sees it.
  .transform(({ acm = [], ...spec }) => ({
    ...spec,
    acm: spec.cloudfront.length > 0 && !acm.some((target) => target.region === CLOUDFRONT_ACM_REGION) ? [...acm, { region: CLOUDFRONT_ACM_REGION, listeners: [] }] : acm,
  }));

const RATE_LIMIT_SHAPE = '"letsencrypt", "none", or limits such as { duplicateCertificates: { count: 5, windowHours: 168 } }';
/** One explicit limit: `count` in any `windowHours` (at most 7 days, Let's Encrypt's longest window). */
const configuredLimit = z.strictObject({
  count: z
    .number()
    .int()
    .min(1, { error: expecting('a whole number of requests, at least 1') }),
  windowHours: z
    .number()
    .positive({ error: expecting('a number of hours such as 3 or 168') })
    .max(168, { error: expecting('at most 168 hours (7 days)') }),
});
const rateLimitSetting = z.union(
  [
    z.literal('letsencrypt'),
    z.literal('none'),
    z.strictObject({ duplicateCertificates: configuredLimit.optional(), newOrders: configuredLimit.optional(), failedValidations: configuredLimit.optional() }),
  ],
  { error: (issue) => (issue.input === undefined ? undefined : `${JSON.stringify(issue.input)} is not valid; expected ${RATE_LIMIT_SHAPE}`) },
);

const eab = z.strictObject({
  kid: z.string().min(1, { error: 'is empty; expected the key identifier the CA gave you' }),
  hmacKey: z.string({ error: expectingSecret('the base64url HMAC key the CA gave you') }).regex(/^[A-Za-z0-9_-]+={0,2}$/, {
    error: expectingSecret('the base64url HMAC key the CA gave you (standard base64 with + and /? use - and _ instead)'),
  }),
});

const acme = z.strictObject({
  /** Let's Encrypt production by default; use its staging directory while trying things out. */
  directoryUrl: z
    .url({
      protocol: /^https$/,
      error: expecting('the https URL of an ACME directory, such as "https://acme-staging-v02.api.letsencrypt.org/directory"'),
    })
    .default('https://acme-v02.api.letsencrypt.org/directory'),
  /**
   * Where `renew --dry-run` orders: a staging (test) directory of the CA, whose certificates nobody trusts and
   * whose orders count against no production limit. Let's Encrypt staging by default. It gets its own ACME
   * account (accounts are per directory) and never the production `eab`.
   */
  stagingDirectoryUrl: z
    .url({
      protocol: /^https$/,
      error: expecting('the https URL of the CA\'s staging ACME directory, such as "https://acme-staging-v02.api.letsencrypt.org/directory"'),
    })
    .optional(),
  email: z.email({ error: expecting('a contact e-mail address for the ACME account, such as "ops@example.com"') }),
  termsOfServiceAgreed: z.literal(true, {
    error: (issue) => `${issue.input === undefined ? 'is required and ' : ''}must be true: read the CA's terms of service, then set termsOfServiceAgreed: true`,
  }),
  /** Extra CA certificates (PEM file) to trust for the ACME server's HTTPS, for private CAs. */
  caCertificates: z.string().min(1).optional(),
  /** ACME profile (e.g. Let's Encrypt's "classic", "tlsserver", "shortlived"), sent when the CA advertises profiles. */
  profile: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, { error: expecting('a profile name the CA advertises, such as "classic" or "tlsserver"') })
    .optional(),
  /** External Account Binding, for CAs that need one (ZeroSSL, Google Trust Services, …). */
  eab: eab.optional(),
  /**
   * External Account Binding for the staging directory, when its CA needs one (Google Trust Services'
   * test environment does, with its own credentials). `eab` is never sent there: EAB credentials belong to one CA.
   */
  stagingEab: eab.optional(),
  /** Issuer common name of the chain to prefer when the CA offers alternates (e.g. "ISRG Root X1"). */
  preferredChain: z.string().min(1).optional(),
  /**
   * Rate-limit guards: "letsencrypt" (Let's Encrypt's published limits and renewal exemptions), "none",
   * or explicit limits. Default: "letsencrypt" on Let's Encrypt's directories, "none" elsewhere. The
   * CA's own refusals (rateLimited, Retry-After) are honoured whatever this says.
   */
  rateLimits: rateLimitSetting.optional(),
  /**
   * A request to the CA unanswered this long is abandoned (and not retried: the renewal fails naming the
   * URL, the next pass tries again). It also sizes the CA's share of a renewal's deadline.
   */
  requestTimeoutSeconds: z
    .number({ error: expecting('a number of seconds from 1 to 300 (default 30)') })
    .min(1, { error: expecting('a number of seconds from 1 to 300 (default 30)') })
    .max(300, { error: expecting('a number of seconds from 1 to 300 (default 30)') })
    .default(30),
  /**
   * Where the account key lives: by default a 0600 file in stateDir; in Secrets Manager or an SSM
   * SecureString parameter so agents without a shared disk use one account. Created there once if absent.
   */
  accountKey: z
    .strictObject({
      secretsManager: z
        .strictObject({
          secretId: z.string().min(1, { error: 'is empty; expected the name (or ARN) of the secret holding the ACME account key, such as "certkeeper/acme-account-key"' }),
          region: region.optional(),
        })
        .optional(),
      ssm: z
        .strictObject({
          parameterName: z.string().regex(/^[A-Za-z0-9_.\-/]{1,2048}$/, {
            error: expecting('an SSM parameter name such as "/certkeeper/acme-account-key"'),
          }),
          region: region.optional(),
        })
        .optional(),
    })
    .refine((key) => Boolean(key.secretsManager) !== Boolean(key.ssm), {
      error: 'expected exactly one of { secretsManager: { secretId } } or { ssm: { parameterName } }; leave accountKey out to keep the key in stateDir',
    })
    .optional(),
});

/** Where `renew --dry-run` orders unless `acme.stagingDirectoryUrl` says otherwise. */
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

const acmeSettings = acme
  .superRefine((settings, ctx) => {
    // A dry run orders from the staging directory: set to production's, it would spend real orders and limits.
    // (Left out, it is Let's Encrypt staging, which a config trying things out may use as its directoryUrl too.)
    if (settings.stagingDirectoryUrl && sameUrl(settings.stagingDirectoryUrl, settings.directoryUrl)) {
      ctx.addIssue({
        code: 'custom',
        path: ['stagingDirectoryUrl'],
        message: `is the same as acme.directoryUrl; a dry run must not order from the CA it renews with: point it at the CA's staging directory, such as "${LETS_ENCRYPT_STAGING}"`,
      });
    }
  })
  .transform(({ stagingDirectoryUrl, ...settings }) => ({ ...settings, stagingDirectoryUrl: stagingDirectoryUrl ?? LETS_ENCRYPT_STAGING }));

const TABLE_NAME = 'a DynamoDB table name (3-255 letters, digits, "_", "-", "."), such as "certkeeper"';

/** Where records, the rate-limit ledger and the per-certificate leases live. */
const store = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('file') }),
    z.strictObject({
      type: z.literal('dynamodb'),
      tableName: z.string({ error: expecting(TABLE_NAME) }).regex(/^[A-Za-z0-9_.-]{3,255}$/, { error: expecting(TABLE_NAME) }),
      /** Default: aws.region. */
      region: region.optional(),
    }),
  ],
  { error: 'expected { type: "file" } (the default) or { type: "dynamodb", tableName: "certkeeper" }' },
);

const schedule = z.strictObject({
  /**
   * node-schedule cron expression (5 fields, or 6 with seconds). Without it: twice a day at a minute
   * picked at random when the agent starts, as certbot's timer does, so a fleet spreads over the hour.
   */
  cron: z
    .string()
    .refine(isValidCron, { error: expecting('a cron expression such as "0 0,12 * * *" (minute hour day month weekday, optional leading seconds)') })
    .optional(),
  /** IANA time zone the cron expression is read in (default: the machine's). */
  timezone: z
    .string()
    .refine(isTimeZone, { error: expecting('an IANA time zone such as "UTC" or "Europe/Berlin"') })
    .optional(),
  /** Each scheduled pass starts after a random delay up to this, so a fleet does not hit the CA at once. */
  jitterSeconds: z.number().int().min(0).max(86_400).default(300),
});

/** Where `renewal.failed`, emergencies, `deploy.not_served` (and optionally successes) are sent. */
const notifications = z.strictObject({
  snsTopicArn: z
    .string()
    .regex(SNS_TOPIC_ARN, { error: expecting('an SNS topic ARN such as "arn:aws:sns:us-east-1:123456789012:certkeeper"') })
    .optional(),
  /** Receives a JSON POST with the event's fields and a Slack-compatible `text`. Treated as a secret: only its host is logged. */
  webhookUrl: z
    .url({
      protocol: /^https?$/,
      // Not echoed back: a webhook URL's path is its credential.
      error: (issue) =>
        issue.input === undefined ? 'is required' : 'is not valid (value not shown: it may hold a secret); expected an http(s) URL such as a Slack incoming-webhook URL',
    })
    .optional(),
  /** Also notify on `renewal.succeeded` (default: only on trouble). */
  onSuccess: z.boolean().default(false),
});

/** `certkeeper run` serves Prometheus metrics and a health check when a port is given (`--metrics-port` wins). */
const metrics = z.strictObject({
  port: z
    .number()
    .int()
    .min(1, { error: expecting('a TCP port from 1 to 65535, such as 9464') })
    .max(65_535, { error: expecting('a TCP port from 1 to 65535, such as 9464') })
    .optional(),
  /** Address to bind (default: every interface, as Prometheus exporters do; "127.0.0.1" keeps it on this machine). */
  host: z.string().min(1, { error: 'is empty; expected an address to bind such as "0.0.0.0" or "127.0.0.1"' }).optional(),
});

// `aws.requestRates`: only the keys certkeeper paces, each named in the error.
const requestRates = z.record(z.string(), z.number().positive().max(10_000)).superRefine((rates, ctx) => {
  for (const key of Object.keys(rates)) {
    if (!(key in API_RATES)) {
      ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" is not a paced AWS operation; expected one of: ${Object.keys(API_RATES).join(', ')}` });
    }
  }
});

export const configSchema = z
  .strictObject({
    acme: acmeSettings,
    /** Account key and records; relative paths are relative to the config file. Created 0700, files 0600. */
    stateDir: z.string().min(1).default('./.certkeeper'),
    /** `file` (stateDir, one machine) or `dynamodb` (several agents, or a scheduled task with no disk). */
    store: store.default({ type: 'file' }),
    /** Credentials and endpoints come from the standard AWS chain and environment. */
    aws: z.strictObject({
      region,
      /** A call to AWS that gets no answer within this is abandoned (and retried by the SDK); without it a hung connection would hang the pass. */
      requestTimeoutSeconds: z.number().positive().max(600).default(60),
      /**
       * Request rates (per second) for an account whose AWS quotas were raised, by `service:class`
       * (config/aws-api-rates.ts): e.g. `{ 'acm:ImportCertificate': 10, 'elbv2:mutating': 5 }`. Default: the documented rates.
       */
      requestRates: requestRates.optional(),
    }),
    schedule: schedule.default({ jitterSeconds: 300 }),
    /** The safety net: ACM certificates certkeeper does not manage that expire soon (`discover`; the daemon warns daily). */
    discovery: z
      .strictObject({
        withinDays: z.number().int().min(1).max(400).default(30),
        /** Regions to look in (default: aws.region and every region of the certificates). */
        regions: z.array(region).optional(),
      })
      .default({ withinDays: 30 }),
    /**
     * At most this many certificates at work at once in a pass, for who wants to be gentler; waiting on Route 53
     * does not count. Unset (the default): every due certificate of a wave works at once, paced only by the
     * request rates of the CA and AWS. Each certificate is still renewed by one process at a time.
     */
    concurrency: z.number().int().min(1).max(1000).optional(),
    route53: route53Settings.default({ requestsPerSecond: 5, insyncTimeoutSeconds: 300, propagation: { check: true, timeoutSeconds: 120 }, zones: [] }),
    certificates: z.array(certificate).min(1, { error: 'is empty; expected at least one certificate to manage' }),
    notifications: notifications.optional(),
    metrics: metrics.optional(),
  })
  .superRefine((config, ctx) => {
    reportDuplicates(
      config.route53.zones.map((zone) => zone.hostedZoneId),
      ctx,
      ['route53', 'zones'],
      'hosted zone',
      'hostedZoneId',
    );
    const roles = [
      ...config.route53.zones.map((zone, index) => ({ role: zone, path: ['route53', 'zones', index] })),
      ...config.certificates.map((spec, index) => ({ role: spec.route53, path: ['certificates', index, 'route53'] })),
    ];
    for (const { role, path } of roles) {
      if (role.externalId && !role.roleArn) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'externalId'],
          message: 'is set without roleArn; an external ID only goes with a role to assume: add roleArn or remove externalId',
        });
      }
    }
    reportDuplicates(
      config.certificates.map((spec) => spec.name),
      ctx,
      ['certificates'],
      'certificate name',
      'name',
    );
    const profile = config.acme.profile;
    const limit = profile && SHORT_PROFILES.has(profile) ? 25 : 100;
    config.certificates.forEach((spec, index) => {
      if (spec.domains.length > limit) {
        ctx.addIssue({
          code: 'custom',
          path: ['certificates', index, 'domains'],
          message: `has ${spec.domains.length} names; ${profile && SHORT_PROFILES.has(profile) ? `the "${profile}" profile allows` : 'a certificate may have'} at most ${limit}: split it into several certificates`,
        });
      }
    });
  });

// Let's Encrypt's profiles with 25 names at most (classic allows 100).
const SHORT_PROFILES = new Set(['tlsserver', 'shortlived']);

/** Error wording for a field: "is required" when absent, otherwise the offending value and what fits. */
function expecting(what: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `is required; expected ${what}` : `${JSON.stringify(issue.input)} is not valid; expected ${what}`);
}

/** The same for a secret field: what is expected, never the value that came. */
function expectingSecret(what: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `is required; expected ${what}` : `is not valid (value not shown: it is a secret); expected ${what}`);
}

/** Two URLs that name the same resource once normalised (case of the host, default port, trailing dot). */
function sameUrl(a: string, b: string): boolean {
  const normal = (url: string) => {
    const parsed = new URL(url);
    parsed.hostname = parsed.hostname.replace(/\.$/, '');
    return parsed.href;
  };
  return normal(a) === normal(b);
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `field`: the key inside each entry that holds the value (none: the entry is the value). */
function reportDuplicates(values: string[], ctx: z.RefinementCtx, path: (string | number)[], what: string, field?: string): void {
  const seen = new Map<string, number>();
  values.forEach((value, index) => {
    const first = seen.get(value);
    if (first === undefined) {
      seen.set(value, index);
      return;
    }
    ctx.addIssue({ code: 'custom', path: field ? [...path, index, field] : [...path, index], message: `duplicate ${what} "${value}" (already at index ${first})` });
  });
}

/** What users write (defaults optional). */
export type CertkeeperConfig = z.input<typeof configSchema>;
/** What certkeeper works with after validation and defaults. */
export type ResolvedConfig = z.output<typeof configSchema> & { configPath: string };
export type CertificateSpec = z.output<typeof certificate>;
export type AcmTargetSpec = z.output<typeof acmTarget>;
export type ListenerSpec = z.output<typeof listener>;
