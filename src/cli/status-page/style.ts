/**
 * The page's only stylesheet, inlined: system fonts (no web fonts), a colour per state that is always
 * paired with the state's name in text, and colours with enough contrast on white.
 */
export const STATUS_PAGE_CSS = `
:root { --healthy: #1a7f37; --due: #9a6700; --failing: #cf222e; --expired: #6e1a1a; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 4px; display: flex; align-items: center; gap: 8px; }
.meta, .why, .domains, .note { color: var(--muted); margin: 2px 0; }
.summary { list-style: none; padding: 0; display: flex; gap: 16px; margin: 8px 0 16px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
.state-healthy .badge { background: var(--healthy); }
.state-due .badge { background: var(--due); }
.state-failing .badge { background: var(--failing); }
.state-expired .badge { background: var(--expired); }
.certificate { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 0 0 12px; }
.certificate.state-healthy { border-left-color: var(--healthy); }
.certificate.state-due { border-left-color: var(--due); }
.certificate.state-failing { border-left-color: var(--failing); }
.certificate.state-expired { border-left-color: var(--expired); }
.timeline { margin: 10px 0; }
.track { position: relative; height: 18px; background: #eaeef2; border-radius: 4px; }
.valid { position: absolute; top: 0; bottom: 0; background: #b6e3c3; border-radius: 4px; }
.state-expired .valid { background: #e6c3c3; }
.window { position: absolute; top: 0; bottom: 0; background: repeating-linear-gradient(45deg, #f2cc60, #f2cc60 4px, #f8e3a3 4px, #f8e3a3 8px); }
.marker { position: absolute; top: -4px; bottom: -4px; width: 3px; margin-left: -1px; }
.marker.now { background: var(--ink); }
.marker.renew { background: #0969da; }
.moments { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 4px 18px; color: var(--muted); font-size: 13px; }
.key { display: inline-block; width: 10px; height: 10px; margin-right: 5px; border-radius: 2px; vertical-align: -1px; }
.key.issued, .key.expires { background: #b6e3c3; }
.key.now { background: var(--ink); }
.key.renew { background: #0969da; }
.key.window-ari, .key.window-backstop { background: #f2cc60; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.error { color: var(--failing); }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 13px; }
th, td { text-align: left; vertical-align: top; border-top: 1px solid var(--line); padding: 4px 8px 4px 0; }
.arn, .details { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; overflow-wrap: anywhere; }
.region { white-space: nowrap; }
.places { margin: 0; padding-left: 16px; }
.passes { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 0 0 24px; }
.pass summary { cursor: pointer; margin: 6px 0; }
.events td:first-child, .events td.event { white-space: nowrap; }
.level-warn td.event { color: var(--due); font-weight: 600; }
.level-error td.event { color: var(--failing); font-weight: 600; }
`;
