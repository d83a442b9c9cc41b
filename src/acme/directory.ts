import acme from 'acme-client';
import { expectCaAnswer } from './ca-answer-check.js';

/** The parts of the ACME directory certkeeper reads itself (acme-client handles the rest). */
export interface AcmeDirectory {
  renewalInfo?: string;
  /** Profile name → description (draft-aaron-acme-profiles); absent when the CA offers none. */
  profiles?: Record<string, string>;
}

const directories = new Map<string, Promise<AcmeDirectory>>();

/** Fetched once per process and CA; a failed fetch is forgotten so the next pass asks again. */
export function acmeDirectory(directoryUrl: string): Promise<AcmeDirectory> {
  let directory = directories.get(directoryUrl);
  if (!directory) {
    expectCaAnswer(directoryUrl, 'directory');
    directory = acme.axios.get(directoryUrl, { validateStatus: (status) => status === 200 }).then(
      (response) => {
        const data = response.data as { renewalInfo?: unknown; meta?: { profiles?: unknown } };
        return {
          renewalInfo: typeof data.renewalInfo === 'string' ? data.renewalInfo : undefined,
          profiles: data.meta?.profiles && typeof data.meta.profiles === 'object' ? (data.meta.profiles as Record<string, string>) : undefined,
        };
      },
      (error: Error) => {
        directories.delete(directoryUrl);
        throw new Error(`cannot read the ACME directory ${directoryUrl}: ${error.message}`);
      },
    );
    directories.set(directoryUrl, directory);
  }
  return directory;
}
