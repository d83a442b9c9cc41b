import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { ListHostedZonesCommand } from '@aws-sdk/client-route-53';
import { awsFixtures } from './aws-fixtures.js';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { startMoto, type Moto } from './moto.js';
import { startPebble, type Pebble, type PebbleOptions } from './pebble.js';
import { startAriProxy, type AriProxy, type AriProxyOptions } from './ari-proxy.js';

export interface StackOptions {
  /** Pebble settings (validity, EAB, environment such as PEBBLE_WFE_NONCEREJECT). */
  pebble?: Omit<PebbleOptions, 'dnsPort'>;
  /** Put the ARI/profiles test double in front of Pebble (see ari-proxy.ts): `directoryUrl` becomes its. */
  acmeProxy?: boolean | AriProxyOptions;
  /** Zones the DNS server pretends not to serve (see DnsServerOptions.ignoreZones). */
  ignoreZones?: string[];
  /** Load moto's EC2 backend during start-up (+~1.5 s) instead of in the first createHttpsListener. */
  preloadEc2?: boolean;
}

/** The environment a certkeeper process needs to talk to this stack. */
export interface StackEnv {
  AWS_ENDPOINT_URL: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: string;
  NODE_EXTRA_CA_CERTS: string;
  [name: string]: string;
}

export interface Stack {
  directoryUrl: string;
  /** CA of Pebble's HTTPS certificate (not of the certificates Pebble issues: see pebble.issuingRootPem()). */
  caCertPath: string;
  motoEndpoint: string;
  dnsPort: number;
  env: StackEnv;
  /** Copies `env` into process.env for in-process tests; returns a function that restores the old values. */
  applyEnv(): () => void;
  /** How long startStack took, in ms. */
  startupMs: number;
  moto: Moto;
  dns: DnsServer;
  pebble: Pebble;
  /** The ARI/profiles test double, when asked for. */
  acmeProxy?: AriProxy;
  /** PIDs of the child processes (moto, Pebble). */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * moto, a DNS server answering from moto's hosted zones, and Pebble validating DNS-01 against that DNS
 * server, all on free loopback ports. The three start concurrently (the DNS server only needs moto's
 * future address, Pebble only the DNS port), so start-up costs about as long as moto's alone.
 * Children are killed by PID in stop(), and also if this process exits or is killed.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started = Date.now();
  const motoStart = startMoto();
  // The DNS server reads moto only at query time, so it can start before moto answers.
  const dnsStart = startDnsServer({
    route53: motoStart.then((moto) => moto.endpoint),
    ignoreZones: options.ignoreZones,
  });
  // Pebble needs only the DNS port, not a working DNS server, to start.
  const pebbleStart = dnsStart.then((dns) => startPebble({ ...options.pebble, dnsPort: dns.port }));
  // moto loads each service's backend on first use (Route 53 ~0.25 s, EC2 ~1.5 s of CPU): pay that now,
  // while Pebble starts, rather than in the first test (or the first DNS query Pebble sends).
  const preloadStart = motoStart.then(async (moto) => {
    const aws = awsFixtures(moto.endpoint);
    await Promise.all([aws.route53.send(new ListHostedZonesCommand({})), options.preloadEc2 ? aws.ec2().send(new DescribeVpcsCommand({})) : undefined]);
    return { stop: async () => {} };
  });
  const [moto, dns, pebble] = await settleAll([motoStart, dnsStart, pebbleStart, preloadStart]);

  let acmeProxy: AriProxy | undefined;
  if (options.acmeProxy) {
    try {
      acmeProxy = await startAriProxy(pebble, options.acmeProxy === true ? {} : options.acmeProxy);
    } catch (error) {
      await Promise.all([pebble.stop(), dns.stop(), moto.stop()]);
      throw error;
    }
  }

  const env: StackEnv = {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    // The authoritative nameserver for certkeeper's propagation check (see test/e2e/config-file.ts).
    CERTKEEPER_TEST_DNS_RESOLVER: `127.0.0.1:${dns.port}`,
  };

  let stopped: Promise<void> | undefined;
  return {
    directoryUrl: acmeProxy?.directoryUrl ?? pebble.directoryUrl,
    caCertPath: pebble.caCertPath,
    motoEndpoint: moto.endpoint,
    dnsPort: dns.port,
    env,
    applyEnv() {
      const previous = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
      Object.assign(process.env, env);
      return () => {
        for (const [name, value] of Object.entries(previous)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      };
    },
    startupMs: Date.now() - started,
    moto,
    dns,
    pebble,
    acmeProxy,
    pids: [moto.pid, pebble.pid],
    stop() {
      stopped ??= Promise.all([acmeProxy?.stop(), pebble.stop(), dns.stop(), moto.stop()]).then(() => undefined);
      return stopped;
    },
  };
}

/**
 * Like Promise.all for servers: if any fails to start, stops those that did start before rethrowing, so
 * a half-started stack never leaks.
 */
async function settleAll<const T extends readonly Promise<{ stop(): Promise<void> }>[]>(starts: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(starts);
  const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failures.length > 0) {
    await Promise.all(results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.stop().catch(() => {})] : [])));
    throw failures[0]!.reason;
  }
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as never;
}
