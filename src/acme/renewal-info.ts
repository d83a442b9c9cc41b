import acme from 'acme-client';
import { parseRetryAfter } from './ca-http.js';

/** A CA's answer to "when should this certificate be renewed?" (RFC 9773 §4.2). */
export interface RenewalInfo {
  start: Date;
  end: Date;
  explanationURL?: string;
  /** How long to wait before asking again, from Retry-After. */
  retryAfterSeconds?: number;
}

/** GET {renewalInfo}/{certID}: unauthenticated, as the RFC allows. Throws with the reason when there is no usable answer. */
export async function fetchRenewalInfo(renewalInfoUrl: string, certId: string): Promise<RenewalInfo> {
  const response = await acme.axios.get(`${renewalInfoUrl.replace(/\/$/, '')}/${certId}`, {
    validateStatus: () => true,
    timeout: 15_000,
    // One try: the next pass asks again; a down endpoint must not hold up a renewal.
    ...({ retryAttempt: Number.MAX_SAFE_INTEGER } as object),
  });
  if (response.status !== 200) throw new Error(`renewalInfo answered HTTP ${response.status}`);
  const window = (response.data as { suggestedWindow?: { start?: unknown; end?: unknown } })?.suggestedWindow;
  const start = typeof window?.start === 'string' ? new Date(window.start) : undefined;
  const end = typeof window?.end === 'string' ? new Date(window.end) : undefined;
  if (!start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) {
    throw new Error('renewalInfo answered without a valid suggestedWindow');
  }
  const explanation = (response.data as { explanationURL?: unknown }).explanationURL;
  return {
    start,
    end,
    explanationURL: typeof explanation === 'string' ? explanation : undefined,
    retryAfterSeconds: parseRetryAfter(response.headers['retry-after']),
  };
}
