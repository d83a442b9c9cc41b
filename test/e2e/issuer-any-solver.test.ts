import { createSocket, type Socket } from 'node:dgram';
import { PassThrough } from 'node:stream';
import acme from 'acme-client';
import dnsPacket, { type Packet } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureCaHttp } from '../../src/acme/ca-http.js';
import { issueCertificate } from '../../src/acme/issuer.js';
import type { CertificateSpec } from '../../src/config/schema.js';
import type { ChallengeParticipant, ChallengeRequest, Dns01Challenge, PresentedChallenges } from '../../src/ports/challenge-solver.js';
import type { RateLimitRecords } from '../../src/store/rate-limit-records.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startPebble, type Pebble } from '../stack/pebble.js';
import { freePort } from '../stack/ports.js';

/**
 * The issuer needs nothing of Route 53: a real CA (Pebble) issues through a ChallengeSolver that is a
 * map of TXT values served by a DNS server of this test. What the issuer must do by the port's contract is
 * checked on the way: prepare before the order, present provider-neutral challenges, remove exactly them.
 */

/** A DNS server answering TXT queries from a map, NXDOMAIN for anything else. */
class InMemoryDns {
  readonly txt = new Map<string, string[]>();
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  static async start(): Promise<InMemoryDns> {
    const port = await freePort();
    const socket = createSocket('udp4');
    const server = new InMemoryDns(socket, port);
    socket.on('message', (message, from) => socket.send(server.answer(dnsPacket.decode(message)), from.port, from.address));
    await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
    return server;
  }

  private answer(query: Packet): Buffer {
    const question = query.questions?.[0];
    const name = question?.name.toLowerCase().replace(/\.$/, '') ?? '';
    const values = question?.type === 'TXT' ? (this.txt.get(name) ?? []) : [];
    return dnsPacket.encode({
      id: query.id,
      type: 'response',
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (values.length === 0 ? 3 : 0), // rcode 3: NXDOMAIN
      questions: query.questions,
      answers: values.map((value) => ({ type: 'TXT' as const, name, ttl: 0, class: 'IN' as const, data: value })),
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A whole ChallengeParticipant in a few lines: what a fake for the merger's pass tests looks like. */
class InMemoryParticipant implements ChallengeParticipant {
  readonly calls: string[] = [];
  readonly presented: Dns01Challenge[] = [];

  constructor(private readonly dns: InMemoryDns) {}

  async prepare(request: ChallengeRequest): Promise<void> {
    this.calls.push(`prepare ${request.spec.name}`);
  }

  async present(challenges: Dns01Challenge[]): Promise<PresentedChallenges> {
    this.calls.push(
      `present ${challenges
        .map((challenge) => challenge.identifier)
        .sort()
        .join(' ')}`,
    );
    this.presented.push(...challenges);
    const name = (identifier: string) => `_acme-challenge.${identifier}`;
    for (const { identifier, value } of challenges) this.dns.txt.set(name(identifier), [...(this.dns.txt.get(name(identifier)) ?? []), value]);
    let removal: Promise<void> | undefined;
    const remove = () =>
      (removal ??= (async () => {
        this.calls.push('remove');
        for (const { identifier, value } of challenges) {
          const left = (this.dns.txt.get(name(identifier)) ?? []).filter((entry) => entry !== value);
          if (left.length) this.dns.txt.set(name(identifier), left);
          else this.dns.txt.delete(name(identifier));
        }
      })());
    return {
      startRemoval: () => void remove(),
      removed: () => remove(),
    };
  }

  presentsNothing(): void {
    this.calls.push('presents nothing');
  }
}

let pebble: Pebble;
let dns: InMemoryDns;
let client: acme.Client;

beforeAll(async () => {
  dns = await InMemoryDns.start();
  // Pebble reuses a valid authorization half the time by default: always, here.
  pebble = await startPebble({ dnsPort: dns.port, env: { PEBBLE_AUTHZREUSE: '100' } });
  configureCaHttp(pebble.caCertPath);
  client = new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
  await client.createAccount({ termsOfServiceAgreed: true });
});

afterAll(async () => {
  await pebble?.stop();
  await dns?.close();
});

function issue(spec: CertificateSpec, challenges: ChallengeParticipant) {
  const ledger = { orders: [], issuances: [], failedValidations: [], clockSkews: [], caLimits: [] };
  // The issuer only appends to the ledger: an in-memory one will do.
  const rateLimits = { update: async (edit: (value: typeof ledger) => void) => edit(ledger) } as unknown as RateLimitRecords;
  const log = createLogger({ stream: new PassThrough(), level: 'debug' });
  return issueCertificate(spec, { client, challenges, log, rateLimits, problems: [] });
}

describe('issueCertificate with a ChallengeSolver that is not Route 53', () => {
  const spec = { name: 'any-solver', domains: ['any-solver.test', '*.any-solver.test'], keyType: 'ecdsa-p256', route53: {} } as unknown as CertificateSpec;

  it('gets a certificate: challenges by identifier and value, presented after prepare, every value removed', async () => {
    const participant = new InMemoryParticipant(dns);
    const issued = await issue(spec, participant);

    expect(issued.facts.domains).toEqual(expect.arrayContaining(spec.domains));
    // The wildcard and its base share one identifier (the name validated), each with its own value.
    expect(participant.calls).toEqual(['prepare any-solver', 'present any-solver.test any-solver.test', 'remove']);
    expect(new Set(participant.presented.map((challenge) => challenge.value)).size).toBe(2);
    expect(dns.txt.size).toBe(0);
  });

  it('says it presents nothing when the CA reuses the valid authorizations', async () => {
    // Not the wildcard: a CA does not reuse a wildcard's authorization.
    const plain = { ...spec, name: 'reused', domains: ['reused.test'] };
    await issue(plain, new InMemoryParticipant(dns));
    const participant = new InMemoryParticipant(dns);
    await issue(plain, participant);

    expect(participant.calls).toEqual(['prepare reused', 'presents nothing']);
  });

  it('removes the values when the CA refuses them', async () => {
    const refused = { ...spec, name: 'refused', domains: ['refused.test'] };
    // Values that are not the key authorization: the CA's validation fails.
    const participant = new InMemoryParticipant(dns);
    const wrong: ChallengeParticipant = {
      prepare: (request) => participant.prepare(request),
      present: (challenges) => participant.present(challenges.map((challenge) => ({ ...challenge, value: 'not-the-key-authorization' }))),
      presentsNothing: () => participant.presentsNothing(),
    };

    await expect(issue(refused, wrong)).rejects.toThrow(/dns-01 challenge for refused\.test failed/);
    expect(participant.calls).toEqual(['prepare refused', 'present refused.test', 'remove']);
    expect(dns.txt.size).toBe(0);
  });
});
