import type { ChallengeSession, PassOfSession } from '../ports/challenge-solver.js';
import type { DeployerPass } from '../ports/deployer.js';
import type { AgentPorts } from './ports.js';

/** What one pass (or one look) reads and shares: the challenge session and each deployer's view, cached for its life. */
export interface PassScope {
  /** DNS-01: name checks (lookups cached for the pass) and the renewals' shared changes. */
  challenges: ChallengeSession;
  /** Where certificates are deployed, in the order of `AgentPorts.deployers`. */
  deployers: DeployerPass[];
}

/**
 * `fleet` reads each listing once for every certificate; `single` asks about one certificate directly:
 * the second look after a lock, which must see the truth now. A pass gives `pass` (its ID, logger and work
 * slots), so its renewals can take part in its challenge session.
 */
export function openPassScope(ports: Pick<AgentPorts, 'solver' | 'deployers'>, mode: 'fleet' | 'single' = 'fleet', pass?: PassOfSession): PassScope {
  return { challenges: ports.solver.openSession(pass), deployers: ports.deployers.map((deployer) => deployer.forPass(mode)) };
}
