import { accessSync, constants } from 'node:fs';
import { request } from 'node:http';
import { delimiter, join } from 'node:path';
import { startChildProcess, type ManagedProcess } from './child-processes.js';
import { freePort, waitFor } from './ports.js';
import { keepStackDir, makeStackDir, removeStackDir } from './stack-dirs.js';

export const MOTO_BINARY = process.env.MOTO_SERVER_BINARY ?? 'moto_server';

export interface Moto {
  /** http://127.0.0.1:PORT — AWS_ENDPOINT_URL for every service. */
  endpoint: string;
  port: number;
  pid: number;
  logPath: string;
  process: ManagedProcess;
  /** Forgets every resource in every service (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `moto_server` on a free loopback port and resolves once it answers HTTP. */
export async function startMoto(): Promise<Moto> {
  const command = findOnPath(MOTO_BINARY);
  if (!command) {
    throw new Error(
      `${MOTO_BINARY} is not on PATH. Install the AWS emulator for python3 with: pip install 'moto[server]' ` + `(or: pipx install 'moto[server]'), then run the tests again.`,
    );
  }
  const dir = await makeStackDir('moto');
  const logPath = join(dir, 'moto.log');

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = await startChildProcess({
      label: 'moto_server',
      command,
      args: ['-H', '127.0.0.1', '-p', String(port)],
      logPath,
      cwd: dir,
    });
    try {
      await waitFor(async () => (await httpRequest('GET', `${endpoint}/moto-api/`)) > 0, {
        label: `moto_server at ${endpoint}`,
        timeoutMs: 20_000,
        abortIf: () => (child.exitStatus ? new Error(`moto_server exited (${child.exitStatus})`) : undefined),
      });
    } catch (error) {
      await child.stop();
      const tail = child.logTail();
      if (/address already in use/i.test(tail) && attempt < 3) continue;
      const hint = /No module named|command not found|not found/i.test(tail) ? `\nInstall it with: pip install 'moto[server]'` : '';
      keepStackDir(dir);
      throw new Error(`${(error as Error).message}\n--- ${logPath} (kept) ---\n${tail}${hint}`, { cause: error });
    }

    return {
      endpoint,
      port,
      pid: child.pid,
      logPath,
      process: child,
      async reset() {
        const status = await httpRequest('POST', `${endpoint}/moto-api/reset`);
        if (status !== 200) throw new Error(`moto reset: HTTP ${status}`);
      },
      async stop() {
        await child.stop();
        await removeStackDir(dir);
      },
    };
  }
}

function findOnPath(command: string): string | undefined {
  if (command.includes('/')) return command;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Status code of a bodiless request; no keep-alive, so no socket outlives it. */
function httpRequest(method: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
