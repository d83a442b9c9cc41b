import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';

/** dns-packet decodes `rcode` ('NOERROR', 'NXDOMAIN', …) but its types omit it. */
export type DnsResponse = DecodedPacket & { rcode: string };

export interface DnsQuery {
  port: number;
  name: string;
  type: RecordType;
  transport?: 'udp' | 'tcp';
  timeoutMs?: number;
}

/**
 * One query to 127.0.0.1:port, returning the whole response (rcode, flags, answers, authorities),
 * which node:dns hides behind error codes.
 */
export function queryDns({ port, name, type, transport = 'udp', timeoutMs = 2_000 }: DnsQuery): Promise<DnsResponse> {
  const id = Math.floor(Math.random() * 0xffff);
  const request = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
  const response = transport === 'udp' ? overUdp(port, id, request, timeoutMs) : overTcp(port, request, timeoutMs);
  return response as Promise<DnsResponse>;
}

function overUdp(port: number, id: number, request: Buffer, timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => finish(new Error(`DNS over UDP to port ${port}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | undefined, answer?: DecodedPacket): void => {
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(answer!);
    };
    socket.on('error', (error) => finish(error));
    socket.on('message', (message) => {
      const answer = dnsPacket.decode(message);
      if (answer.id === id) finish(undefined, answer);
    });
    socket.send(request, port, '127.0.0.1');
  });
}

function overTcp(port: number, request: Buffer, timeoutMs: number): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`DNS over TCP to port ${port}: no answer in ${timeoutMs} ms`)));
    socket.on('error', reject);
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(request.length);
      socket.write(Buffer.concat([length, request]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.end();
        resolve(dnsPacket.decode(received.subarray(2, 2 + received.readUInt16BE(0))));
      }
    });
  });
}
