import { describe, expect, it } from 'vitest';
import type { StatusRow } from '../../src/agent/status.js';
import { escapeHtml, markup } from '../../src/cli/status-page/html.js';
import { CONTENT_SECURITY_POLICY, renderStatusPage } from '../../src/cli/status-page/render.js';
import { stateOf, statusPageView } from '../../src/cli/status-page/view.js';
import { RecentPasses } from '../../src/telemetry/recent-passes.js';
import { liveStatusPage } from '../../src/cli/status-page/live.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const DAY = 86_400_000;
const at = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();

function row(overrides: Partial<StatusRow> = {}): StatusRow {
  return {
    name: 'web',
    domains: ['www.example.com'],
    serial: 'abc123',
    notBefore: at(-30),
    notAfter: at(60),
    daysLeft: 60,
    acm: [{ region: 'us-east-1', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/one' }],
    action: 'none',
    reasons: ['not due: renewal window opens at ...'],
    checks: [],
    renewAt: at(30),
    window: { source: 'backstop', start: at(30), end: at(45) },
    ari: { status: 'not-offered' },
    consecutiveFailures: 0,
    lastRenewal: { at: at(-30), serial: 'abc123', notAfter: at(60) },
    lastError: null,
    lastErrorAt: null,
    nextAttemptAt: null,
    served: [],
    lock: null,
    ...overrides,
  };
}

/** The page's text with tags removed and entities decoded, as a reader sees it (roughly). */
function sectionOf(page: string, name: string): string {
  const start = page.indexOf(`data-name="${escapeHtml(name)}"`);
  expect(start, `no section for ${name}`).toBeGreaterThan(0);
  return page.slice(start, page.indexOf('</section>', start));
}

describe('status page state of a certificate', () => {
  it('is expired, failing, due or healthy, in that precedence, from what status computed', () => {
    expect(stateOf(row(), NOW).state).toBe('healthy');
    expect(stateOf(row({ action: 'renew' }), NOW).state).toBe('due');
    expect(stateOf(row({ action: 'redeploy' }), NOW).state).toBe('due');
    expect(stateOf(row({ notBefore: null, notAfter: null, serial: null, action: 'renew' }), NOW)).toEqual({ state: 'due', why: 'nothing deployed yet: the next pass issues it' });
    expect(stateOf(row({ action: 'renew', consecutiveFailures: 2, lastError: 'no hosted zone' }), NOW)).toEqual({ state: 'failing', why: '2 failed attempts in a row' });
    expect(stateOf(row({ error: 'cannot read ACM' }), NOW).state).toBe('failing');
    expect(stateOf(row({ notAfter: at(-1), action: 'renew', consecutiveFailures: 3 }), NOW).state).toBe('expired');
    // Recovered: the last error is history, not a state.
    expect(stateOf(row({ lastError: 'timed out', lastErrorAt: at(-2) }), NOW).state).toBe('healthy');
  });
});

describe('renderStatusPage', () => {
  it('shows each certificate with its state as class and as text, its timeline, where it is deployed and its last renewal', () => {
    const rows = [
      row({
        acm: [
          {
            region: 'eu-west-1',
            certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/eu',
            listeners: [{ arn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/1/2', mode: 'default', carries: true }],
          },
          {
            region: 'us-east-1',
            certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/cf',
            attachments: [{ kind: 'CloudFront distribution', id: 'E2QWRUHAPOMQZL', carries: false }],
          },
        ],
      }),
      row({ name: 'soon', action: 'renew', renewAt: NOW.toISOString(), window: { source: 'ari', start: at(-1), end: at(2) } }),
    ];
    const page = renderStatusPage(statusPageView(rows, { now: NOW, version: '9.9.9', source: 'report' }));

    const web = sectionOf(page, 'web');
    expect(web).toContain('data-state="healthy"');
    expect(web).toContain('<span class="badge">healthy</span>');
    expect(web).toContain('issued 2026-05-02 12:00:00 UTC');
    expect(web).toContain('renewal window 2026-07-01 12:00:00 UTC → 2026-07-16 12:00:00 UTC');
    expect(web).toContain('renewal 2026-07-01 12:00:00 UTC (in 30.0 days)');
    expect(web).toContain('expires 2026-07-31 12:00:00 UTC (in 60.0 days)');
    // Timeline from issued (0 %) to expiry (100 %): now at a third, the window from two thirds to five sixths.
    expect(web).toContain('class="marker now" style="left:33.33%"');
    expect(web).toContain('class="window window-backstop" style="left:66.67%;width:16.67%"');
    expect(web).toContain('listener (default) <span class="arn">arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/1/2</span>: uses it');
    expect(web).toContain('CloudFront distribution <span class="arn">E2QWRUHAPOMQZL</span>: <strong>does not use it</strong>');
    expect(web).toContain('Last renewal</dt><dd class="last-renewal">2026-05-02 12:00:00 UTC (30.0 days ago): serial abc123');
    expect(web).toContain('Last error</dt><dd class="last-error">none</dd>');

    const soon = sectionOf(page, 'soon');
    expect(soon).toContain('data-state="due"');
    expect(soon).toContain('ARI window (the CA’s)');
    expect(soon).toContain('renewal now');
    expect(page).toContain('<span class="count" data-state="healthy">1</span>');
    expect(page).toContain('<span class="count" data-state="due">1</span>');
    // A report cannot show past passes' events, and says where they are.
    expect(page).toContain('The audit events of past passes are in the audit log');
  });

  it('loads nothing and runs nothing: a strict Content-Security-Policy, no script, no external URL', () => {
    const page = renderStatusPage(statusPageView([row()], { now: NOW, version: '1', source: 'run', passes: [] }), { refreshSeconds: 30 });
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="${escapeHtml(CONTENT_SECURITY_POLICY)}">`);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(page).toContain('<meta http-equiv="refresh" content="30">');
    expect(page).not.toMatch(/<script|<link rel="stylesheet"|@import|url\(|src=/i);
    expect(page.match(/https?:\/\//g)).toBeNull();
  });

  it('escapes every value from the config, AWS and the CA (an XSS-ish name, error, ARN and event)', () => {
    const evil = `<img src=x onerror="alert(1)">'&`;
    const passes = new RecentPasses();
    passes.record({ level: 'error', event: 'renewal.failed', fields: { runId: 'r1', certificate: evil, error: `</td><script>alert(2)</script>` } }, NOW);
    const page = renderStatusPage(
      statusPageView(
        [
          row({
            name: evil,
            domains: [`${evil}.example`],
            consecutiveFailures: 1,
            lastError: `CA said <script>alert(3)</script>`,
            lastErrorAt: at(-1),
            reasons: [evil],
            acm: [{ region: 'us-east-1', certificateArn: evil, listeners: [{ arn: evil, mode: 'sni', carries: false, error: evil }] }],
            served: [{ endpoint: evil, matches: false, error: evil }],
          }),
        ],
        { now: NOW, version: '1', source: 'run', passes: passes.passes() },
      ),
    );
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<script');
    expect(page).not.toContain('onerror="');
    expect(page).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;&#39;&#38;');
    expect(page).toContain('CA said &#60;script&#62;alert(3)&#60;/script&#62;');
    expect(page).toContain('data-state="failing"');
  });

  it('lists the events of the last passes for run, newest pass first', () => {
    const passes = new RecentPasses();
    passes.record({ level: 'info', event: 'pass.started', fields: { runId: 'first' } }, NOW);
    passes.record({ level: 'info', event: 'pass.started', fields: { runId: 'second' } }, NOW);
    passes.record({ level: 'warn', event: 'renewal.skipped', fields: { runId: 'second', certificate: 'web', why: 'locked' } }, NOW);
    const page = renderStatusPage(statusPageView([row()], { now: NOW, version: '1', source: 'run', passes: passes.passes() }));
    expect(page.indexOf('data-run-id="second"')).toBeLessThan(page.indexOf('data-run-id="first"'));
    expect(page).toContain(
      '<tr class="level-warn"><td>2026-06-01 12:00:00 UTC</td><td>warn</td><td class="event">renewal.skipped</td><td>web</td><td class="details">{&#34;why&#34;:&#34;locked&#34;}</td></tr>',
    );
  });

  it('says when nothing is deployed instead of drawing a timeline', () => {
    const page = renderStatusPage(
      statusPageView([row({ serial: null, notBefore: null, notAfter: null, daysLeft: null, action: 'renew', renewAt: null, window: null, lastRenewal: null })], {
        now: NOW,
        version: '1',
        source: 'report',
      }),
    );
    expect(page).toContain('No certificate deployed yet.');
    expect(page).not.toContain('class="timeline"');
  });
});

describe('liveStatusPage', () => {
  it('reads the fleet at most once per interval whatever the requests, always with the latest passes, and reads again after a failed read', async () => {
    let clock = NOW.getTime();
    let reads = 0;
    let fail = false;
    const recent = new RecentPasses();
    const live = liveStatusPage(
      () => {
        reads += 1;
        return fail ? Promise.reject(new Error('ACM unreachable')) : Promise.resolve([row()]);
      },
      recent,
      () => new Date(clock),
      10_000,
    );
    const [first, second] = await Promise.all([live.render(), live.render()]);
    expect(reads).toBe(1);
    expect(first).toBe(second);
    recent.record({ level: 'info', event: 'pass.started', fields: { runId: 'later' } }, NOW);
    expect(await live.render()).toContain('data-run-id="later"');
    expect(reads).toBe(1);
    clock += 10_000;
    fail = true;
    await expect(live.render()).rejects.toThrow('ACM unreachable');
    fail = false;
    expect(await live.render()).toContain('data-name="web"');
    expect(reads).toBe(3);
    expect(live.contentSecurityPolicy).toBe(CONTENT_SECURITY_POLICY);
  });
});

describe('RecentPasses', () => {
  it('keeps the events of the last passes only, bounded in passes and in events, without debug events or events outside a pass', () => {
    const recent = new RecentPasses({ passes: 2, events: 5 });
    recent.record({ level: 'info', event: 'daemon.started', fields: {} });
    recent.record({ level: 'debug', event: 'dns.lookup', fields: { runId: 'a' } });
    for (const runId of ['a', 'b', 'c']) for (let i = 0; i < 2; i += 1) recent.record({ level: 'info', event: `e${i}`, fields: { runId } });
    expect(recent.passes().map((pass) => [pass.runId, pass.events.map((event) => event.event)])).toEqual([
      ['c', ['e0', 'e1']],
      ['b', ['e0', 'e1']],
    ]);
    for (let i = 2; i < 6; i += 1) recent.record({ level: 'info', event: `e${i}`, fields: { runId: 'c' } });
    const [c, b] = recent.passes();
    expect(b).toMatchObject({ runId: 'b', events: [], dropped: 2 });
    expect(c!.events.map((event) => event.event)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(c!.dropped).toBe(1);
  });

  it('cuts long details and leaves out empty fields', () => {
    const recent = new RecentPasses();
    recent.record({ level: 'info', event: 'x', fields: { runId: 'r', certificate: 'web', big: 'y'.repeat(5000), none: null } });
    const [event] = recent.passes()[0]!.events;
    expect(event!.certificate).toBe('web');
    expect(event!.details.length).toBe(600);
    expect(event!.details).not.toContain('none');
  });
});

describe('markup template', () => {
  it('escapes interpolations but not nested templates', () => {
    expect(markup`<p>${'<b>'}${markup`<i>${'&'}</i>`}${['<', markup`<br>`]}${null}${false}${0}</p>`.text).toBe('<p>&#60;b&#62;<i>&#38;</i>&#60;<br>0</p>');
  });
});
