/**
 * POST /borger/sager/:ref/henvendelser — a citizen writes to the municipality about one of the
 * services agreed in their case (or their child's): a comment or a request for correction. Checked
 * before anything happens (the case is theirs now, the service is agreed under it, the text passes
 * `checkText`); then stored off chain, its commitment anchored on chain and the message delivered
 * to the case system (`messages.ts`). A refusal changes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { access, HEX64 } from '../console/kit.ts';
import { checkText, MESSAGE_KINDS, type MessageKind } from './messages.ts';
import { CITIZEN_BASE } from './pages.ts';
import { CitizenRefusal } from './refusal.ts';
import type { CitizenRouteKit } from './route-kit.ts';
import { servicesOf } from './services.ts';

export function registerMessageRoutes(app: FastifyInstance, ck: CitizenRouteKit): void {
  const { c, d, oneOf, formOf } = ck;
  app.post<{ Params: { ref: string } }>(
    `${CITIZEN_BASE}/sager/:ref/henvendelser`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { ref: HEX64 }, required: ['ref'] } },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const { municipality, one } = await oneOf(s, request.params.ref);
      const kind = form.kind;
      if (typeof kind !== 'string' || !(MESSAGE_KINDS as readonly string[]).includes(kind))
        throw new CitizenRefusal(
          'MESSAGE_REFUSED',
          'Vælg, om det er en bemærkning eller en anmodning om rettelse.',
        );
      const services =
        (await servicesOf(c, d.caseSystem, municipality, new Set([one.ref]))).get(one.ref) ?? [];
      const contract = services.find((x) => x.contract.id === form.contract)?.contract.id;
      if (!contract)
        throw new CitizenRefusal('MESSAGE_REFUSED', 'Vælg en af de ydelser, der er aftalt i sagen.');
      const text = checkText(form.text);
      if (!s.person.handle) throw new CitizenRefusal('CASE_NOT_YOURS', 'Sagen er ikke din.');
      await d.stores.messages.send({
        handle: s.person.handle,
        municipality,
        caseRef: one.ref,
        caseNumber: one.caseNumber,
        contract,
        kind: kind as MessageKind,
        text,
      });
      return reply.redirect(`${CITIZEN_BASE}/sager/${one.ref}#henvendelser`, 303);
    },
  );
}
