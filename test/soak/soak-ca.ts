import { dirname, join } from 'node:path';
import { writeConfigFile } from '../e2e/config-file.js';
import { startFaultProxy, type FaultProxy } from '../reliability/fault-proxy.js';
import { awsFixtures, type AwsFixtures } from '../stack/aws-fixtures.js';
import { startChildProcess, type ManagedProcess } from '../stack/child-processes.js';
import { httpsGet } from '../stack/https-get.js';
import { startAcmKeyVault, type AcmKeyVault } from '../stack/load-balancer-double.js';
import { PEBBLE_BINARY } from '../stack/pebble.js';
import { freePort, waitFor } from '../stack/ports.js';
import { startRoute53Faithful, type Route53Faithful } from '../stack/route53-faithful.js';
import { startSniServingListener, type SniServingListener } from '../stack/sni-serving-listener.js';
import { startStack, type Stack } from '../stack/stack.js';

/**
 * One CA of the soak and the AWS it deploys to: Pebble issuing `lifetimeS`-second certificates (behind
 * the ARI test double when `ari`), moto with three HTTPS listeners whose load-balancer doubles serve by SNI
 * what ELBv2 names, and the fault layers the soak drives: the ACME fault proxy (CA outage), Route 53 as
 * AWS answers it (PENDING before INSYNC, 5 requests/s, PriorRequestNotComplete / Throttling on demand).
 * Its five certificates cover the shapes that differ (one name, several names, a wildcard with its apex,
 * RSA 2048; by SNI and as a listener's default) and the daemon's config for them.
 */
export interface SoakCertificate {
  name: string;
  domains: string[];
  /** The server name the sampler asks for: the certificate must cover it. */
  probe: string;
  port: number;
}

export interface SoakCa {
  label: string;
  ari: boolean;
  lifetimeS: number;
  stack: Stack;
  aws: AwsFixtures;
  vault: AcmKeyVault;
  acme: FaultProxy;
  route53: Route53Faithful;
  certificates: SoakCertificate[];
  configPath: string;
  metricsPort: number;
  /** Stops Pebble (the ACME fault proxy in front of it stays up, answering 502); see restartPebble. */
  stopPebble(): Promise<void>;
  /**
   * Starts Pebble again with the same config (ports, HTTPS certificate): like any Pebble start, with a
   * new issuing CA and no memory of accounts, orders or certificates. Resolves once its directory answers.
   */
  restartPebble(): Promise<void>;
  /** The daemon's environment: ACME through the fault proxy, ACM/ELBv2 through the key vault, Route 53 through the faithful double. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Route 53 as AWS answers it while nothing is wrong. */
export const ROUTE53_NORMAL = { requestsPerSecond: 5, insyncAfterMs: [200, 1_500] as [number, number] };

export async function startSoakCa(options: { label: string; ari: boolean; lifetimeS: number; workDir: string }): Promise<SoakCa> {
  const { label, ari, lifetimeS, workDir } = options;
  // Every order validates (no authorization reuse), so every renewal goes through Route 53.
  const stack = await startStack({ acmeProxy: ari, preloadEc2: true, pebble: { validitySeconds: lifetimeS, env: { PEBBLE_AUTHZREUSE: '0' } } });
  const stoppers: (() => Promise<void>)[] = [() => stack.stop()];
  const stop = async () => {
    for (const stopOne of stoppers.reverse()) await stopOne().catch(() => {});
  };
  try {
    const aws = awsFixtures(stack.motoEndpoint);
    const vault = await startAcmKeyVault(stack.motoEndpoint);
    stoppers.push(() => vault.stop());
    const route53 = await startRoute53Faithful(stack.motoEndpoint, ROUTE53_NORMAL);
    stoppers.push(() => route53.stop());
    const acme = await startFaultProxy({
      upstream: stack.directoryUrl,
      tls: { certPath: stack.pebble.serverCertPath, keyPath: stack.pebble.serverKeyPath, caPath: stack.caCertPath },
    });
    stoppers.push(() => acme.stop());

    const zone = `${label}.soak.example`;
    await aws.createHostedZone(zone);
    const servingListeners: SniServingListener[] = [];
    const listener = async (name: string) => {
      const created = await aws.createHttpsListener({ name });
      const serving = await startSniServingListener(aws.elbv2(), created.listenerArn, vault);
      servingListeners.push(serving);
      stoppers.push(() => serving.stop());
      return { arn: created.listenerArn, port: serving.port };
    };
    // One listener serves three certificates by SNI (its default stays the placeholder), two serve theirs
    // as default: moto 5.2.1's ModifyListener drops a listener's SNI certificates (its own TODO says
    // so; AWS keeps them), so a listener whose default certkeeper changes carries no SNI certificate here.
    const [sni, single, edge] = await Promise.all([listener(`alb-${label}-sni`), listener(`alb-${label}-single`), listener(`alb-${label}-edge`)]);

    const shapes = [
      { name: `${label}-single`, domains: [`single.${zone}`], listener: single, mode: 'default' },
      { name: `${label}-multi`, domains: [`multi.${zone}`, `www.multi.${zone}`, `api.multi.${zone}`], listener: sni, mode: 'sni' },
      { name: `${label}-wild`, domains: [`wild.${zone}`, `*.wild.${zone}`], probe: `host.wild.${zone}`, listener: sni, mode: 'sni' },
      { name: `${label}-rsa`, domains: [`rsa.${zone}`], keyType: 'rsa-2048', listener: sni, mode: 'sni' },
      { name: `${label}-edge`, domains: [`edge.${zone}`], listener: edge, mode: 'default' },
    ];
    const certificates = shapes.map((shape) => ({ name: shape.name, domains: shape.domains, probe: shape.probe ?? shape.domains[0]!, port: shape.listener.port }));
    const configPath = writeConfigFile(join(workDir, `${label}.config.mjs`), `${acme.url}${new URL(stack.directoryUrl).pathname}`, {
      stateDir: join(workDir, `${label}-state`),
      // Sparse: only the daemon's own wake-ups keep the certificates renewed.
      schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
      metrics: { host: '127.0.0.1' },
      // The soak compresses a lifetime of days into a minute; AWS's request quotas compress with it. At ACM's
      // documented 1 ImportCertificate a second, five renewals due together would wait up to 4 s of a 60 s
      // lifetime (a renewal window of days, at real lifetimes): time the soak's margins are not about.
      aws: { region: 'us-east-1', requestRates: { 'acm:ImportCertificate': 20, 'acm:AddTagsToCertificate': 20, 'elbv2:mutating': 20 } },
      certificates: shapes.map((shape) => ({
        name: shape.name,
        domains: shape.domains,
        ...(shape.keyType && { keyType: shape.keyType }),
        acm: [{ region: 'us-east-1', listeners: [{ arn: shape.listener.arn, mode: shape.mode }] }],
        verify: [{ host: '127.0.0.1', port: shape.listener.port, sni: shape.probe ?? shape.domains[0] }],
        verifyTimeoutSeconds: 15,
      })),
    });
    // Pebble after a restart: the stack's own Pebble object keeps managing the first process only.
    let pebble: ManagedProcess = stack.pebble.process;
    const pebbleEnv = { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' };
    stoppers.push(() => pebble.stop());
    let restarts = 0;
    return {
      stopPebble: () => pebble.stop(),
      async restartPebble() {
        pebble = await startChildProcess({
          label: `pebble (${label}, restart ${++restarts})`,
          command: PEBBLE_BINARY,
          args: ['-config', join(dirname(stack.pebble.logPath), 'pebble-config.json'), '-dnsserver', `127.0.0.1:${stack.dnsPort}`],
          logPath: join(workDir, `${label}-pebble-restart${restarts}.log`),
          env: pebbleEnv,
        });
        await waitFor(async () => (await httpsGet(stack.pebble.directoryUrl, stack.caCertPath, 1_000)).status === 200, {
          label: `Pebble restarted at ${stack.pebble.directoryUrl}`,
          timeoutMs: 15_000,
        });
      },
      label,
      ari,
      lifetimeS,
      stack,
      aws,
      vault,
      acme,
      route53,
      certificates,
      configPath,
      metricsPort: await freePort(),
      env: { ...stack.env, AWS_ENDPOINT_URL: vault.endpoint, AWS_ENDPOINT_URL_ROUTE_53: route53.url },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
