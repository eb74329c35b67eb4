/**
 * The network page: the block the gateway last verified, and each node serving the person's
 * organisation with the gateway's health verdict and the node's own status.
 */
import type { FastifyInstance } from 'fastify';
import { access, type ConsoleKit } from './kit.ts';
import { BASE } from './pages/layout.ts';
import { type NodeRow, networkPage } from './pages/network.ts';

export function registerNetworkRoute(app: FastifyInstance, k: ConsoleKit): void {
  const { c, page, callerOf, sessionOf } = k;
  app.get(`${BASE}/netvaerk`, { config: access, schema: { hide: true } }, async (request, reply) => {
    const s = sessionOf(request);
    const caller = callerOf(request, s);
    const head = await c.verifier.certifiedBlock(caller.cvr, 'latest');
    const nodes = await Promise.all(
      c.router.candidates(caller.cvr).map(async (url) => {
        const health = c.router.health().find((h) => h.url === url);
        let status: NodeRow['status'];
        try {
          const answer = await c.router.fetch(`${url}/v1/status`, { signal: AbortSignal.timeout(3000) });
          if (answer.ok) status = (await answer.json()) as NodeRow['status'];
        } catch {
          // Shown as unknown; the health column says why the gateway considers it down.
        }
        return {
          url,
          healthy: health?.healthy ?? false,
          ...(health?.reason ? { reason: health.reason } : {}),
          ...(status ? { status } : {}),
        };
      }),
    );
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
      }),
    );
  });
}
