/**
 * `npm run sandbox`: the whole of certkeeper on this machine, nothing in the cloud. Starts the local stack
 * (test/sandbox-stack.ts), runs `certkeeper renew` with test/sandbox.config.ts, then `certkeeper status`,
 * then `certkeeper renew --dry-run` against the staging CA (Pebble itself), checks the listener serves the new
 * certificate and no challenge record is left; stops everything.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANDBOX_CONFIG, startSandboxStack } from './sandbox-stack.js';

const bin = join(fileURLToPath(new URL('..', import.meta.url)), 'bin', 'certkeeper');

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
  const sandbox = await startSandboxStack();
  try {
    const { aws, listenerArn, placeholderCertificateArn } = sandbox;
    process.stdout.write(
      `  ACME directory ${sandbox.directoryUrl}, AWS ${sandbox.motoEndpoint}, DNS 127.0.0.1:${sandbox.dnsPort} (${sandbox.startupMs} ms)\n` +
        `  hosted zone example.com (${sandbox.zoneId}); listener ${listenerArn}\n  serving placeholder ${placeholderCertificateArn}\n`,
    );
    const renewed = await certkeeper(['renew', '--config', SANDBOX_CONFIG], sandbox.env);
    const status = await certkeeper(['status', '--config', SANDBOX_CONFIG], sandbox.env);
    // The whole path again against the staging CA (here Pebble itself), changing nothing that is served.
    const dryRun = await certkeeper(['renew', '--dry-run', '--config', SANDBOX_CONFIG], sandbox.env);

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
    await sandbox.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`sandbox: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
