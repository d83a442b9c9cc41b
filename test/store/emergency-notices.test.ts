import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Assessment } from '../../src/agent/assess.js';
import type { AgentPorts } from '../../src/agent/ports.js';
import { announceEmergency } from '../../src/agent/emergency-notice.js';
import type { CertificateSpec } from '../../src/config/schema.js';
import { FileStateStore } from '../../src/store/file-state-store.js';
import type { StateStore } from '../../src/store/state-store.js';
import { recordingLogger } from './recording-logger.js';

/**
 * The emergencies already announced (`notices#emergency`) only prevent repeats: when the store cannot give
 * or take them, the emergency is announced anyway and nothing is thrown at the certificate's renewal.
 */

const root = mkdtempSync(join(tmpdir(), 'certkeeper-notices-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = { name: 'urgent' } as CertificateSpec;
const notAfter = new Date(Date.now() + 3_600_000);
const assessment = {
  decision: { findings: [{ check: 'Emergency', message: 'less than 1/20 of its lifetime left' }] },
  observation: { regions: [{ region: 'us-east-1', facts: { serial: '0a1b', notBefore: new Date(notAfter.getTime() - 20 * 3_600_000), notAfter } }] },
} as unknown as Assessment;

function contextWith(store: StateStore): AgentPorts {
  return { store: { state: store } } as unknown as AgentPorts;
}

describe('announceEmergency', () => {
  it('announces once per deployed serial, remembered in the store', async () => {
    const store = new FileStateStore(join(root, 'ok'));
    const log = recordingLogger();
    await announceEmergency(spec, assessment, contextWith(store), log);
    await announceEmergency(spec, assessment, contextWith(store), log);
    expect(log.events.map((event) => event.event)).toEqual(['certificate.emergency']);
    expect(await store.get('notices#emergency')).toEqual({ urgent: '0a1b' });
  });

  it('a store that cannot be read or written: announced (with why), and no error for the renewal', async () => {
    const broken = new FileStateStore(join(root, 'broken'));
    const failing = Object.assign(Object.create(broken) as StateStore, {
      get: () => Promise.reject(new Error('cannot read /state/notices/emergency.json: EIO')),
      update: () => Promise.reject(new Error('ENOSPC')),
    });
    const log = recordingLogger();
    await expect(announceEmergency(spec, assessment, contextWith(failing), log)).resolves.toBeUndefined();
    expect(log.events).toEqual([
      expect.objectContaining({
        event: 'certificate.emergency',
        serial: '0a1b',
        noticesError: 'cannot read which emergencies were announced: cannot read /state/notices/emergency.json: EIO',
      }),
    ]);
  });
});
