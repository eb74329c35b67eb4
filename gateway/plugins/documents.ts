/**
 * The off-chain document plugin (gateway/documents) in the gateway: its store from the config's
 * `documents` section, rights from the contract's parties plus the caller's roles, anchoring
 * through the gateway's signer, and the gateway's service agreements and audit (service
 * `documents`) around its routes.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type AccessLog, purposeOf } from '../access-log/log.ts';
import { ROLES, SIDE_OF_ROLE } from '../authorization.ts';
import type { Caller } from '../caller.ts';
import { type PluginComponents, serviceRoutes } from '../components.ts';
import { FileDocumentStore } from '../documents/file-store.ts';
import { documentRoutes } from '../documents/routes.ts';
import { type DocumentServiceOptions, ownerOrContractParties } from '../documents/service.ts';

/** Roles that may upload or erase documents; an auditor only reads. */
const writes = (caller: Caller, side: 'municipality' | 'any') =>
  caller.privileges.some(
    (p) =>
      (ROLES as readonly string[]).includes(p.role) &&
      p.role !== 'auditor' &&
      (side === 'any' || SIDE_OF_ROLE[p.role as (typeof ROLES)[number]] === 'municipality'),
  );

const reads = (caller: Caller) =>
  caller.privileges.some((p) => (ROLES as readonly string[]).includes(p.role));

/** The document service's options from the config: store, rights, anchoring through the gateway. */
export async function documentServiceOptions(
  c: PluginComponents,
  accessLog?: AccessLog,
): Promise<DocumentServiceOptions> {
  const options = c.config.documents ?? {};
  const dir = options.dir ?? resolve(join(c.config.keyStoreDir, '..', 'documents'));
  const store = await FileDocumentStore.open({
    dir,
    ...(options.keyDir ? { keyDir: options.keyDir } : {}),
    ...(options.masterKeyFile
      ? { masterKey: Buffer.from(readFileSync(options.masterKeyFile, 'utf8').trim(), 'hex') }
      : {}),
  });
  const parties = async (contract: string) => {
    try {
      return await c.router.get<{ municipality: string; provider: string }>(
        c.config.municipalities[0]?.cvr as string,
        `/v1/contracts/${contract}`,
      );
    } catch {
      return undefined;
    }
  };
  const byParties = ownerOrContractParties(parties);
  return {
    store,
    erasureLog: join(dir, 'erasures.jsonl'),
    ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
    authorize: async (caller, action, document) => {
      const roleAllows =
        action === 'download'
          ? reads(caller)
          : action === 'erase'
            ? writes(caller, 'municipality')
            : writes(caller, 'any');
      return roleAllows && (await byParties(caller, action, document));
    },
    // A download of a document under a case's contract is a read of the case: in its access log.
    // A node that does not answer fails the download (its error passes through) rather than serve an unlogged read.
    onDownload: async (caller, meta) => {
      if (!accessLog || !meta.contract) return;
      const contract = await c.router.get<{ municipality: string; caseRef?: string }>(
        c.config.municipalities[0]?.cvr as string,
        `/v1/contracts/${meta.contract}`,
      );
      if (!contract?.caseRef) return;
      await accessLog.record({
        caseRef: contract.caseRef,
        municipality: contract.municipality,
        cvr: caller.cvr,
        purpose: purposeOf(caller, contract.municipality),
        system: caller.system,
        what: 'document',
      });
    },
    submit: async (caller, tx) => {
      const result = await c.submitter.sign(caller.cvr, tx.type, { ...tx.payload }, false);
      return { hash: result.hash };
    },
  };
}

/** The document routes, on the options `documentServiceOptions` made (the console shares them). */
export async function documents(
  app: FastifyInstance,
  c: PluginComponents & { readonly documentOptions: DocumentServiceOptions },
): Promise<void> {
  app.addHook('onRoute', serviceRoutes('documents', 'document'));
  await app.register(documentRoutes, c.documentOptions);
}
