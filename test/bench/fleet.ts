/** One certificate of the bench: the same names for certkeeper, certbot and the floor. */
export interface BenchCertificate {
  name: string;
  domains: string[];
  /** The zone its names are in (index into the bench's zones). */
  zone: number;
}

export const ZONES = Array.from({ length: 5 }, (_, i) => `zone${i + 1}.bench.test`);

/** N certificates over the zones, two names each; every fourth is a wildcard and its apex (one challenge name, two values). */
export function fleet(prefix: string, count: number): BenchCertificate[] {
  return Array.from({ length: count }, (_, i) => {
    const zone = i % ZONES.length;
    const base = `${prefix}-${i}.${ZONES[zone]}`;
    const domains = i % 4 === 3 ? [base, `*.${base}`] : [`a.${base}`, `b.${base}`];
    return { name: `${prefix}-${i}`, domains, zone };
  });
}
