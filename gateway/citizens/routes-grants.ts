/**
 * Consent and power of attorney (`grants.ts`) on the citizens' pages:
 *
 *   POST /borger/sager/:ref/fuldmagter                      give access to the case until a date: the code, once
 *   POST /borger/sager/:ref/fuldmagter/:id/tilbagekald      revoke it
 *   POST /borger/fuldmagter                                 the other person enters the code
 *   GET  /borger/fuldmagter/:id                             the case's services, read only, while the grant holds
 *
 * Giving and revoking need the case to be the citizen's now (theirs or a child's in their custody).
 * Using a grant needs it to be the person's, not expired, not revoked, and its giver to still have
 * the case: a guardian's grant ends with the guardian's custody.
 */
import type { FastifyInstance } from 'fastify';
import { access, HEX64 } from '../console/kit.ts';
import { CITIZEN_BASE, citizenLayout, grantedCasePage } from './pages.ts';
import { grantCodeBody } from './pages-say.ts';
import { CitizenRefusal } from './refusal.ts';
import type { CitizenRouteKit } from './route-kit.ts';
import { casesOf, servicesOf } from './services.ts';

const UUID = {
  type: 'string',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
} as const;
const refParams = { type: 'object', properties: { ref: HEX64 }, required: ['ref'] } as const;

export function registerGrantRoutes(app: FastifyInstance, ck: CitizenRouteKit): void {
  const { c, d, page, oneOf, formOf, sessionOf } = ck;
  const grants = d.stores.grants;

  app.post<{ Params: { ref: string } }>(
    `${CITIZEN_BASE}/sager/:ref/fuldmagter`,
    { config: access, schema: { hide: true, params: refParams } },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const { municipality, one } = await oneOf(s, request.params.ref);
      const until = grants.checkUntil(form.until);
      if (!s.person.handle) throw new CitizenRefusal('CASE_NOT_YOURS', 'Sagen er ikke din.');
      const { code } = await grants.give({ grantor: s.person.handle, caseRef: one.ref, municipality, until });
      return page(reply, 200, citizenLayout('Fuldmagt oprettet', grantCodeBody(one.ref, code, until), s));
    },
  );

  app.post<{ Params: { ref: string; id: string } }>(
    `${CITIZEN_BASE}/sager/:ref/fuldmagter/:id/tilbagekald`,
    {
      config: access,
      schema: {
        hide: true,
        params: { type: 'object', properties: { ref: HEX64, id: UUID }, required: ['ref', 'id'] },
      },
    },
    async (request, reply) => {
      const { s } = formOf(request);
      const { one } = await oneOf(s, request.params.ref);
      await grants.revoke(request.params.id, one.ref);
      return reply.redirect(`${CITIZEN_BASE}/sager/${one.ref}#fuldmagter`, 303);
    },
  );

  app.post(
    `${CITIZEN_BASE}/fuldmagter`,
    { config: access, schema: { hide: true } },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const grant = await grants.redeem(form.code, s.person.grantee);
      return reply.redirect(`${CITIZEN_BASE}/fuldmagter/${grant.id}`, 303);
    },
  );

  app.get<{ Params: { id: string } }>(
    `${CITIZEN_BASE}/fuldmagter/:id`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: UUID }, required: ['id'] } },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const grant = grants.use(request.params.id, s.person.grantee);
      // The giver's access now, as the case system says: custody lost, the grant lapses with it.
      const giver = await casesOf(c, d.caseSystem, { handle: grant.grantor, grantee: '' });
      if (!giver?.cases.some((x) => x.ref === grant.caseRef))
        throw new CitizenRefusal(
          'GRANT_LAPSED',
          'Den, der gav dig fuldmagten, har ikke længere adgang til sagen. Derfor kan du heller ikke se den.',
        );
      const services = await servicesOf(c, d.caseSystem, grant.municipality, new Set([grant.caseRef]));
      return page(reply, 200, grantedCasePage(s, grant.until, services.get(grant.caseRef) ?? []));
    },
  );
}
