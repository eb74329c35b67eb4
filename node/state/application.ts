/**
 * The application a Tillid chain runs: its modules, in one place, so the node, the offline
 * verifier and any tool replaying a chain run exactly the same state machine. The order is part of
 * the protocol: block-start hooks run in it.
 */
import type { Genesis } from '../protocol/genesis.ts';
import { contractModule } from './contracts/module.ts';
import { type ModuleRegistry, registry } from './module.ts';
import { anchorModule } from './modules/anchor.ts';
import { evidenceModule } from './modules/evidence.ts';
import { governanceModule } from './modules/governance.ts';
import { partyModule } from './party/module.ts';

export const applicationModules = (genesis: Genesis): ModuleRegistry =>
  registry([
    anchorModule,
    governanceModule(genesis),
    evidenceModule(genesis),
    partyModule(genesis),
    contractModule(genesis),
  ]);
