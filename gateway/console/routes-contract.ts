/**
 * One contract: its page, proposals, approvals (saying in Danish what is missing when a person
 * may not approve), and a provider's status report (file off chain, commitment on chain).
 */
import type { FastifyInstance } from 'fastify';
import { authorize } from '../authorization.ts';
import { GatewayError, isGatewayError } from '../errors.ts';
import { policyDa } from './danish.ts';
import { FormError, int } from './forms.ts';
import { access, type ConsoleKit, HEX64 } from './kit.ts';
import { contractPage } from './pages/contract.ts';
import { BASE } from './pages/layout.ts';

export function registerContractRoutes(app: FastifyInstance, k: ConsoleKit): void {
  const { c, page, callerOf, sessionOf, checkCsrf, formOf, act, contractOf, summariesOf, byId, backTo } = k;
  app.get<{ Params: { id: string } }>(
    `${BASE}/kontrakter/:id`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: HEX64 }, required: ['id'] } },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const caller = callerOf(request, s);
      const contract = await contractOf(caller, request.params.id, s);
      return page(reply, 200, contractPage(s, contract, byId(await summariesOf(caller))));
    },
  );

  app.post<{ Params: { id: string } }>(
    `${BASE}/kontrakter/:id/forslag`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: HEX64 }, required: ['id'] } },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const action = form.action;
      if (!['activate', 'suspend', 'resume', 'terminate'].includes(String(action)))
        throw new FormError('Vælg en handling fra listen.');
      const contract = await contractOf(callerOf(request, s), request.params.id);
      request.auditNotes.contract = contract.id;
      await act(
        request,
        s,
        'contract.propose',
        'contract.propose',
        { contract: contract.id, action: String(action) },
        { contract },
      );
      return reply.redirect(backTo(contract), 303);
    },
  );

  app.post<{ Params: { id: string; motion: string } }>(
    `${BASE}/kontrakter/:id/forslag/:motion/godkend`,
    {
      config: access,
      schema: {
        hide: true,
        params: { type: 'object', properties: { id: HEX64, motion: HEX64 }, required: ['id', 'motion'] },
      },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const contract = await contractOf(callerOf(request, s), request.params.id);
      request.auditNotes.contract = contract.id;
      const motion = contract.motions.find((m) => m.id === request.params.motion);
      if (!motion) throw new GatewayError('MOTION_NOT_FOUND', 'no such motion on this contract');
      try {
        await act(
          request,
          s,
          'contract.approve',
          'contract.approve',
          { motion: motion.id },
          { contract, ...(form.role ? { role: String(form.role) } : {}) },
        );
      } catch (e) {
        // Say what the motion needs, so the person knows whom to ask.
        if (isGatewayError(e) && e.code === 'ROLE_NOT_PERMITTED' && motion.missing)
          throw new FormError(
            `Du har ikke en rettighed, der tillader at godkende. Forslaget mangler: ${policyDa(motion.missing)}.`,
            e.code,
          );
        throw e;
      }
      return reply.redirect(backTo(contract), 303);
    },
  );

  // A provider's status report: the file stored off chain (the gateway's document store, encrypted,
  // salted commitment), then `contract.report` with that commitment — never the file — on chain.
  app.post<{ Params: { id: string } }>(
    `${BASE}/kontrakter/:id/rapport`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: HEX64 }, required: ['id'] } },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      if (!c.documents) throw new FormError('Gatewayen gemmer ikke dokumenter.', 'DOCUMENT_STORE_FAILED');
      if (!request.isMultipart()) throw new FormError('Send rapporten som fil.');
      const file = await request.file();
      const field = (name: string) => {
        const f = file?.fields[name];
        return f && !Array.isArray(f) && f.type === 'field' ? String(f.value) : undefined;
      };
      checkCsrf(request, s, field('_csrf'));
      if (!file || file.filename === '') throw new FormError('Vælg rapportens fil.');
      const period = int(field('period'), 'Perioden', 1, 1200);
      const bytes = await file.toBuffer();
      if (bytes.length === 0) throw new FormError('Filen er tom.');
      const caller = callerOf(request, s);
      const contract = await contractOf(caller, request.params.id);
      request.auditNotes.contract = contract.id;
      // Refused before anything is stored when the person may not report on this contract.
      authorize(caller, 'contract.report', { contract });
      const { meta } = await c.documents.upload(caller, {
        bytes,
        docType: 'status-report',
        mediaType: file.mimetype,
        contract: contract.id,
      });
      await act(
        request,
        s,
        'contract.report',
        'contract.report',
        { contract: contract.id, period, document: meta.commitment },
        { contract },
      );
      return reply.redirect(backTo(contract), 303);
    },
  );
}
