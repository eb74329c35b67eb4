/**
 * The auditor's routes: the verification status and the contracts, a contract's timeline, and the
 * document check (the file is compared with an on-chain commitment and not stored). Reading needs
 * `contract.read`, as every contract page; the check itself changes nothing.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../caller.ts';
import { FormError } from './forms.ts';
import { access, type ConsoleKit, HEX64 } from './kit.ts';
import {
  auditContractPage,
  auditPage,
  type Commitment,
  type TimelineEvent,
  type Verification,
} from './pages/audit.ts';
import { BASE } from './pages/layout.ts';
import type { ContractView } from './pages/views.ts';

type Audited = ContractView & {
  timeline: readonly TimelineEvent[];
  reports?: Readonly<Record<string, { document: string; height: number }>>;
  documents?: readonly { docType: string; document: string; height: number }[];
};

/** The contract's on-chain commitments: its status reports by period, then its other documents. */
const commitmentsOf = (c: Audited): Commitment[] => [
  ...Object.entries(c.reports ?? {}).map(([period, r]) => ({
    commitment: r.document,
    label: `statusrapport for periode ${period}`,
    height: r.height,
  })),
  ...(c.documents ?? []).map((d) => ({
    commitment: d.document,
    label: `dokument (${d.docType})`,
    height: d.height,
  })),
];

const params = { type: 'object', properties: { id: HEX64 }, required: ['id'] } as const;

export function registerAuditRoutes(app: FastifyInstance, k: ConsoleKit): void {
  const { c, page, callerOf, sessionOf, checkCsrf, contractOf, summariesOf } = k;

  /** The gateway's verified head (its certificate checked against the authorities in force). */
  const verification = async (caller: Caller): Promise<Verification> => {
    const head = await c.verifier.certifiedBlock(caller.cvr, 'latest');
    const body = await c.router.get<{
      schedule: { fromHeight: number; authorities: readonly unknown[] }[];
    }>(caller.cvr, '/v1/authorities');
    const schedule = body?.schedule ?? [];
    const inForce = schedule.filter((e) => e.fromHeight <= head.header.height).at(-1);
    return {
      chainId: c.router.status.chainId,
      height: head.header.height,
      hash: head.hash,
      timestamp: head.header.timestamp,
      signatures: head.certificate?.signatures.length ?? 0,
      authorities: inForce?.authorities.length ?? 0,
      genesisAuthorities: schedule[0]?.authorities.length ?? 0,
      pinnedGenesis: c.config.genesisFile !== undefined,
    };
  };
  const audited = async (request: FastifyRequest, id: string) => {
    const s = sessionOf(request);
    const caller = callerOf(request, s);
    const contract = (await contractOf(caller, id, s)) as unknown as Audited;
    return { s, caller, contract, v: await verification(caller) };
  };

  app.get(`${BASE}/revision`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const s = sessionOf(request);
    const caller = callerOf(request, s);
    const contracts = await summariesOf(caller);
    return page(reply, 200, auditPage(s, await verification(caller), contracts));
  });

  app.get<{ Params: { id: string } }>(
    `${BASE}/revision/kontrakter/:id`,
    { config: access, schema: { hide: true, params } },
    async (request, reply) => {
      const { s, contract, v } = await audited(request, request.params.id);
      return page(reply, 200, auditContractPage(s, v, contract, commitmentsOf(contract)));
    },
  );

  // A POST only because a file is sent; it is read into memory, hashed with the stored salt, dropped.
  app.post<{ Params: { id: string } }>(
    `${BASE}/revision/kontrakter/:id/dokument`,
    { config: access, schema: { hide: true, params } },
    async (request, reply) => {
      const s = sessionOf(request);
      if (!c.documents) throw new FormError('Gatewayen gemmer ikke dokumenter.', 'DOCUMENT_STORE_FAILED');
      if (!request.isMultipart()) throw new FormError('Send dokumentet som fil.');
      const file = await request.file();
      const field = (name: string) => {
        const f = file?.fields[name];
        return f && !Array.isArray(f) && f.type === 'field' ? String(f.value) : undefined;
      };
      checkCsrf(request, s, field('_csrf'));
      if (!file || file.filename === '') throw new FormError('Vælg filen, der skal kontrolleres.');
      const bytes = await file.toBuffer();
      if (bytes.length === 0) throw new FormError('Filen er tom.');
      const { caller, contract, v } = await audited(request, request.params.id);
      const commitments = commitmentsOf(contract);
      const chosen = commitments.find((x) => x.commitment === field('commitment'));
      if (!chosen) throw new FormError('Vælg et dokument fra kontraktens liste.');
      const { verdict } = await c.documents.check(caller, chosen.commitment, bytes);
      request.auditNotes.contract = contract.id;
      return page(
        reply,
        200,
        auditContractPage(s, v, contract, commitments, {
          verdict,
          label: chosen.label,
          filename: file.filename,
        }),
      );
    },
  );
}
