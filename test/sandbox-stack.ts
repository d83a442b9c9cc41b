/**
 * The sandbox's local stack, shared by `npm run sandbox` (test/sandbox.ts: one renewal, then stop) and
 * `npm run stack` (test/stack-up.ts: kept up for the CLI by hand). Pebble behind its ARI double (so the CA
 * behaves like Let's Encrypt, RFC 9773), moto, the DNS server; a hosted zone example.com and an HTTPS
 * load balancer serving a placeholder certificate; a fresh state directory; and the environment that
 * test/sandbox.config.ts reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The AWS SDK's multi-line Node 20 notice is noise here; set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { awsFixtures } = await import('./stack/aws-fixtures.js');
const { startStack } = await import('./stack/stack.js');

export const SANDBOX_CONFIG = fileURLToPath(new URL('sandbox.config.ts', import.meta.url));

export interface SandboxStack {
  /** What a certkeeper process needs: the stack's AWS/CA settings and the CERTKEEPER_SANDBOX_* values. */
  env: Record<string, string>;
  aws: ReturnType<typeof awsFixtures>;
  zoneId: string;
  listenerArn: string;
  placeholderCertificateArn: string;
  directoryUrl: string;
  motoEndpoint: string;
  dnsPort: number;
  startupMs: number;
  stop(): Promise<void>;
}

export async function startSandboxStack(): Promise<SandboxStack> {
  const stack = await startStack({ acmeProxy: true });
  const stateDir = mkdtempSync(join(tmpdir(), 'certkeeper-sandbox-'));
  const stop = async () => {
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const aws = awsFixtures(stack.motoEndpoint);
    const zoneId = await aws.createHostedZone('example.com');
    const { listenerArn, placeholderCertificateArn } = await aws.createHttpsListener({ name: 'web' });
    return {
      env: {
        ...stack.env,
        CERTKEEPER_SANDBOX_DIRECTORY_URL: stack.directoryUrl,
        // The local CA for `renew --dry-run`: Pebble's own directory, beside the ARI double in front of it (a distinct URL, so its own account).
        CERTKEEPER_SANDBOX_STAGING_DIRECTORY_URL: stack.pebble.directoryUrl,
        CERTKEEPER_SANDBOX_LISTENER_ARN: listenerArn,
        CERTKEEPER_SANDBOX_STATE_DIR: stateDir,
      },
      aws,
      zoneId,
      listenerArn,
      placeholderCertificateArn,
      directoryUrl: stack.directoryUrl,
      motoEndpoint: stack.motoEndpoint,
      dnsPort: stack.dnsPort,
      startupMs: stack.startupMs,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
