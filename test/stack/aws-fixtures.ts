import { randomUUID } from 'node:crypto';
import { ACMClient, DescribeCertificateCommand, ImportCertificateCommand, type CertificateDetail } from '@aws-sdk/client-acm';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DescribeListenerCertificatesCommand,
  ElasticLoadBalancingV2Client,
  type Certificate,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { quoteTxtValue, txtValueText } from './route53-txt.js';
import { route53ClientFor, Route53Zones } from './route53-zones.js';
import { selfSignedCertificate } from './tls.js';

/*
 * moto 5.2.1, checked against this stack (real AWS differs where noted):
 * ACM DescribeCertificate of an imported certificate:
 * - Serial is the serial as a DECIMAL integer string ("169552957" for 0x0A1B2C3D); real ACM gives
 *   colon-separated lower-case hex pairs ("0a:1b:2c:3d"). Compare serials as numbers (BigInt).
 * - NotBefore/NotAfter/ImportedAt are Dates from the certificate; DomainName = subject CN;
 *   Subject "CN=…"; Issuer = the issuer's CN only; Type IMPORTED; Status ISSUED;
 *   RenewalEligibility INELIGIBLE; SignatureAlgorithm e.g. "ECDSA-WITH-SHA256".
 * - KeyAlgorithm as real ACM names it: "EC_prime256v1", "RSA_2048".
 * - SubjectAlternativeNames = the certificate's DNS SANs only ([] without a SAN extension; real ACM
 *   also lists DomainName).
 * - InUseBy = [listener ARN] (real ACM: the load balancer ARN), set only by CreateListener: ModifyListener
 *   to another certificate leaves the old one listed and the new one [], AddListenerCertificates (SNI)
 *   adds nothing. Do not rely on InUseBy against moto.
 * - Unknown ARN: ResourceNotFoundException.
 * Re-import with CertificateArn keeps the ARN and updates Serial/NotAfter/SANs, but wipes the tags and
 * InUseBy (real ACM keeps both); Tags on a re-import are accepted and applied (real ACM rejects them).
 * ListCertificates returns every certificate in one page (MaxItems ignored, no NextToken) and, without
 * Includes.keyTypes, every key type (real ACM: only RSA_1024/RSA_2048 unless keyTypes is given: always
 * pass it); Includes.keyTypes is honoured.
 * ImportCertificate of a certificate without subject CN: HTTP 500 (the SDK throws a SyntaxError);
 * a key that does not match the certificate is not detected. DeleteCertificate succeeds while in use.
 * Route 53: record names must match the zone's case (real Route 53 is case-insensitive); a wildcard is
 * stored as "*.name." (real Route 53 lists "\052.name."); the SOA moto makes for a new zone is
 * "ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400" for every zone, listed
 * wrapped as a Python dict repr "{'Value': '…'}" (route53-zones.ts unwraps it); NS values lack the
 * trailing dot.
 */

export interface TxtRecordSet {
  /** Lower case, no trailing dot. */
  name: string;
  ttl: number;
  /** The text of each value, unquoted and with split strings joined. */
  values: string[];
  /** Each value as Route 53 stores it (quoted). */
  rawValues: string[];
}

export interface AcmeChallengeRecordSet extends TxtRecordSet {
  zoneId: string;
  zoneName: string;
}

export interface HttpsListener {
  loadBalancerArn: string;
  listenerArn: string;
  placeholderCertificateArn: string;
}

export interface ListenerCertificates {
  defaultArn: string | undefined;
  sniArns: string[];
}

export interface AwsFixtures {
  endpoint: string;
  route53: Route53Client;
  acm(region?: string): ACMClient;
  elbv2(region?: string): ElasticLoadBalancingV2Client;
  ec2(region?: string): EC2Client;
  /** A public hosted zone; returns its ID without `/hostedzone/`. */
  createHostedZone(name: string): Promise<string>;
  /** UPSERTs one TXT record set; `values` are plain text, quoted here as Route 53 requires. */
  upsertTxtRecord(zoneId: string, name: string, values: string[], ttl?: number): Promise<void>;
  listTxtRecords(zoneId: string): Promise<TxtRecordSet[]>;
  /** TXT sets named `_acme-challenge.*` in every hosted zone: what a run left behind. */
  listAcmeChallengeRecords(): Promise<AcmeChallengeRecordSet[]>;
  /** VPC, two subnets in two AZs, an ALB, and an HTTPS:443 listener whose default certificate is a placeholder imported into ACM. */
  createHttpsListener(options: { name: string; region?: string }): Promise<HttpsListener>;
  describeListenerCertificates(listenerArn: string): Promise<ListenerCertificates>;
  /** Region defaults to the ARN's. */
  describeAcm(certificateArn: string, region?: string): Promise<CertificateDetail>;
}

const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Helpers that arrange and inspect AWS state in moto (or LocalStack) at `endpoint`. */
export function awsFixtures(endpoint: string, defaultRegion = 'us-east-1'): AwsFixtures {
  const route53 = route53ClientFor(endpoint);
  const zones = new Route53Zones(route53);
  const perRegion = <T>(make: (region: string) => T) => {
    const clients = new Map<string, T>();
    return (region = defaultRegion): T => {
      if (!clients.has(region)) clients.set(region, make(region));
      return clients.get(region)!;
    };
  };
  const acm = perRegion((region) => new ACMClient({ endpoint, region, credentials: CREDENTIALS }));
  const elbv2 = perRegion((region) => new ElasticLoadBalancingV2Client({ endpoint, region, credentials: CREDENTIALS }));
  const ec2 = perRegion((region) => new EC2Client({ endpoint, region, credentials: CREDENTIALS }));

  const listTxtRecords = async (zoneId: string): Promise<TxtRecordSet[]> =>
    (await zones.recordSets(zoneId))
      .filter((set) => set.type === 'TXT')
      .map((set) => ({ name: set.name, ttl: set.ttl, values: set.values.map(txtValueText), rawValues: set.values }));

  return {
    endpoint,
    route53,
    acm,
    elbv2,
    ec2,

    async createHostedZone(name) {
      const answer = await route53.send(new CreateHostedZoneCommand({ Name: name, CallerReference: randomUUID() }));
      return answer.HostedZone!.Id!.replace(/^\/hostedzone\//, '');
    },

    async upsertTxtRecord(zoneId, name, values, ttl = 60) {
      await route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          ChangeBatch: {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: { Name: name, Type: 'TXT', TTL: ttl, ResourceRecords: values.map((value) => ({ Value: quoteTxtValue(value) })) },
              },
            ],
          },
        }),
      );
    },

    listTxtRecords,

    async listAcmeChallengeRecords() {
      const found: AcmeChallengeRecordSet[] = [];
      for (const zone of await zones.publicZones()) {
        for (const set of await listTxtRecords(zone.id)) {
          if (set.name.startsWith('_acme-challenge.')) found.push({ ...set, zoneId: zone.id, zoneName: zone.name });
        }
      }
      return found;
    },

    async createHttpsListener({ name, region = defaultRegion }) {
      const vpc = await ec2(region).send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      const vpcId = vpc.Vpc!.VpcId!;
      const subnets = await Promise.all(
        ['a', 'b'].map(async (zone, index) => {
          const subnet = await ec2(region).send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${index + 1}.0/24`, AvailabilityZone: `${region}${zone}` }));
          return subnet.Subnet!.SubnetId!;
        }),
      );
      const loadBalancer = await elbv2(region).send(new CreateLoadBalancerCommand({ Name: name, Subnets: subnets, Type: 'application', Scheme: 'internet-facing' }));
      const loadBalancerArn = loadBalancer.LoadBalancers![0]!.LoadBalancerArn!;

      const placeholder = await selfSignedCertificate(`placeholder.${name}.invalid`);
      const imported = await acm(region).send(
        new ImportCertificateCommand({
          Certificate: Buffer.from(placeholder.certificatePem),
          PrivateKey: Buffer.from(placeholder.privateKeyPem),
        }),
      );
      const placeholderCertificateArn = imported.CertificateArn!;

      const listener = await elbv2(region).send(
        new CreateListenerCommand({
          LoadBalancerArn: loadBalancerArn,
          Protocol: 'HTTPS',
          Port: 443,
          Certificates: [{ CertificateArn: placeholderCertificateArn }],
          DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain' } }],
        }),
      );
      return { loadBalancerArn, listenerArn: listener.Listeners![0]!.ListenerArn!, placeholderCertificateArn };
    },

    async describeListenerCertificates(listenerArn) {
      const certificates: Certificate[] = [];
      let marker: string | undefined;
      do {
        const page = await elbv2(regionOf(listenerArn)).send(new DescribeListenerCertificatesCommand({ ListenerArn: listenerArn, Marker: marker }));
        certificates.push(...(page.Certificates ?? []));
        marker = page.NextMarker;
      } while (marker);
      return {
        defaultArn: certificates.find((certificate) => certificate.IsDefault)?.CertificateArn,
        sniArns: certificates.filter((certificate) => !certificate.IsDefault).map((certificate) => certificate.CertificateArn!),
      };
    },

    async describeAcm(certificateArn, region = regionOf(certificateArn)) {
      const answer = await acm(region).send(new DescribeCertificateCommand({ CertificateArn: certificateArn }));
      return answer.Certificate!;
    },
  };
}

/** arn:aws:SERVICE:REGION:ACCOUNT:… */
function regionOf(arn: string): string {
  const region = arn.split(':')[3];
  if (!region) throw new Error(`no region in ARN ${arn}`);
  return region;
}
