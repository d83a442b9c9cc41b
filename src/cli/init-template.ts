/**
 * The config `certkeeper init` writes: minimal, commented, and loadable as written. A value nobody gave
 * is a placeholder of the right shape (so the file loads) whose comment starts `CHANGE ME`, so a person sees what is left.
 */

export const STAGING_DIRECTORY_URL = 'https://acme-staging-v02.api.letsencrypt.org/directory';

/** What the template needs; each missing value becomes a marked placeholder. */
export interface InitAnswers {
  email?: string;
  domains?: string[];
  region?: string;
  listenerArn?: string;
  certificateArn?: string;
}

export const PLACEHOLDER = {
  email: 'ops@example.com',
  domains: ['example.com', '*.example.com'],
  region: 'us-east-1',
  /** The AWS documentation's example account: the file loads, and no real listener is touched by mistake. */
  listenerArn: (region: string) => `arn:aws:elasticloadbalancing:${region}:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2`,
} as const;

/** A certificate name from its first domain: `*.api.example.com` → `api-example-com` (the schema's name pattern). */
export function certificateNameFor(domain: string): string {
  const name = domain
    .replace(/^\*\./, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return name || 'web';
}

/** The values a person may be left to change. */
export type PlaceholderKey = 'email' | 'domains' | 'region' | 'listenerArn';

/** The answers with every gap filled by its placeholder, and which ones were filled. */
export interface FilledAnswers {
  email: string;
  domains: string[];
  region: string;
  listenerArn?: string;
  certificateArn?: string;
  placeholders: Set<PlaceholderKey>;
}

export function fillAnswers(answers: InitAnswers): FilledAnswers {
  const placeholders = new Set<PlaceholderKey>();
  // In the order a person reads them (and is asked).
  const email = answers.email ?? (placeholders.add('email'), PLACEHOLDER.email);
  const domains = answers.domains?.length ? answers.domains : (placeholders.add('domains'), [...PLACEHOLDER.domains]);
  const region = answers.region ?? (placeholders.add('region'), PLACEHOLDER.region);
  // Without a listener or a certificate ARN the placeholder listener stands, so the file loads and shows the shape.
  const listenerArn = answers.listenerArn ?? (answers.certificateArn ? undefined : (placeholders.add('listenerArn'), PLACEHOLDER.listenerArn(region)));
  return { email, domains, region, listenerArn, certificateArn: answers.certificateArn, placeholders };
}

/** The config the template spells out, as data: what init validates before writing. */
export function configObject(filled: FilledAnswers) {
  return {
    acme: { directoryUrl: STAGING_DIRECTORY_URL, email: filled.email, termsOfServiceAgreed: true },
    aws: { region: filled.region },
    certificates: [
      {
        name: certificateNameFor(filled.domains[0]!),
        domains: filled.domains,
        acm: [
          {
            region: filled.region,
            ...(filled.certificateArn && { certificateArn: filled.certificateArn }),
            listeners: filled.listenerArn ? [{ arn: filled.listenerArn }] : [],
          },
        ],
      },
    ],
  };
}

export function configTemplate(filled: FilledAnswers): string {
  // A line's comment, led by CHANGE ME when its value is a placeholder.
  const note = (key: PlaceholderKey, text: string) => `// ${filled.placeholders.has(key) ? 'CHANGE ME: ' : ''}${text}`;
  const q = (value: string) => JSON.stringify(value);
  const target = [
    `        {`,
    `          region: ${q(filled.region)},`,
    filled.certificateArn
      ? `          certificateArn: ${q(filled.certificateArn)}, // re-imported in place: its ARN, and what uses it, stay`
      : `          // certificateArn: 'arn:aws:acm:…', // re-import into this certificate instead, keeping its ARN`,
    filled.listenerArn
      ? `          listeners: [{ arn: ${q(filled.listenerArn)} }], ${note('listenerArn', "its default certificate; add mode: 'sni' to add it beside others")}`
      : `          // listeners: [{ arn: 'arn:aws:elasticloadbalancing:…' }], // load balancers to bind it to`,
    `        },`,
  ];
  return [
    `/**`,
    ` * certkeeper config, written by \`certkeeper init\`. Every key: docs/configuration.md in certkeeper's repository.`,
    ` * Lines marked CHANGE ME hold placeholders. Then: certkeeper iam-policy, doctor, renew --dry-run, renew.`,
    ` */`,
    `import { defineConfig } from 'certkeeper';`,
    ``,
    `export default defineConfig({`,
    `  acme: {`,
    `    // Let's Encrypt staging: untrusted certificates, generous rate limits. Remove this line for production.`,
    `    directoryUrl: ${q(STAGING_DIRECTORY_URL)},`,
    `    email: ${q(filled.email)}, ${note('email', "the ACME account's contact")}`,
    `    termsOfServiceAgreed: true, // only after reading the CA's terms`,
    `  },`,
    `  // stateDir: './.certkeeper', // the ACME account key and records (0700, files 0600); relative to this file`,
    `  aws: { region: ${q(filled.region)} }, ${note('region', 'credentials: the standard AWS chain (environment, profile, instance role)')}`,
    `  certificates: [`,
    `    {`,
    `      name: ${q(certificateNameFor(filled.domains[0]!))}, // in logs, \`certkeeper renew NAME\` and the ACM tag certkeeper:name`,
    `      domains: [${filled.domains.map(q).join(', ')}], ${note('domains', 'each needs a Route 53 hosted zone these credentials can change')}`,
    `      acm: [`,
    ...target,
    `      ],`,
    `    },`,
    `  ],`,
    `});`,
    ``,
  ].join('\n');
}
