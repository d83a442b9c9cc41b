import { get } from 'node:http';
import { sampleServed, type ServedSample } from '../stack/served-sampler.js';
import { covers } from '../stack/sni-serving-listener.js';
import type { SoakCa } from './soak-ca.js';
import type { SoakDaemon } from './soak-daemon.js';

/**
 * What a user and a monitor see, once a second for each CA: what every endpoint serves (a TLS
 * handshake with the certificate's server name) and the daemon's /readyz and /healthz. /readyz is
 * asked just before and just after the handshakes of the same second, so "readiness was true while an
 * expired certificate was served" needs both answers to say 200 around the handshake: no race between
 * the two clocks can make it up.
 */
export interface HttpProbe {
  /** 0 when nothing answered (the daemon is down, or not listening yet). */
  status: number;
  body?: string;
}

export interface CaTick {
  at: number;
  readyBefore: HttpProbe;
  readyAfter: HttpProbe;
  health: HttpProbe;
  served: Record<string, ServedSample>;
}

export class SoakObserver {
  readonly ticks = new Map<string, CaTick[]>();
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly watched: { ca: SoakCa; daemon: SoakDaemon }[]) {
    for (const { ca } of watched) this.ticks.set(ca.label, []);
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** Seconds of validity left on what each certificate of this CA serves now (by its latest sample); undefined until each serves one. */
  remaining(label: string, now = Date.now()): Record<string, number> | undefined {
    const last = this.ticks.get(label)?.at(-1);
    if (!last) return undefined;
    const left: Record<string, number> = {};
    for (const [name, sample] of Object.entries(last.served)) {
      if (!sample.ok) return undefined;
      left[name] = (sample.notAfter - now) / 1000;
    }
    return left;
  }

  /** True once every certificate of every CA serves a certificate that covers its name. */
  allServed(): boolean {
    return this.watched.every(({ ca }) => {
      const last = this.ticks.get(ca.label)?.at(-1);
      return ca.certificates.every((certificate) => {
        const sample = last?.served[certificate.name];
        return sample?.ok && sample.names.some((name) => covers(name, certificate.probe));
      });
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const started = Date.now();
      await Promise.all(this.watched.map((entry) => this.tick(entry)));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_000 - (Date.now() - started))));
    }
  }

  private async tick({ ca, daemon }: { ca: SoakCa; daemon: SoakDaemon }): Promise<void> {
    const at = Date.now();
    const readyBefore = await probe(ca.metricsPort, '/readyz');
    const samples = await Promise.all(ca.certificates.map(async (certificate) => [certificate.name, await sampleServed(certificate.port, certificate.probe)] as const));
    const readyAfter = await probe(ca.metricsPort, '/readyz');
    const health = await probe(ca.metricsPort, '/healthz');
    this.ticks.get(ca.label)!.push({ at, readyBefore, readyAfter, health, served: Object.fromEntries(samples) });
    daemon.read();
  }
}

function probe(port: number, path: string): Promise<HttpProbe> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path, agent: false, timeout: 1_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, ...(response.statusCode !== 200 && { body: body.slice(0, 400) }) }));
      response.on('error', () => resolve({ status: response.statusCode ?? 0 }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve({ status: 0 }));
  });
}
