/**
 * A lying "node" for gateway tests: a proxy in front of a real node that lets `tamper` rewrite each
 * JSON answer it forwards. Stopped when the test ends.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// biome-ignore lint/suspicious/noExplicitAny: the liar edits arbitrary JSON
export type Loose = any;

export async function liar(
  t: { after(fn: () => unknown): void },
  target: string,
  tamper: (path: string, body: Loose) => Loose,
): Promise<string> {
  const server: Server = createServer(async (req, res) => {
    try {
      const upstream = await fetch(`${target}${req.url}`);
      const body = tamper(req.url ?? '', await upstream.json());
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    } catch {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'BAD_GATEWAY', message: 'upstream unreachable' }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
