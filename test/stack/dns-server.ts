import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Route53Client } from '@aws-sdk/client-route-53';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type RecordType } from 'dns-packet';
import { parseTxtValue } from './route53-txt.js';
import { isAtOrBelow, normaliseDnsName, route53ClientFor, Route53Zones, type RecordSet, type Zone } from './route53-zones.js';

export interface DnsServerOptions {
  /** Where the hosted zones live: moto's endpoint or a Route 53 client (or a promise of one, for moto still starting). */
  route53: string | Route53Client | Promise<string | Route53Client>;
  /**
   * Zone names (or zone IDs) to pretend not to serve, as if the hosted zone existed in Route 53 but were
   * never delegated: their names get REFUSED (or NXDOMAIN from a served parent zone), so their
   * challenges cannot validate. Editable later through `DnsServer.ignoreZones`.
   */
  ignoreZones?: string[];
}

/** The zones of several AWS accounts served as one name space (moto keeps each account's zones apart). */
class AccountsZones {
  private readonly accounts: Route53Zones[];
  private readonly owner = new Map<string, Route53Zones>();

  constructor(first: Route53Zones) {
    this.accounts = [first];
  }

  add(zones: Route53Zones): void {
    this.accounts.push(zones);
  }

  async publicZones(): Promise<Zone[]> {
    const lists = await Promise.all(this.accounts.map(async (account) => ({ account, zones: await account.publicZones() })));
    for (const { account, zones } of lists) for (const zone of zones) this.owner.set(zone.id, account);
    return lists.flatMap((list) => list.zones);
  }

  recordSets(zoneId: string): Promise<RecordSet[]> {
    return (this.owner.get(zoneId) ?? this.accounts[0]!).recordSets(zoneId);
  }
}

export interface QueryLogEntry {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  rcode: Rcode;
  answers: number;
}

export interface DnsServer {
  /** UDP and TCP, both on 127.0.0.1. */
  port: number;
  /** Queries received so far. */
  readonly queries: number;
  /** The last 200 queries, newest last: what Pebble actually asked, for failing tests. */
  readonly queryLog: readonly QueryLogEntry[];
  /** Live set of ignored zone names (lower case, no trailing dot) or IDs (see DnsServerOptions.ignoreZones). */
  readonly ignoreZones: Set<string>;
  /** Holds every answer back this long, like a slow authoritative server: keeps a renewal mid-validation for a test. */
  answerDelayMs: number;
  /**
   * Names (lower case, no trailing dot) whose TXT answer is frozen to these values whatever Route 53
   * holds: a nameserver serving stale data, for propagation-check tests.
   */
  readonly staleTxt: Map<string, string[]>;
  /**
   * Names (lower case, no trailing dot) whose next N TXT queries get SERVFAIL (Infinity: all of them):
   * a nameserver failing for a while, for propagation-check tests.
   */
  readonly servfailTxt: Map<string, number>;
  /** Also serve the zones of another AWS account (a Route 53 client with that account's credentials). */
  addAccount(route53: Route53Client): Promise<void>;
  stop(): Promise<void>;
}

type Rcode = 'NOERROR' | 'SERVFAIL' | 'NXDOMAIN' | 'REFUSED' | 'FORMERR' | 'NOTIMP';
const RCODE_VALUES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

interface Resolution {
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
}

const MAX_CNAME_CHAIN = 8;
const SOA_VALUE = /^\S+\s+\S+(\s+\d+){5}\s*$/;
// Route 53's defaults, for zones moto keeps without SOA/NS (mname/rname are made up).
const DEFAULT_SOA = { refresh: 7200, retry: 900, expire: 1_209_600, minimum: 86_400, ttl: 900 };

/**
 * An authoritative DNS server answering from the Route 53 hosted zones in moto, read on every query so
 * a TXT record is served the moment it is written. Serves A, AAAA, CNAME, NS, SOA, TXT, MX, SRV, CAA;
 * other types count for the name's existence (NODATA rather than NXDOMAIN) but are never answered.
 */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const zonesReady = Promise.resolve(options.route53).then((route53) => new AccountsZones(new Route53Zones(typeof route53 === 'string' ? route53ClientFor(route53) : route53)));
  const staleTxt = new Map<string, string[]>();
  const servfailTxt = new Map<string, number>();
  zonesReady.catch(() => {}); // a failed moto start is reported by whoever started moto; queries get SERVFAIL
  const ignoreZones = new Set((options.ignoreZones ?? []).map(normaliseDnsName));
  const queryLog: QueryLogEntry[] = [];
  let queries = 0;
  const delay = { ms: 0 };

  async function respond(request: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(request);
    } catch {
      return undefined; // not DNS: drop, as real servers do
    }
    if (query.type !== 'query') return undefined;
    queries++;
    const question = query.questions?.[0];
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    let resolution: Resolution;
    if (!question || query.questions!.length !== 1) resolution = failure('FORMERR');
    else if (opcode !== 0) resolution = failure('NOTIMP');
    else {
      try {
        const name = normaliseDnsName(question.name);
        const stale = question.type === 'TXT' ? staleTxt.get(name) : undefined;
        const failing = question.type === 'TXT' ? (servfailTxt.get(name) ?? 0) : 0;
        if (failing > 0) servfailTxt.set(name, failing - 1);
        resolution =
          failing > 0
            ? failure('SERVFAIL')
            : stale
              ? { rcode: 'NOERROR', authorities: [], answers: stale.map((text) => ({ name: question.name, type: 'TXT', ttl: 10, class: 'IN', data: [Buffer.from(text)] })) }
              : await resolve(await zonesReady, ignoreZones, name, question.type, question.name);
      } catch {
        resolution = failure('SERVFAIL'); // moto unreachable: let the client retry
      }
    }
    if (delay.ms > 0) await new Promise((resolve) => setTimeout(resolve, delay.ms));
    if (question) {
      queryLog.push({ name: question.name, type: question.type, transport, rcode: resolution.rcode, answers: resolution.answers.length });
      if (queryLog.length > 200) queryLog.shift();
    }
    try {
      return encodeResponse(query, resolution, transport);
    } catch {
      // A record dns-packet cannot encode (say an A value that is no IPv4 address): fail like a broken zone.
      return encodeResponse(query, failure('SERVFAIL'), transport);
    }
  }

  const { udp, tcp, connections, port } = await bindBoth(respond);
  return {
    port,
    get answerDelayMs() {
      return delay.ms;
    },
    set answerDelayMs(ms: number) {
      delay.ms = ms;
    },
    get queries() {
      return queries;
    },
    queryLog,
    ignoreZones,
    staleTxt,
    servfailTxt,
    addAccount(route53) {
      return zonesReady.then((zones) => zones.add(new Route53Zones(route53)));
    },
    async stop() {
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => {
          tcp.close(() => resolve());
          for (const socket of connections) socket.destroy(); // close() waits for open connections
        }),
      ]);
    },
  };
}

function failure(rcode: Rcode): Resolution {
  return { rcode, answers: [], authorities: [] };
}

/** The authoritative answer for one question, following CNAMEs into served zones. */
async function resolve(zones: AccountsZones, ignoreZones: Set<string>, name: string, type: RecordType | 'ANY', ownerAsAsked: string, depth = 0): Promise<Resolution> {
  const served = (await zones.publicZones()).filter((zone) => !ignoreZones.has(zone.name) && !ignoreZones.has(zone.id.toLowerCase()));
  const zone = closestZone(served, name);
  if (!zone) return failure('REFUSED');
  const sets = withApexDefaults(zone, await zones.recordSets(zone.id));
  const soa = soaAnswer(zone, sets);
  const negative = (rcode: Rcode): Resolution => ({ rcode, answers: [], authorities: [soa] });

  let atName = sets.filter((set) => set.name === name);
  if (atName.length === 0) {
    if (sets.some((set) => set.name.endsWith(`.${name}`))) return negative('NOERROR'); // empty non-terminal
    atName = wildcardSets(zone, sets, name);
    if (atName.length === 0) return negative('NXDOMAIN');
  }

  const cname = atName.find((set) => set.type === 'CNAME');
  if (cname && type !== 'CNAME' && type !== 'ANY' && cname.values[0]) {
    const answer = toAnswer(ownerAsAsked, cname, cname.values[0])!;
    const target = normaliseDnsName(cname.values[0]);
    if (depth >= MAX_CNAME_CHAIN || !closestZone(served, target)) return { rcode: 'NOERROR', answers: [answer], authorities: [] };
    // RFC 6604: the rcode is that of the last name in the chain.
    const rest = await resolve(zones, ignoreZones, target, type, target, depth + 1);
    return { ...rest, answers: [answer, ...rest.answers] };
  }

  const matching = atName.filter((set) => type === 'ANY' || set.type === type);
  const answers = matching.flatMap((set) => set.values.map((value) => toAnswer(ownerAsAsked, set, value)).filter((a) => a !== undefined));
  return answers.length > 0 ? { rcode: 'NOERROR', answers, authorities: [] } : negative('NOERROR');
}

function closestZone(zones: Zone[], name: string): Zone | undefined {
  return zones.filter((zone) => isAtOrBelow(name, zone.name)).sort((a, b) => b.name.length - a.name.length)[0];
}

/** RFC 4592: `*.<closest encloser>` answers for names that do not exist below it. */
function wildcardSets(zone: Zone, sets: RecordSet[], name: string): RecordSet[] {
  const exists = (candidate: string): boolean => candidate === zone.name || sets.some((set) => set.name === candidate || set.name.endsWith(`.${candidate}`));
  let encloser = name;
  while (encloser !== zone.name && !exists(encloser)) encloser = encloser.slice(encloser.indexOf('.') + 1);
  if (encloser === name) return [];
  return sets.filter((set) => set.name === `*.${encloser}`);
}

/** Every zone answers SOA and NS at its apex, even if moto stored none. */
function withApexDefaults(zone: Zone, sets: RecordSet[]): RecordSet[] {
  // An SOA that does not parse (moto has stored odd ones) is replaced rather than served broken.
  const usable = sets.filter((set) => set.type !== 'SOA' || (set.name === zone.name && SOA_VALUE.test(set.values[0] ?? '')));
  const apex = usable.filter((set) => set.name === zone.name);
  const extra: RecordSet[] = [];
  if (!apex.some((set) => set.type === 'SOA')) {
    const { refresh, retry, expire, minimum, ttl } = DEFAULT_SOA;
    extra.push({
      name: zone.name,
      type: 'SOA',
      ttl,
      values: [`ns1.${zone.name}. hostmaster.${zone.name}. 1 ${refresh} ${retry} ${expire} ${minimum}`],
    });
  }
  if (!apex.some((set) => set.type === 'NS')) {
    extra.push({ name: zone.name, type: 'NS', ttl: 172_800, values: [`ns1.${zone.name}.`, `ns2.${zone.name}.`] });
  }
  return [...usable, ...extra];
}

/** The SOA for the authority section of negative answers; its TTL is the negative-caching TTL (RFC 2308). */
function soaAnswer(zone: Zone, sets: RecordSet[]): Answer {
  const set = sets.find((candidate) => candidate.name === zone.name && candidate.type === 'SOA')!;
  const answer = toAnswer(zone.name, set, set.values[0]!) as Answer & { data: { minimum?: number }; ttl: number };
  answer.ttl = Math.min(answer.ttl, answer.data.minimum ?? answer.ttl);
  return answer;
}

/** One Route 53 value as a dns-packet record, or undefined for types this fixture does not serve. */
function toAnswer(owner: string, set: RecordSet, value: string): Answer | undefined {
  const base = { name: owner, ttl: set.ttl, class: 'IN' as const };
  const fields = value.trim().split(/\s+/);
  const name = (text: string | undefined): string => (text ?? '').replace(/\.$/, '');
  switch (set.type) {
    case 'A':
    case 'AAAA':
      return { ...base, type: set.type, data: value.trim() };
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return { ...base, type: set.type, data: name(value.trim()) };
    case 'TXT':
      return { ...base, type: 'TXT', data: parseTxtValue(value) };
    case 'MX':
      return { ...base, type: 'MX', data: { preference: Number(fields[0]), exchange: name(fields[1]) } };
    case 'SRV':
      return { ...base, type: 'SRV', data: { priority: Number(fields[0]), weight: Number(fields[1]), port: Number(fields[2]), target: name(fields[3]) } };
    case 'SOA':
      return {
        ...base,
        type: 'SOA',
        data: {
          mname: name(fields[0]),
          rname: name(fields[1]),
          serial: Number(fields[2]),
          refresh: Number(fields[3]),
          retry: Number(fields[4]),
          expire: Number(fields[5]),
          minimum: Number(fields[6]),
        },
      };
    case 'CAA': {
      // `0 issue "letsencrypt.org"`; @types/dns-packet describes CAA data wrongly, hence the cast.
      const match = /^(\d+)\s+(\S+)\s+"?(.*?)"?$/.exec(value.trim());
      if (!match) return undefined;
      return { ...base, type: 'CAA', data: { flags: Number(match[1]), tag: match[2], value: match[3] } } as unknown as Answer;
    }
    default:
      return undefined;
  }
}

function encodeResponse(query: DecodedPacket, resolution: Resolution, transport: 'udp' | 'tcp'): Buffer {
  const opt = query.additionals?.find((record) => record.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | RCODE_VALUES[resolution.rcode];
  const response: Packet = {
    id: query.id,
    type: 'response',
    flags,
    questions: query.questions,
    answers: resolution.answers,
    authorities: resolution.authorities,
    // EDNS queries get an OPT back (RFC 6891).
    additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  };
  const encoded = dnsPacket.encode(response);
  const udpLimit = opt ? Math.max(512, Math.min(opt.udpPayloadSize ?? 512, 1232)) : 512;
  if (transport === 'udp' && encoded.length > udpLimit) {
    // Too big for this datagram: say so (TC) and let the client retry over TCP.
    return dnsPacket.encode({ ...response, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [] });
  }
  return encoded;
}

/** UDP and TCP listeners on one free 127.0.0.1 port, retrying if the UDP side of it is taken. */
async function bindBoth(
  respond: (request: Buffer, transport: 'udp' | 'tcp') => Promise<Buffer | undefined>,
): Promise<{ udp: UdpSocket; tcp: Server; connections: Set<Socket>; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const connections = new Set<Socket>();
    const tcp = createServer((socket) => {
      connections.add(socket);
      socket.on('close', () => connections.delete(socket));
      serveTcp(socket, respond);
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: '127.0.0.1', port: 0 }, resolve);
    });
    const port = (tcp.address() as { port: number }).port;

    const udp = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: '127.0.0.1', port, exclusive: true }, resolve);
      });
    } catch (error) {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      if (attempt < 10) continue;
      throw error;
    }
    udp.on('error', () => {}); // e.g. ICMP unreachable for a client gone away: not fatal
    udp.on('message', (message, remote) => {
      void respond(message, 'udp').then((answer) => {
        // A delayed answer may come due after stop() closed the socket: drop it.
        if (answer) {
          try {
            udp.send(answer, remote.port, remote.address, () => {});
          } catch {
            // socket closed
          }
        }
      });
    });
    return { udp, tcp, connections, port };
  }
}

/** DNS over TCP: each message preceded by its 2-byte length; several per connection (RFC 7766). */
function serveTcp(socket: Socket, respond: (request: Buffer, transport: 'tcp') => Promise<Buffer | undefined>): void {
  let pending = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
      pending = pending.subarray(2 + message.length);
      void respond(Buffer.from(message), 'tcp').then((answer) => {
        if (!answer || socket.destroyed) return;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(answer.length);
        socket.write(Buffer.concat([length, answer]));
      });
    }
  });
}
