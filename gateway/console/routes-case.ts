/**
 * The child's case: opened by its case number (which leaves the form only as its pseudonym),
 * its overview across providers, and drafting a contract under it.
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.ts';
import { caseReference } from './case-ref.ts';
import { draftPayload } from './forms.ts';
import { access, type ConsoleKit, HEX64 } from './kit.ts';
import { casePage } from './pages/case.ts';
import { BASE } from './pages/layout.ts';

export function registerCaseRoutes(app: FastifyInstance, k: ConsoleKit): void {
  const { c, page, callerOf, sessionOf, formOf, act, contractOf, summariesOf, byId, withinKle } = k;
  // The case number arrives in a form body and leaves as its pseudonym: never in a URL or a log.
  app.post(`${BASE}/sag`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const { s, form } = formOf(request);
    const ref = caseReference(c.keyStore, s.person.cvr, String(form.sag ?? ''));
    if (!ref) throw new GatewayError('NO_SUBMITTER_KEY', 'no pseudonym secret');
    return reply.redirect(`${BASE}/sager/${ref}`, 303);
  });

  app.get<{ Params: { ref: string } }>(
    `${BASE}/sager/:ref`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { ref: HEX64 }, required: ['ref'] } },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const caller = callerOf(request, s);
      const all = await summariesOf(caller);
      // Contracts of the case outside the person's KLE ranges are counted, not opened.
      const { shown, outsideKle } = withinKle(
        caller,
        all.filter((x) => x.caseRef === request.params.ref),
      );
      const views = await Promise.all(shown.map((x) => contractOf(caller, x.id, s)));
      return page(reply, 200, casePage(s, request.params.ref, views, byId(all), outsideKle));
    },
  );

  app.post<{ Params: { ref: string } }>(
    `${BASE}/sager/:ref/kontrakter`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { ref: HEX64 }, required: ['ref'] } },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const payload = draftPayload(s.person.cvr, request.params.ref, form);
      // The person's KLE constraints are checked against the new contract's subject before signing.
      await act(
        request,
        s,
        'contract.create',
        'contract.create',
        payload,
        typeof payload.kle === 'string' ? { kle: payload.kle } : {},
      );
      return reply.redirect(`${BASE}/sager/${request.params.ref}`, 303);
    },
  );
}
