// Test tool, loaded into a certkeeper child with NODE_OPTIONS="--import=<this file>" by
// letsencrypt-double.ts: the child's DNS lookups and TCP connections for Let's Encrypt's ACME host go
// to the local double instead (CERTKEEPER_TEST_LETSENCRYPT_HOST, CERTKEEPER_TEST_LETSENCRYPT_PROXY =
// "127.0.0.1:PORT"). TLS still verifies the name: the double presents a certificate for it from a test
// CA the child trusts (NODE_EXTRA_CA_CERTS). Without both variables the child refuses to start, so it
// can never reach the real Let's Encrypt by mistake.
import dns from 'node:dns';
import net from 'node:net';

const host = process.env.CERTKEEPER_TEST_LETSENCRYPT_HOST;
const [proxyAddress, proxyPort] = (process.env.CERTKEEPER_TEST_LETSENCRYPT_PROXY ?? '').split(':');
if (!host || !proxyAddress || !Number(proxyPort))
  throw new Error('letsencrypt-double-preload: CERTKEEPER_TEST_LETSENCRYPT_HOST and CERTKEEPER_TEST_LETSENCRYPT_PROXY are required');

const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  if (hostname !== host) return lookup.apply(this, arguments);
  const done = typeof options === 'function' ? options : callback;
  const all = typeof options === 'object' && options?.all;
  process.nextTick(() => (all ? done(null, [{ address: proxyAddress, family: 4 }]) : done(null, proxyAddress, 4)));
  return {};
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const [options] = args;
  // tls.connect (https, axios) passes one options object; the name stays the TLS servername.
  if (options && typeof options === 'object' && !Array.isArray(options) && options.host === host && Number(options.port ?? 443) === 443) {
    args[0] = { ...options, host: proxyAddress, port: Number(proxyPort) };
  }
  return connect.apply(this, args);
};
