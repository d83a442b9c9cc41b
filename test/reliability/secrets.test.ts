import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsListener } from '../stack/aws-fixtures.js';
import { writeTestCa } from '../stack/tls.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { findKeyMaterial } from './key-material.js';
import { eventsNamed, keepOutput, rememberSecret, runCli, watchCli } from './output-log.js';

/**
 * Secrets: no private key in a process's argument list, in status/plan output, or in a file others can
 * read; the state directory 0700 and its files 0600; the ACME TLS connection always verified. (Every
 * output of the suite is also scanned when it ends: secrets-global-setup.ts.)
 */

let rel: ReliabilityStack;
let listener: HttpsListener;
let path: string;
let stateDir: string;
const keys: string[] = [];

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('secrets.example');
  listener = await rel.aws.createHttpsListener({ name: 'alb-secrets' });
  stateDir = join(rel.workDir, 'state');
  path = writeConfig(rel, 'secrets.config.mjs', {
    stateDir,
    certificates: [{ name: 'www', domains: ['www.secrets.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] }],
  });
});

afterAll(async () => {
  await rel?.stop();
});

/** The process and all its descendants, from /proc. */
function processTree(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let index = 0; index < tree.length; index++) tree.push(...(parents.get(tree[index]!) ?? []));
  return tree;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    return entry.isDirectory() ? [full, ...walk(full)] : [full];
  });
}

describe('secrets', () => {
  it('while the key is in memory (held at the ACM import), no argument list of certkeeper or its children holds it', async () => {
    rel.awsProxy.add({ match: (call) => call.action === 'ImportCertificate', fault: { hold: true }, times: 1 });
    const renewal = watchCli(['renew', '--config', path], rel.env);
    const held = await rel.awsProxy.held('ImportCertificate', 120_000);
    const key = Buffer.from((JSON.parse(held.text) as { PrivateKey: string }).PrivateKey, 'base64').toString('utf8');
    keys.push(key);
    const tree = processTree(renewal.child.pid!);
    const argvs = tree.flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')];
      } catch {
        return [];
      }
    });
    expect(argvs.length).toBeGreaterThan(0);
    keepOutput('argument lists', argvs.join('\n'));
    for (const argv of argvs) expect(findKeyMaterial(argv, [key])).toEqual([]);
    rel.awsProxy.releaseHeld();
    const run = await renewal.done;
    expect(run.code, run.stderr).toBe(0);
    for (const output of [run.stdout, run.stderr]) expect(findKeyMaterial(output, [key])).toEqual([]);
  });

  it('status and plan print no key material', async () => {
    for (const command of ['status', 'plan']) {
      for (const format of [[], ['--json']]) {
        const run = await runCli([command, ...format, '--config', path], rel.env);
        expect(run.code, run.stderr).toBe(0);
        expect(findKeyMaterial(run.stdout + run.stderr, keys)).toEqual([]);
      }
    }
  });

  it('the state directory is 0700 with 0600 files; no file others can read holds key material', () => {
    const entries = walk(stateDir);
    const accountKeys = entries.filter((file) => file.includes('accounts') && statSync(file).isFile()).map((file) => JSON.parse(readFileSync(file, 'utf8')).accountKey as string);
    expect(accountKeys.length).toBeGreaterThan(0);
    for (const key of accountKeys) {
      keys.push(key);
      rememberSecret(key);
    }
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    for (const entry of entries) {
      const mode = statSync(entry).mode & 0o777;
      expect(`${entry} ${mode.toString(8)}`).toBe(`${entry} ${statSync(entry).isDirectory() ? '700' : '600'}`);
    }
    const readableByOthers = walk(rel.workDir).filter((file) => statSync(file).isFile() && (statSync(file).mode & 0o004) !== 0);
    expect(readableByOthers.length).toBeGreaterThan(0); // the config files: the scan below looks at something
    for (const file of readableByOthers) expect(findKeyMaterial(readFileSync(file, 'utf8'), keys), file).toEqual([]);
  });

  it('the ACME connection is verified: a CA whose HTTPS certificate is from an untrusted issuer is refused, clearly', async () => {
    const strangerDir = mkdtempSync(join(tmpdir(), 'certkeeper-untrusted-'));
    const stranger = await writeTestCa(strangerDir);
    const run = await runCli(['renew', '--force', '--ignore-rate-limits', '--config', path], { ...rel.env, NODE_EXTRA_CA_CERTS: stranger.caCertPath });
    rmSync(strangerDir, { recursive: true, force: true });
    expect(run.code).toBe(1);
    const error = String(eventsNamed(run.events, 'renewal.failed', 'www')[0]?.error);
    expect(error).toMatch(/presented a TLS certificate that is not trusted \([A-Z_]+: .+\); for a private CA set acme\.caCertificates/);
    expect(error).not.toMatch(/\n\s+at /);
    expect(eventsNamed(run.events, 'acme.order.created')).toEqual([]);
  });

  it('no ACME code path turns TLS verification off', () => {
    // (targets/served-certificate.ts reads what an endpoint serves without trusting it: that is its job.)
    const src = fileURLToPath(new URL('../../src/acme', import.meta.url));
    const offenders = walk(src)
      .filter((file) => file.endsWith('.ts'))
      .filter((file) => /rejectUnauthorized\s*:\s*false|NODE_TLS_REJECT_UNAUTHORIZED/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
