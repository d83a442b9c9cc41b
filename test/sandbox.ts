/**
 * `npm run sandbox`: the whole of certkeeper on this machine, nothing in the cloud. Starts Pebble (the
 * ACME test CA, behind a double that adds renewal information), moto (AWS) and a DNS server for Pebble; creates a hosted zone, a VPC and an HTTPS load
 * balancer; runs `certkeeper renew` with the repository's renewal.config.ts, then `certkeeper status`
 * and `certkeeper renew --dry-run`; stops everything.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The AWS SDK's multi-line Node 20 notice is noise here; set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { awsFixtures } = await import('./stack/aws-fixtures.js');
const { startStack } = await import('./stack/stack.js');

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'certkeeper');
const config = join(root, 'renewal.config.ts');

function certkeeper(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write(`\n$ certkeeper ${args.join(' ')}\n`);
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  process.stdout.write('Starting the local stack: Pebble, moto, DNS…\n');
  // The CA-side ARI double in front of Pebble, so the sandbox's CA behaves like Let's Encrypt (RFC 9773).
  const stack = await startStack({ acmeProxy: true });
  const stateDir = mkdtempSync(join(tmpdir(), 'certkeeper-sandbox-'));
  try {
    process.stdout.write(`  ACME directory ${stack.directoryUrl}, AWS ${stack.motoEndpoint}, DNS 127.0.0.1:${stack.dnsPort} (${stack.startupMs} ms)\n`);
    const aws = awsFixtures(stack.motoEndpoint);
    const zoneId = await aws.createHostedZone('example.com');
    const { listenerArn, placeholderCertificateArn } = await aws.createHttpsListener({ name: 'web' });
    process.stdout.write(`  hosted zone example.com (${zoneId}); listener ${listenerArn}\n  serving placeholder ${placeholderCertificateArn}\n`);

    const env = {
      ...stack.env,
      CERTKEEPER_SANDBOX_DIRECTORY_URL: stack.directoryUrl,
      // The local CA for `renew --dry-run`: Pebble's own directory, beside the ARI double in front of it (a distinct URL, so its own account).
      CERTKEEPER_SANDBOX_STAGING_DIRECTORY_URL: stack.pebble.directoryUrl,
      CERTKEEPER_SANDBOX_LISTENER_ARN: listenerArn,
      CERTKEEPER_SANDBOX_STATE_DIR: stateDir,
    };
    const renewed = await certkeeper(['renew', '--config', config], env);
    const status = await certkeeper(['status', '--config', config], env);
    // The whole path again against the staging CA (here Pebble itself), changing nothing that is served.
    const dryRun = await certkeeper(['renew', '--dry-run', '--config', config], env);

    const served = await aws.describeListenerCertificates(listenerArn);
    const leftover = await aws.listAcmeChallengeRecords();
    process.stdout.write(
      `\nListener default certificate: ${served.defaultArn}${served.defaultArn === placeholderCertificateArn ? ' (still the placeholder!)' : ''}\n` +
        `Challenge records left in Route 53: ${leftover.length}\n`,
    );
    const ok = renewed === 0 && status === 0 && dryRun === 0 && served.defaultArn !== placeholderCertificateArn && leftover.length === 0;
    process.stdout.write(ok ? 'Sandbox OK: issued, imported into ACM, on the listener; the dry run against the staging CA passed.\n' : 'Sandbox FAILED: see above.\n');
    return ok ? 0 : 1;
  } finally {
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`sandbox: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
