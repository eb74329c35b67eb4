/**
 * The payment overview: a month's payment decisions on the person's organisation's contracts and
 * the status reports still due — the gateway's proven reads (`?municipality=` for a municipality,
 * `?party=` for a provider, gathered across the municipalities it has contracts with), under the
 * gateway's `contract.read` authorisation as `GET /v1/payments` and `/v1/reports`.
 */
import type { FastifyInstance } from 'fastify';
import { authorize } from '../authorization.ts';
import { access, type ConsoleKit } from './kit.ts';
import { BASE } from './pages/layout.ts';
import { type DecisionView, type DueReport, paymentsPage } from './pages/payments.ts';

const MONTH = '^\\d{4}-(0[1-9]|1[0-2])$';

export function registerPaymentsRoute(app: FastifyInstance, k: ConsoleKit): void {
  const { c, page, callerOf, sessionOf, summariesOf, byId } = k;
  app.get<{ Querystring: { maaned?: string } }>(
    `${BASE}/betalinger`,
    {
      config: access,
      schema: {
        hide: true,
        querystring: {
          type: 'object',
          properties: { maaned: { type: 'string', pattern: MONTH } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const caller = callerOf(request, s);
      authorize(caller, 'contract.read');
      // Without a month: the chain's current business month (its clock, not the gateway's).
      const month =
        request.query.maaned ??
        (
          await c.router.get<{ clock?: { businessDate?: string } }>(caller.cvr, '/v1/status')
        )?.clock?.businessDate?.slice(0, 7) ??
        new Date().toISOString().slice(0, 7);
      const who = c.router.isMunicipality(caller.cvr) ? 'municipality' : 'party';
      const [decisions, reports, contracts] = await Promise.all([
        c.router.get<{ decisions: DecisionView[] }>(
          caller.cvr,
          `/v1/payments?${who}=${caller.cvr}&month=${month}`,
        ),
        c.router.get<{ reports: DueReport[] }>(caller.cvr, `/v1/reports?party=${caller.cvr}`),
        summariesOf(caller),
      ]);
      return page(
        reply,
        200,
        paymentsPage(s, month, decisions?.decisions ?? [], reports?.reports ?? [], byId(contracts)),
      );
    },
  );
}
