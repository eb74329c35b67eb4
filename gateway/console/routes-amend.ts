/**
 * Proposing an amendment: new monthly prices for the line items in force (each kept with its
 * `until`), optionally a new length — or one line item's price and/or last day — as a
 * `contract.propose` motion with action `amend`. The
 * template's `amend` policy decides who must approve it; the approval is the usual one.
 */
import type { FastifyInstance } from 'fastify';
import type { JsonObject } from '../../node/protocol/canonical.ts';
import { int, itemAmendment } from './forms.ts';
import { access, type ConsoleKit, HEX64 } from './kit.ts';
import { BASE } from './pages/layout.ts';

export function registerAmendRoute(app: FastifyInstance, k: ConsoleKit): void {
  const { callerOf, formOf, act, contractOf, backTo } = k;
  app.post<{ Params: { id: string } }>(
    `${BASE}/kontrakter/:id/aendring`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: HEX64 }, required: ['id'] } },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const contract = await contractOf(callerOf(request, s), request.params.id);
      request.auditNotes.contract = contract.id;
      const items = contract.terms.items.map((x, i) => ({
        code: x.code,
        monthly: int(form[`pris-${i}`], `Prisen for ${x.code}`, 1, 1_000_000) * 100,
        ...(x.until ? { until: x.until } : {}),
      }));
      const changes: JsonObject = {
        items,
        ...(form.months ? { months: int(form.months, 'Måneder', 1, 120) } : {}),
      };
      await act(
        request,
        s,
        'contract.propose',
        'contract.propose',
        { contract: contract.id, action: 'amend', changes },
        { contract },
      );
      return reply.redirect(backTo(contract), 303);
    },
  );

  // One line item amended: its price and/or its last day; the other items stay as they are.
  app.post<{ Params: { id: string } }>(
    `${BASE}/kontrakter/:id/aendring/ydelse`,
    {
      config: access,
      schema: { hide: true, params: { type: 'object', properties: { id: HEX64 }, required: ['id'] } },
    },
    async (request, reply) => {
      const { s, form } = formOf(request);
      const contract = await contractOf(callerOf(request, s), request.params.id);
      request.auditNotes.contract = contract.id;
      const items = itemAmendment(contract.terms.items, contract.start, form);
      await act(
        request,
        s,
        'contract.propose',
        'contract.propose',
        { contract: contract.id, action: 'amend', changes: { items } },
        { contract },
      );
      return reply.redirect(backTo(contract), 303);
    },
  );
}
