/** The parts of one bench run; `--only` picks some of them. */
export const PARTS = ['certkeeper', 'certbot', 'floor', 'daemon', 'startup', 'status'] as const;
export type Part = (typeof PARTS)[number];

/** One side-by-side scenario: N certificates with Route 53 changes INSYNC after `insyncMs`. */
export interface Scenario {
  label: string;
  certificates: number;
  insyncMs: [number, number];
  /** How many certificates certbot orders here (its per-certificate time is extrapolated to `certificates` when fewer). */
  certbotCertificates: number;
}

export interface BenchOptions {
  parts: Set<Part>;
  scenarios: Scenario[];
  requestsPerSecond: number;
  statusCertificates: number;
  /** The config's `concurrency`, or undefined for certkeeper's own default. */
  concurrency?: number;
  /** Merged over the bench's certkeeper config (e.g. `{ "aws": { "requestRates": { … } } }`). */
  configExtra: Record<string, unknown>;
  /** How long the daemon runs its frequent passes (the simulated day), and how often a pass fires. */
  daemonDayMs: number;
  daemonCron: string;
  daemonCertificates: number;
  /** Runs of each start-up command; the median is reported. */
  startupRuns: number;
  out: string;
  bin: string;
  logs?: string;
}

export const USAGE = `usage: npm run bench -- [--quick] [--only ${PARTS.join(',')}]
  [--n 30] [--n-faithful 100] [--insync 30] [--rps 5] [--certbot-n 30] [--certbot-n-faithful 3]
  [--status-certs 1000] [--concurrency N] [--certkeeper-config-extra JSON]
  [--day-minutes 5] [--daemon-certs 10] [--startup-runs 10] [--out FILE] [--bin PATH] [--logs DIR]`;

/** Reads the flags; throws the usage on anything it cannot use. */
export function parseOptions(argv: string[], defaults: { bin: string; out: string }): BenchOptions {
  const known = new Set([
    '--quick',
    '--only',
    '--n',
    '--n-faithful',
    '--insync',
    '--rps',
    '--certbot-n',
    '--certbot-n-faithful',
    '--status-certs',
    '--concurrency',
    '--certkeeper-config-extra',
    '--day-minutes',
    '--daemon-certs',
    '--startup-runs',
    '--out',
    '--bin',
    '--logs',
  ]);
  for (let i = 0; i < argv.length; i++) {
    if (!known.has(argv[i]!)) throw new Error(`unknown argument ${argv[i]}\n${USAGE}`);
    if (argv[i] !== '--quick') i++;
  }
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const number = (flag: string, fallback: number) => {
    const n = Number(value(flag) ?? fallback);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag}: not a number ≥ 0\n${USAGE}`);
    return n;
  };
  const quick = argv.includes('--quick');
  const only = value('--only');
  const parts = new Set((only ? only.split(',') : PARTS).map((part) => part.trim()) as Part[]);
  for (const part of parts) if (!PARTS.includes(part)) throw new Error(`--only: unknown part ${part} (parts: ${PARTS.join(', ')})\n${USAGE}`);

  const insync = (value('--insync') ?? (quick ? '2' : '30')).split('-').map((part) => Number(part) * 1000);
  if (insync.some((ms) => !Number.isFinite(ms) || ms < 0)) throw new Error(`--insync: seconds, or a range like 20-60\n${USAGE}`);
  const instantN = number('--n', quick ? 10 : 30);
  const faithfulN = number('--n-faithful', quick ? 10 : 100);
  const scenarios = (
    [
      { label: 'INSYNC instant', certificates: instantN, insyncMs: [0, 0], certbotCertificates: Math.min(instantN, number('--certbot-n', instantN)) },
      {
        label: `INSYNC ${insync.map((ms) => ms / 1000).join('-')} s`,
        certificates: faithfulN,
        insyncMs: [insync[0]!, insync[1] ?? insync[0]!],
        certbotCertificates: Math.min(faithfulN, number('--certbot-n-faithful', quick ? 1 : 3)),
      },
    ] satisfies Scenario[]
  ).filter((scenario) => scenario.certificates > 0) as Scenario[];

  const concurrencyFlag = value('--concurrency');
  const concurrency = concurrencyFlag === undefined ? undefined : Number(concurrencyFlag);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) throw new Error(`--concurrency: an integer ≥ 1\n${USAGE}`);
  let configExtra: Record<string, unknown> = {};
  const extra = value('--certkeeper-config-extra');
  if (extra !== undefined) {
    try {
      configExtra = JSON.parse(extra) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`--certkeeper-config-extra: not JSON (${(error as Error).message})\n${USAGE}`, { cause: error });
    }
    if (typeof configExtra !== 'object' || configExtra === null || Array.isArray(configExtra)) throw new Error(`--certkeeper-config-extra: a JSON object\n${USAGE}`);
  }
  return {
    parts,
    scenarios,
    requestsPerSecond: number('--rps', 5),
    statusCertificates: number('--status-certs', quick ? 100 : 1000),
    concurrency,
    configExtra,
    daemonDayMs: number('--day-minutes', quick ? 1 : 5) * 60_000,
    daemonCron: '*/5 * * * * *',
    daemonCertificates: Math.max(1, number('--daemon-certs', quick ? 5 : 10)),
    startupRuns: Math.max(1, number('--startup-runs', 10)),
    out: value('--out') ?? defaults.out,
    bin: value('--bin') ?? defaults.bin,
    logs: value('--logs'),
  };
}

/** Deep merge of plain objects (arrays and scalars of `extra` replace): the bench config with --certkeeper-config-extra. */
export function mergeConfig(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    const plain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
    merged[key] = plain(current) && plain(value) ? mergeConfig(current, value) : value;
  }
  return merged;
}
