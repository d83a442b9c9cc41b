import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { ConfigError } from '../config/config-error.js';
import { validateConfig } from '../config/load.js';
import { configObject, configTemplate, fillAnswers, PLACEHOLDER, type FilledAnswers, type InitAnswers } from './init-template.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

export interface InitOptions {
  email?: string;
  domain?: string[];
  region?: string;
  listenerArn?: string;
  certificateArn?: string;
}

/** stdin, or a stand-in in tests: questions are asked only when it is a terminal. */
export type InitInput = Readable & { isTTY?: boolean };

/**
 * `certkeeper init [file]`: writes a commented minimal config that loads as written. At a terminal it asks
 * what the options did not give (Enter keeps the default shown); otherwise it asks nothing. Never overwrites.
 *
 * Mode 0644: a config holds no private key (those live in stateDir or a secret store), and certkeeper only
 * refuses configs others could *write*. EAB keys or webhook URLs added later are the user's to chmod.
 */
export async function initCommand(file: string, options: InitOptions, io: CliIo, input: InitInput = process.stdin): Promise<number> {
  const path = resolve(file);
  if (existsSync(path)) throw refusal(file);
  let answers: InitAnswers = {
    email: options.email,
    domains: options.domain?.length ? splitDomains(options.domain.join(',')) : undefined,
    region: options.region,
    listenerArn: options.listenerArn,
    certificateArn: options.certificateArn,
  };
  if (input.isTTY) answers = await ask(answers, input, io.stderr);

  const filled = fillAnswers(answers);
  checkValid(filled, path);
  const text = configTemplate(filled);
  try {
    // 'wx': created here or not at all, so a file that appeared since the check is still not overwritten.
    writeFileSync(path, text, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw refusal(file);
    if (code === 'ENOENT') throw new UsageError(`cannot write ${file}: its directory does not exist; create it first or pass another path`);
    throw error;
  }
  io.stdout.write(
    `wrote ${file}\n` +
      (filled.placeholders.size > 0 ? `  placeholders to edit (comments starting CHANGE ME): ${[...filled.placeholders].join(', ')}\n` : '') +
      `next: certkeeper iam-policy --config ${file}; certkeeper doctor --config ${file}; certkeeper renew --dry-run --config ${file}; certkeeper renew --config ${file}\n`,
  );
  return 0;
}

function refusal(file: string): UsageError {
  return new UsageError(`${file} already exists: init never overwrites a config; remove it, or pass another path (certkeeper init FILE)`);
}

function splitDomains(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((domain) => domain.trim())
    .filter(Boolean);
}

/**
 * One question per value the options did not give. Lines are read through the interface's iterator, which
 * keeps lines that arrive before their question (a paste, a script typing ahead) instead of dropping them.
 */
async function ask(given: InitAnswers, input: InitInput, output: Writable): Promise<InitAnswers> {
  const rl = createInterface({ input, output, terminal: true });
  const lines = rl[Symbol.asyncIterator]();
  // In raw mode Ctrl-C reaches readline, not the process: without this it would only pause the input.
  let cancelled = false;
  rl.on('SIGINT', () => {
    cancelled = true;
    output.write('\n');
    rl.close();
  });
  const question = async (text: string, fallback: string): Promise<string> => {
    output.write(`${text} [${fallback}]: `);
    const next = await lines.next();
    if (next.done) throw new UsageError(cancelled ? 'init cancelled (Ctrl-C): nothing written' : 'init: input ended before every question was answered; nothing written');
    return String(next.value).trim() || fallback;
  };
  try {
    const answers = { ...given };
    answers.email ??= await question('E-mail for the ACME account (expiry and account notices)', PLACEHOLDER.email);
    answers.domains ??= splitDomains(await question('Domains of the certificate, comma-separated', PLACEHOLDER.domains.join(', ')));
    answers.region ??= await question('AWS region of the certificate in ACM', PLACEHOLDER.region);
    if (!answers.listenerArn && !answers.certificateArn) {
      const arn = await question('Listener ARN to serve it on, or an ACM certificate ARN to re-import into', PLACEHOLDER.listenerArn(answers.region));
      if (arn.startsWith('arn:aws') && arn.split(':')[2] === 'acm') answers.certificateArn = arn;
      else answers.listenerArn = arn;
    }
    return answers;
  } finally {
    rl.close();
  }
}

/** What is about to be written must validate: a bad answer is a usage error naming it, and nothing is written. */
function checkValid(filled: FilledAnswers, path: string): void {
  try {
    validateConfig(configObject(filled), path);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`nothing written: ${error.message.replace(/^invalid config [^:]*:\n?/, 'the answers give an invalid config:\n')}`);
    throw error;
  }
}
