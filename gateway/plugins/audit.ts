/**
 * The audit entry of every call, once the response is sent (gateway/audit.ts says what it holds
 * and what it never holds). Public routes are audited only when they fail. Requests the framework
 * refuses before routing (a malformed URL, an over-long path parameter) run no hooks; the server
 * audits those with `auditRefusedBeforeRouting`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { answeredCode } from '../../node/api/errors.ts';
import type { AuditEntry, AuditSink } from '../audit.ts';
import { isPublicRoute } from '../components.ts';

export function entryOf(request: FastifyRequest, reply: FastifyReply): AuditEntry {
  const access = request.routeOptions?.config?.access;
  const caller = request.caller;
  const notes = request.auditNotes ?? {};
  const code = answeredCode(request);
  return {
    at: new Date().toISOString(),
    transactionId: request.transactionId || crypto.randomUUID(),
    ...(request.transactionTime ? { transactionTime: request.transactionTime } : {}),
    ...(caller ? { system: caller.system, cvr: caller.cvr, via: caller.via } : {}),
    ...(access?.service ? { service: access.service } : {}),
    ...(access?.action ? { action: access.action } : {}),
    method: request.method,
    route: request.routeOptions?.url ?? 'unknown',
    status: reply.statusCode,
    outcome: reply.statusCode < 400 ? 'ok' : reply.statusCode < 500 ? 'refused' : 'failed',
    ...(code ? { code } : {}),
    ...(notes.actor ? { actor: notes.actor } : {}),
    ...(notes.chainTransaction ? { chainTransaction: notes.chainTransaction } : {}),
    ...(notes.contract ? { contract: notes.contract } : {}),
    durationMs: request.startedAt ? Math.round((performance.now() - request.startedAt) * 10) / 10 : 0,
  };
}

export const audit = fp<{ sink: AuditSink }>(
  async (app, { sink }) => {
    app.addHook('onResponse', async (request, reply) => {
      if (isPublicRoute(request) && reply.statusCode < 400) return;
      sink.record(entryOf(request, reply));
    });
  },
  { name: 'tillid-audit', dependencies: ['tillid-transaction-id'] },
);

/** Audits a request the framework refused before routing, once its answer is sent. */
export function auditRefusedBeforeRouting(
  sink: AuditSink,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  reply.raw.once('finish', () => sink.record(entryOf(request, reply)));
}
