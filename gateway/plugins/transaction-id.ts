/**
 * The service platform's transaction id and time (`x-TransaktionsId`, a UUID; `x-TransaktionsTid`,
 * ISO 8601) on every request: kept for the audit entry, echoed on the response, generated when the
 * caller sent none. A malformed one is refused (400 TRANSACTION_ID_INVALID).
 */
import fp from 'fastify-plugin';
import type { AuditNotes } from '../components.ts';
import { GatewayError } from '../errors.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const transactionId = fp(
  async (app) => {
    app.decorateRequest('auditNotes', null as unknown as AuditNotes);
    app.decorateRequest('startedAt', 0);
    app.decorateRequest('transactionId', '');
    app.addHook('onRequest', async (request, reply) => {
      request.startedAt = performance.now();
      request.auditNotes = {};
      const id = request.headers['x-transaktionsid'];
      const time = request.headers['x-transaktionstid'];
      request.transactionId =
        typeof id === 'string' && UUID.test(id) ? id.toLowerCase() : crypto.randomUUID();
      reply.header('x-transaktionsid', request.transactionId);
      if (id !== undefined && (typeof id !== 'string' || !UUID.test(id)))
        throw new GatewayError('TRANSACTION_ID_INVALID', 'x-TransaktionsId must be a UUID');
      if (time !== undefined) {
        if (typeof time !== 'string' || Number.isNaN(Date.parse(time)))
          throw new GatewayError('TRANSACTION_ID_INVALID', 'x-TransaktionsTid must be an ISO 8601 time');
        request.transactionTime = time;
      }
    });
  },
  { name: 'tillid-transaction-id' },
);
