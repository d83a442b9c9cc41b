// Preloaded into the certkeeper process by the bench (NODE_OPTIONS=--require): at exit, writes the
// process's peak resident set size (kB) to CERTKEEPER_BENCH_MAXRSS_FILE. Nothing else changes.
const { writeFileSync } = require('node:fs');
const target = process.env.CERTKEEPER_BENCH_MAXRSS_FILE;
if (target) process.on('exit', () => writeFileSync(target, String(process.resourceUsage().maxRSS)));
