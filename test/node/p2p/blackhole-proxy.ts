/**
 * A TCP forwarder that can turn every connection it carries into a black hole: bytes stop flowing
 * both ways but neither socket is closed — what a peer sees when the other end's address vanished
 * (a container moved to another Docker network: no RST, no FIN, just silence). While `refusing`,
 * new connections are closed at once (the peer is unreachable); after `heal()` new connections
 * are forwarded again, but the black-holed ones stay silent forever, as they do in production.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class BlackholeProxy {
  readonly #server: Server;
  readonly #live = new Set<{ a: Socket; b: Socket }>();
  readonly #held: Socket[] = [];
  #refusing = false;
  readonly #targetPort: number;
  port = 0;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
    this.#server = createServer((inbound) => {
      if (this.#refusing) {
        inbound.destroy();
        return;
      }
      const outbound = createConnection({ host: '127.0.0.1', port: this.#targetPort });
      const pair = { a: inbound, b: outbound };
      this.#live.add(pair);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      const drop = () => {
        if (!this.#live.delete(pair)) return;
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this.port;
  }

  /** Every current connection goes silent (kept open); new ones are refused until heal(). */
  partition(): void {
    this.#refusing = true;
    for (const pair of this.#live) {
      pair.a.unpipe(pair.b);
      pair.b.unpipe(pair.a);
      pair.a.pause();
      pair.b.pause();
      pair.a.removeAllListeners('close');
      pair.b.removeAllListeners('close');
      pair.a.on('error', () => {});
      pair.b.on('error', () => {});
      this.#held.push(pair.a, pair.b);
    }
    this.#live.clear();
  }

  heal(): void {
    this.#refusing = false;
  }

  async close(): Promise<void> {
    for (const s of this.#held) s.destroy();
    for (const pair of this.#live) {
      pair.a.destroy();
      pair.b.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
