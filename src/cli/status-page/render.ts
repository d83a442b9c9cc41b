import { markup, type SafeHtml } from './html.js';
import type { CertificateState, CertificateView, DeploymentView, StatusPageView, TimelineView } from './view.js';
import type { RecentPass } from '../../telemetry/recent-passes.js';
import { STATUS_PAGE_CSS } from './style.js';
import { formatTime, relative } from './format.js';

/**
 * The status page as one self-contained HTML document: inline CSS, CSS bars for the timelines, no script
 * and nothing loaded from anywhere (the Content-Security-Policy forbids it, so even an injected tag could
 * not fetch). A pure function of the view: the same view gives the same page.
 */
export function renderStatusPage(view: StatusPageView, options: { refreshSeconds?: number } = {}): string {
  const counts = countStates(view.certificates);
  const page = markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
${options.refreshSeconds ? markup`<meta http-equiv="refresh" content="${options.refreshSeconds}">\n` : ''}<title>certkeeper status</title>
<link rel="icon" href="data:,">
<style>${STATUS_PAGE_CSS}</style>
</head>
<body>
<header>
<h1>certkeeper status</h1>
<p class="meta">${view.source === 'run' ? 'Live page of certkeeper run' : 'Written by certkeeper report'} · generated ${formatTime(view.generatedAt)} · certkeeper ${view.version}</p>
<ul class="summary" aria-label="certificates by state">${STATES.map((state) => markup`<li class="state-${state}"><span class="badge">${state}</span> <span class="count" data-state="${state}">${counts[state]}</span></li>`)}</ul>
</header>
<main>
${view.certificates.length === 0 ? markup`<p>No certificates in the config.</p>` : view.certificates.map((certificate) => certificateSection(certificate, view.generatedAt))}
${passesSection(view)}
</main>
</body>
</html>
`;
  return page.text;
}

/** What the page may load: nothing but its own inline style (and the empty data: icon). */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STATES: CertificateState[] = ['healthy', 'due', 'failing', 'expired'];

function countStates(certificates: CertificateView[]): Record<CertificateState, number> {
  const counts: Record<CertificateState, number> = { healthy: 0, due: 0, failing: 0, expired: 0 };
  for (const certificate of certificates) counts[certificate.state] += 1;
  return counts;
}

function certificateSection(certificate: CertificateView, now: string): SafeHtml {
  return markup`<section class="certificate state-${certificate.state}" data-name="${certificate.name}" data-state="${certificate.state}">
<h2><span class="name">${certificate.name}</span> <span class="badge">${certificate.state}</span></h2>
<p class="why">${certificate.stateWhy}</p>
<p class="domains">${certificate.domains.join(', ')}</p>
${certificate.timeline ? timeline(certificate.timeline) : markup`<p class="no-timeline">No certificate deployed yet.</p>`}
<dl class="facts">
<dt>Serial</dt><dd>${certificate.serial ?? '-'}${certificate.daysLeft === null || certificate.state === 'expired' ? '' : markup` (${certificate.daysLeft.toFixed(1)} days left)`}</dd>
<dt>Next action</dt><dd class="action">${certificate.action}</dd>
<dt>ARI</dt><dd>${certificate.ari}</dd>
<dt>Last renewal</dt><dd class="last-renewal">${certificate.lastRenewal ? markup`${formatTime(certificate.lastRenewal.at)} (${relative(certificate.lastRenewal.at, now)}): serial ${certificate.lastRenewal.serial}, valid until ${formatTime(certificate.lastRenewal.notAfter)}` : 'none recorded'}</dd>
<dt>Last error</dt><dd class="last-error">${certificate.lastError ? markup`${certificate.lastError.at ? markup`${formatTime(certificate.lastError.at)}: ` : ''}<span class="error">${certificate.lastError.error}</span>${certificate.consecutiveFailures > 0 ? markup` (${certificate.consecutiveFailures} in a row${certificate.nextAttemptAt ? markup`; next attempt ${formatTime(certificate.nextAttemptAt)}` : ''})` : ' (recovered since)'}` : 'none'}</dd>
</dl>
${deployments(certificate.deployments)}
${certificate.served.length > 0 ? markup`<ul class="served">${certificate.served.map((entry) => markup`<li>served by ${entry.endpoint}: ${entry.error ?? markup`serial ${entry.serial ?? '-'}`}${entry.matches ? '' : markup` <strong>(not the deployed certificate)</strong>`}</li>`)}</ul>` : ''}
${certificate.reasons.length > 0 ? markup`<details><summary>Why (${certificate.reasons.length})</summary><ul>${certificate.reasons.map((reason) => markup`<li>${reason}</li>`)}</ul></details>` : ''}
</section>
`;
}

/**
 * A bar from issued to expiry (stretched to now when now is past it), with the renewal window shaded and
 * markers for now and the chosen renewal moment; the same moments are listed as text beneath it.
 */
function timeline(line: TimelineView): SafeHtml {
  const moments = [line.issued, line.expires, line.now, line.renewAt, line.window?.start, line.window?.end].filter((m): m is string => Boolean(m)).map(Date.parse);
  const from = Math.min(...moments);
  const to = Math.max(...moments);
  const percent = (iso: string) => (to > from ? ((Date.parse(iso) - from) / (to - from)) * 100 : 0);
  const at = (iso: string) => percent(iso).toFixed(2);
  const span = (start: string, end: string) => `left:${at(start)}%;width:${(percent(end) - percent(start)).toFixed(2)}%`;
  const windowLabel = line.window ? (line.window.source === 'ari' ? 'ARI window (the CA’s)' : 'renewal window') : '';
  return markup`<div class="timeline" role="img" aria-label="issued ${line.issued}, now ${line.now}, expires ${line.expires}">
<div class="track">
<div class="valid" style="${span(line.issued, line.expires)}"></div>
${line.window ? markup`<div class="window window-${line.window.source}" style="${span(line.window.start, line.window.end)}" title="${windowLabel}"></div>` : ''}
${line.renewAt ? markup`<div class="marker renew" style="left:${at(line.renewAt)}%" title="chosen renewal moment"></div>` : ''}
<div class="marker now" style="left:${at(line.now)}%" title="now"></div>
</div>
<ol class="moments">
<li><span class="key issued"></span>issued ${formatTime(line.issued)}</li>
<li><span class="key now"></span>now ${formatTime(line.now)}</li>
${line.window ? markup`<li><span class="key window-${line.window.source}"></span>${windowLabel} ${formatTime(line.window.start)} → ${formatTime(line.window.end)}</li>` : ''}
${line.renewAt ? markup`<li><span class="key renew"></span>renewal ${line.renewAt === line.now ? 'now' : markup`${formatTime(line.renewAt)} (${relative(line.renewAt, line.now)})`}</li>` : ''}
<li><span class="key expires"></span>expires ${formatTime(line.expires)} (${relative(line.expires, line.now)})</li>
</ol>
</div>`;
}

function deployments(list: DeploymentView[]): SafeHtml {
  return markup`<table class="deployments">
<thead><tr><th>Region</th><th>ACM certificate</th><th>Used by</th></tr></thead>
<tbody>${list.map(
    (deployment) =>
      markup`<tr><td class="region">${deployment.region}</td><td class="arn">${deployment.certificateArn ?? '(none)'}</td><td>${
        deployment.places.length === 0
          ? '-'
          : markup`<ul class="places">${deployment.places.map(
              (place) =>
                markup`<li>${place.kind}${place.role ? markup` (${place.role})` : ''} <span class="arn">${place.id}</span>: ${
                  place.error ? markup`<span class="error">cannot be read: ${place.error}</span>` : place.carries ? 'uses it' : markup`<strong>does not use it</strong>`
                }</li>`,
            )}</ul>`
      }</td></tr>`,
  )}</tbody>
</table>`;
}

function passesSection(view: StatusPageView): SafeHtml {
  if (!view.passes)
    return markup`<section class="passes"><h2>Recent passes</h2>
<p class="note">A page written by <code>certkeeper report</code> shows what the store keeps: each certificate's last renewal and last failure, above. The audit events of past passes are in the audit log (stderr of <code>certkeeper run</code>), not in the store; the live page of <code>certkeeper run</code> at <code>/status</code> lists the events of its last passes.</p>
</section>`;
  return markup`<section class="passes"><h2>Recent passes</h2>
${view.passes.length === 0 ? markup`<p class="note">No pass has logged anything since this process started.</p>` : view.passes.map(passTable)}
</section>`;
}

function passTable(pass: RecentPass): SafeHtml {
  return markup`<details class="pass" open data-run-id="${pass.runId}"><summary>Pass ${pass.runId} · from ${formatTime(pass.firstAt)} · ${pass.events.length} events${pass.dropped > 0 ? markup` (${pass.dropped} older ones dropped)` : ''}</summary>
<table class="events"><thead><tr><th>Time</th><th>Level</th><th>Event</th><th>Certificate</th><th>Details</th></tr></thead>
<tbody>${pass.events.map((event) => markup`<tr class="level-${event.level}"><td>${formatTime(event.time)}</td><td>${event.level}</td><td class="event">${event.event}</td><td>${event.certificate ?? ''}</td><td class="details">${event.details}</td></tr>`)}</tbody>
</table></details>`;
}
