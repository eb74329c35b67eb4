/**
 * How the gateway reaches node APIs. Nodes of other organisations serve HTTPS with certificates
 * from the consortium's (or a municipality's own) CA, not a public one: with `nodeCaFile` the
 * gateway trusts exactly that CA for node calls — on node:https with its own agent, so the CA
 * applies to node calls only, never to webhooks or the token service. A certificate from any
 * other CA is refused, and the reason says so (health checks and start-up logs show it).
 */
import { Agent, request } from 'node:https';
import { describeTlsError } from '../node/api/tls-errors.ts';

export interface NodeRequest {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

export type NodeFetch = (url: string, init?: NodeRequest) => Promise<Response>;

const describeNodeError = (e: unknown, ca: boolean) => describeTlsError(e, 'nodeCaFile', ca);

/** `fetch` for node APIs; with `ca` (PEM), HTTPS node certificates must chain to it. */
export function nodeFetch(ca?: string): NodeFetch {
  if (ca === undefined)
    return async (url, init = {}) => {
      try {
        return await fetch(url, init);
      } catch (e) {
        throw describeNodeError(e, false);
      }
    };
  const agent = new Agent({ ca, keepAlive: true, minVersion: 'TLSv1.2' });
  return async (url, init = {}) => {
    if (!url.startsWith('https:')) return fetch(url, init);
    return new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        { method: init.method ?? 'GET', agent, headers: { ...init.headers }, signal: init.signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
            const status = res.statusCode ?? 502;
            // A Response may not carry a body with 204/304.
            const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            resolve(new Response(body, { status, headers }));
          });
          res.on('error', (e) => reject(describeNodeError(e, true)));
        },
      );
      req.on('error', (e) => reject(describeNodeError(e, true)));
      req.end(init.body);
    });
  };
}
