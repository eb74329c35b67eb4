/**
 * What a container test runs on the host for the containers to reach: a TCP relay to a service that
 * listens on loopback only (the shared RabbitMQ), and an HTTP receiver (a municipality's webhook
 * endpoint). Both listen on the host's address on the cluster's control network, the address the
 * containers see as their gateway, on ports the OS picks.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { docker } from './cluster.ts';

/** The host's address on a Docker bridge network (the network's gateway). */
export async function controlHostAddress(network: string): Promise<string> {
  const address = await docker('network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', network);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`no IPv4 gateway on ${network}: "${address}"`);
  return address;
}

export interface Relay {
  readonly port: number;
  close(): void;
}

/** Forwards every connection to `host:port` from `listenHost` on a free port; bytes untouched. */
export async function relayTo(listenHost: string, host: string, port: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(port, host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

export interface Received {
  readonly body: string;
  readonly signature: string | undefined;
}

/** An HTTP endpoint that records every POST body (and its `x-tillid-signature`) and answers 204. */
export async function webhookReceiver(
  listenHost: string,
): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const server: Server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      received.push({ body, signature: req.headers['x-tillid-signature'] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve());
  });
  return {
    url: `http://${listenHost}:${(server.address() as AddressInfo).port}/tillid`,
    received,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
