/**
 * The network page: the block the gateway last verified, each node serving the person's
 * organisation (health, its own status, its fault counters from /metrics), the authority set by
 * height, the open membership proposals and one proposal with its votes (`?forslag=<transaction
 * hash>`), and the gateway's own recent warnings and errors (its log ring, gateway/log-ring.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { LogLine } from '../log-ring.ts';
import { access, type ConsoleKit, HEX64 } from './kit.ts';
import { BASE } from './pages/layout.ts';
import {
  type AuthorityView,
  countersOf,
  type NetworkView,
  type NodeRow,
  networkPage,
  type ProposalView,
} from './pages/network.ts';

/**
 * The log lines a person may see: those about no organisation or about theirs, and about no node
 * or one serving their organisation — the gateway serves several municipalities, and one's
 * operator learns nothing of another's callers or nodes here.
 */
export const recentFor = (lines: readonly LogLine[], cvr: string, nodes: ReadonlySet<string>): LogLine[] =>
  lines.filter((l) => (l.cvr === undefined || l.cvr === cvr) && (l.node === undefined || nodes.has(l.node)));

export function registerNetworkRoute(app: FastifyInstance, k: ConsoleKit): void {
  const { c, page, callerOf, sessionOf } = k;
  /** A node's answer, or undefined when it does not give one in time (shown as unknown). */
  const ask = async (url: string, as: 'json' | 'text') => {
    try {
      const answer = await c.router.fetch(url, { signal: AbortSignal.timeout(3000) });
      if (answer.ok) return as === 'json' ? ((await answer.json()) as unknown) : await answer.text();
    } catch {
      // The health column says why the gateway considers the node down.
    }
    return undefined;
  };
  app.get<{ Querystring: { forslag?: string } }>(
    `${BASE}/netvaerk`,
    {
      config: access,
      schema: {
        hide: true,
        querystring: { type: 'object', properties: { forslag: HEX64 }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const caller = callerOf(request, s);
      const head = await c.verifier.certifiedBlock(caller.cvr, 'latest');
      const nodes = await Promise.all(
        c.router.candidates(caller.cvr).map(async (url): Promise<NodeRow> => {
          const health = c.router.health().find((h) => h.url === url);
          const [status, metrics] = await Promise.all([
            ask(`${url}/v1/status`, 'json'),
            ask(`${url}/metrics`, 'text'),
          ]);
          return {
            url,
            healthy: health?.healthy ?? false,
            ...(health?.reason ? { reason: health.reason } : {}),
            ...(status ? { status: status as NodeRow['status'] } : {}),
            ...(typeof metrics === 'string' ? { counters: countersOf(metrics) } : {}),
          };
        }),
      );
      const authorities = await c.router.get<{ schedule: NetworkView['schedule'] }>(
        caller.cvr,
        '/v1/authorities',
      );
      const open = await c.router.get<{ proposals: ProposalView[] }>(caller.cvr, '/v1/governance/proposals');
      const candidates = new Set(c.router.candidates(caller.cvr));
      const asked = request.query.forslag;
      const proposal = asked
        ? ((await c.router.get<ProposalView>(caller.cvr, `/v1/governance/proposals/${asked}`)) ?? null)
        : undefined;
      return page(
        reply,
        200,
        networkPage(s, {
          chainId: c.router.status.chainId,
          head: {
            height: head.header.height,
            timestamp: head.header.timestamp,
            signatures: head.certificate?.signatures.length ?? 0,
          },
          nodes,
          schedule: (authorities?.schedule ?? []).map((e) => ({
            fromHeight: e.fromHeight,
            authorities: e.authorities.map(
              (a): AuthorityView => ({ name: a.name, cvr: a.cvr, publicKey: a.publicKey }),
            ),
          })),
          ...(proposal !== undefined ? { proposal } : {}),
          // undefined when the node does not list them (an older node): the page says so.
          ...(open ? { openProposals: open.proposals } : {}),
          log: c.logRing ? recentFor(c.logRing.recent(), caller.cvr, candidates) : undefined,
        }),
      );
    },
  );
}
