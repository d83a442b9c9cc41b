// Preloaded with `node --import`: records the URL of every module the process loads (one per line) in
// the file named by CERTKEEPER_MODULE_TRACE, so a test can say what a command loaded (not how fast).
import { register } from 'node:module';

register('./module-trace-hooks.mjs', import.meta.url, { data: { file: process.env.CERTKEEPER_MODULE_TRACE } });
