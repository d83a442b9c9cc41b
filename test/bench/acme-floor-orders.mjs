// The ACME floor, run by the bench as a process of its own: acme-client orders each certificate of
// argv[3] (a JSON list of domain lists) back to back from the CA at argv[2] (Pebble with validation
// skipped), with no DNS at all: account, order, challenges answered, finalize, download. Prints one JSON
// line: the wall time of the orders (account registration excluded) and the process's peak RSS.
import acme from 'acme-client';

const [directoryUrl, certificatesJson] = process.argv.slice(2);
const certificates = JSON.parse(certificatesJson);
// Poll as fast as the CA answers: the floor is the CA's work, not acme-client's 5 s default backoff.
const client = new acme.Client({ directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), backoffMin: 10, backoffMax: 200, backoffAttempts: 50 });
await client.createAccount({ termsOfServiceAgreed: true });

const started = process.hrtime.bigint();
for (const domains of certificates) {
  const [, csr] = await acme.crypto.createCsr({ commonName: domains[0], altNames: domains }, await acme.crypto.createPrivateEcdsaKey());
  const order = await client.createOrder({ identifiers: domains.map((value) => ({ type: 'dns', value })) });
  const authorizations = await client.getAuthorizations(order);
  await Promise.all(
    authorizations.map(async (authorization) => {
      if (authorization.status === 'valid') return;
      const challenge = authorization.challenges.find((candidate) => candidate.type === 'dns-01');
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    }),
  );
  const finalized = await client.finalizeOrder(order, csr);
  await client.getCertificate(finalized);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ seconds, certificates: certificates.length, maxRssKB: process.resourceUsage().maxRSS })}\n`);
