/**
 * `?proof=true` on the reads a municipality acts on: the answer comes back as a proven read
 * (state/commitment/proven-read.ts) — the value, or `null` for a proven absence, with the state
 * proofs, the certified header it is proven at and the authority changes since the genesis. Save
 * it as a file and `tillid proof verify` checks it offline.
 */
import type { FastifyReply } from 'fastify';
import type { ProvenRead } from '../state/commitment/proven-read.ts';
import type { ReadSpec } from '../state/commitment/reads.ts';

/** The querystring property every provable read declares. */
export const proofQuery = {
  proof: {
    type: 'string',
    enum: ['true', 'false'],
    description:
      'true: answer with a proof against a certified header (value null = proven absent); see README "Proven reads"',
  },
} as const;

export type ProveRead = (spec: ReadSpec) => Promise<ProvenRead>;

export const wantsProof = (query: { proof?: string }): boolean => query.proof === 'true';

/**
 * Sends a proven read. Serialized here because the plain answer's response schema would strip the
 * proof's fields.
 */
export async function sendProven(
  reply: FastifyReply,
  prove: ProveRead | undefined,
  spec: ReadSpec,
): Promise<FastifyReply> {
  if (!prove) return reply.code(400).send({ code: 'BAD_REQUEST', message: 'this API serves no proofs' });
  const proven = await prove(spec);
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(proven));
}
