import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ImportCertificateCommand } from '@aws-sdk/client-acm';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { freePort } from '../stack/ports.js';
import { startStack, type Stack } from '../stack/stack.js';
import { selfSignedCertificate } from '../stack/tls.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, exitWithin, runCli, watchCli, type WatchedCli } from './cli.js';

/**
 * The status page in a real browser (Debian's Chromium driven by playwright-core, which downloads
 * nothing): after a renewal on the local stack, `report --html` and the `/status` of a `run` daemon show
 * each certificate in the state it is in, where it is deployed and what its passes logged, and the
 * page loads nothing from anywhere.
 */

const DAY = 86_400_000;
// Only the Debian package: Playwright's own browser downloads are neither wanted nor reachable.
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT_IN_DOCS = fileURLToPath(new URL('../../docs/images/status-page.png', import.meta.url));

let stack: Stack;
let aws: AwsFixtures;
let browser: BrowserContext;
let workDir: string;
let config: string;
let listener: HttpsListener;
let goneAt: Date;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-status-page-'));
  const started = Promise.all([startStack({ preloadEc2: true }), launchChromium(join(workDir, 'chromium-profile'))]);
  [stack, browser] = await started;
  aws = awsFixtures(stack.motoEndpoint);
  await aws.createHostedZone('statuspage.example');
  listener = await aws.createHttpsListener({ name: 'alb-status' });
  // Deployed by hand: one with 2 days left of 20 (due), one that expires in seconds (ACM refuses to
  // import an expired one) and whose name has no hosted zone, so nothing can renew it.
  goneAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_000);
  const [soon, gone] = await Promise.all([
    selfSignedCertificate('due.statuspage.example', undefined, { notBefore: new Date(Date.now() - 18 * DAY), notAfter: new Date(Date.now() + 2 * DAY) }),
    selfSignedCertificate('gone.nozone.example', undefined, { notBefore: new Date(Date.now() - 30 * DAY), notAfter: goneAt }),
  ]);
  const [dueArn, goneArn] = await Promise.all(
    [soon, gone].map(
      async (pair) =>
        (await aws.acm().send(new ImportCertificateCommand({ Certificate: Buffer.from(pair.certificatePem), PrivateKey: Buffer.from(pair.privateKeyPem) }))).CertificateArn!,
    ),
  );
  config = writeConfigFile(join(workDir, 'status.config.mjs'), stack.directoryUrl, {
    stateDir: join(workDir, 'state'),
    // No scheduled pass during the test: the daemon's start-up pass is the one the page shows.
    schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
    certificates: [
      { name: 'web', domains: ['www.statuspage.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] },
      { name: 'due', domains: ['due.statuspage.example'], acm: [{ region: 'us-east-1', certificateArn: dueArn }] },
      { name: 'broken', domains: ['broken.nozone.example'], acm: [{ region: 'us-east-1' }] },
      { name: 'expired', domains: ['gone.nozone.example'], acm: [{ region: 'us-east-1', certificateArn: goneArn }] },
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function launchChromium(profile: string): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run npm run setup (it installs Debian's chromium), or apt-get install chromium`);
  mkdirSync(profile);
  // A fresh profile, and none of Chromium's own traffic (updates, sync, field trials): the closed network refuses it.
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens `url` and returns the page and every URL it requested (the document itself only, if nothing else was loaded). */
async function open(url: string): Promise<{ page: Page; requested: string[]; headers: Record<string, string> }> {
  const page = await browser.newPage();
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  const response = await page.goto(url);
  expect(response?.status()).toBe(200);
  await page.waitForLoadState('load');
  return { page, requested, headers: response!.headers() };
}

/** Each certificate's section as the browser rendered it: its state (class and badge text) and its visible text. */
async function renderedCertificates(page: Page): Promise<Record<string, { state: string | null; classes: string; badge: string; text: string }>> {
  const sections = await page.locator('section.certificate').all();
  const entries = await Promise.all(
    sections.map(async (section) => {
      const name = await section.locator('h2 .name').innerText();
      return [
        name,
        {
          state: await section.getAttribute('data-state'),
          classes: (await section.getAttribute('class')) ?? '',
          badge: (await section.locator('h2 .badge').innerText()).toLowerCase(),
          text: await section.innerText(),
        },
      ] as const;
    }),
  );
  return Object.fromEntries(entries);
}

describe('status page', () => {
  let webSerial: string;

  it('report --html: after a renewal, each certificate of the stack in its state, where it is deployed, its last renewal and error; nothing loaded', async () => {
    const renewed = await runCli(['renew', 'web', 'broken', 'expired', '--config', config], stack.env);
    expect(renewed.code, renewed.stderr).toBe(1); // two names have no hosted zone
    webSerial = eventsNamed(renewed.events, 'renewal.succeeded', 'web')[0]!.serial as string;

    // The renewal took about as long; the page must find `expired` past its expiry.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, goneAt.getTime() - Date.now() + 100)));
    const file = join(workDir, 'status.html');
    const report = await runCli(['report', '--config', config, '--html', file], stack.env);
    // As `status`: 1 while a certificate cannot be renewed.
    expect(report.code, report.stderr).toBe(1);
    expect(report.stdout).toBe(`wrote ${file}: 4 certificates (1 healthy, 1 due, 1 failing, 1 expired)\n`);

    const { page, requested } = await open(pathToFileURL(file).href);
    expect(requested).toEqual([pathToFileURL(file).href]);
    const shown = await renderedCertificates(page);
    expect(Object.keys(shown)).toEqual(['web', 'due', 'broken', 'expired']);
    for (const [name, state] of Object.entries({ web: 'healthy', due: 'due', broken: 'failing', expired: 'expired' })) {
      expect(shown[name], name).toMatchObject({ state, badge: state });
      expect(shown[name]!.classes.split(' '), name).toContain(`state-${state}`);
    }
    expect(shown.web!.text).toContain(listener.listenerArn);
    expect(shown.web!.text).toMatch(new RegExp(`Last renewal\\s+\\S+ \\S+ UTC \\(\\d+ (s|min) ago\\): serial ${webSerial}`));
    expect(shown.web!.text).toMatch(/renewal window .+ → .+/);
    expect(shown.broken!.text).toMatch(/Last error\s+.+hosted zone/);
    expect(shown.broken!.text).toContain('No certificate deployed yet.');
    expect(shown.due!.text).toContain('renewal now');
    expect(await page.locator('.passes .note').innerText()).toContain('not in the store');

    await page.screenshot({ path: process.env.CERTKEEPER_UPDATE_SCREENSHOTS === '1' ? SCREENSHOT_IN_DOCS : join(workDir, 'status-page.png'), fullPage: true });
    await page.close();
  });

  it('/status of run: the same page, live, after the daemon’s pass, with that pass’s audit events', async () => {
    const port = await freePort();
    const daemon: WatchedCli = watchCli(['run', '--config', config, '--metrics-port', String(port), '--metrics-host', '127.0.0.1'], stack.env);
    try {
      const finished = await daemon.waitFor('pass.finished');
      const url = `http://127.0.0.1:${port}/status`;
      const { page, requested, headers } = await open(url);
      expect(headers['content-security-policy']).toContain("default-src 'none'");
      expect(requested).toEqual([url]);
      const shown = await renderedCertificates(page);
      // The pass renewed `due`; the two without a hosted zone failed again.
      expect(eventsNamed(daemon.events, 'renewal.succeeded', 'due')).toHaveLength(1);
      for (const [name, state] of Object.entries({ web: 'healthy', due: 'healthy', broken: 'failing', expired: 'expired' })) {
        expect(shown[name], name).toMatchObject({ state, badge: state });
      }
      expect(shown.web!.text).toContain(`serial ${webSerial}`);
      const pass = page.locator(`.passes details[data-run-id="${finished.runId}"]`);
      const events = await pass.locator('td.event').allInnerTexts();
      expect(events).toEqual(expect.arrayContaining(['pass.started', 'renewal.succeeded', 'renewal.failed', 'pass.finished']));
      await page.close();
    } finally {
      daemon.child.kill('SIGTERM');
      const { code, stderr } = await exitWithin(daemon, 15_000);
      expect(code, stderr).toBe(0);
    }
  });
});
