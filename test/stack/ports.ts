import { createServer, type AddressInfo, type Server } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago: bind port 0, read what the kernel chose, close.
 * Another process may take it before the caller binds it; servers that can retry should.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((error) => (error ? reject(error) : port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

export interface WaitForOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  label: string;
  /** Stop early with this error, e.g. when the server being waited for has exited. */
  abortIf?: () => Error | undefined;
}

/**
 * Calls `probe` until it returns something other than undefined/false/null without throwing, and
 * returns that. On timeout the error names `label` and carries the last probe error, which is usually
 * the real reason (connection refused, certificate not trusted, ...).
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 10_000, intervalMs = 50, label, abortIf }: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const abort = abortIf?.();
    if (abort) throw abort;
    try {
      const result = await probe();
      if (result !== undefined && result !== null && result !== false) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${reason}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Starts `server` on a free loopback port; `stop` closes it and the connections still open (a test
 * double must not keep a suite waiting on a keep-alive socket).
 */
export async function listenOnLoopback(server: Server): Promise<{ port: number; stop(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
