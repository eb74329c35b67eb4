/**
 * Where each node of a `network init` lives: its public p2p address (the genesis and the peer
 * lists), what it listens on and announces, and its API's bind address and port. One host for all
 * (the development network): ports per node on that host. Separate hosts (every municipality has
 * its own address): the same ports on each, the API reachable from the other hosts.
 */
import { DEFAULTS } from '../config.ts';
import { hostMultiaddr, isLocalOnly } from '../p2p/address.ts';
import { UsageError } from './args.ts';

export interface NodePlace {
  readonly address: string;
  readonly listen: string;
  readonly api: { host: string; port: number };
}

/** What placement needs of `network init`'s options (network.ts InitOptions). */
export interface PlacementOptions {
  readonly municipalities: readonly { name: string; host?: string; port?: number }[];
  readonly basePort: number;
  readonly host: string;
  readonly apiHost?: string;
}

export function placeNodes(o: PlacementOptions): NodePlace[] {
  const separate = o.municipalities.some((m) => m.host !== undefined);
  const missing = o.municipalities.filter((m) => m.host === undefined).map((m) => m.name);
  if (separate && missing.length > 0)
    throw new UsageError(
      `separate hosts: give every municipality an address (--member); missing: ${missing.join(', ')}`,
    );
  const places = o.municipalities.map((m, i) => {
    const host = separate ? (m.host as string) : o.host;
    const p2pPort = separate ? (m.port ?? o.basePort + 100) : o.basePort + 100 + i;
    let address: string;
    try {
      address = hostMultiaddr(host, p2pPort);
    } catch (e) {
      throw new UsageError(`${m.name}: ${(e as Error).message}`);
    }
    // Loopback-only networks listen on loopback; anything reachable from elsewhere on every
    // interface (a container's or NAT'ed host's public address is not one of its own).
    const listenHost =
      isLocalOnly(host) && /^\d/.test(host)
        ? `/ip4/${host}`
        : host.includes(':')
          ? '/ip6/::'
          : '/ip4/0.0.0.0';
    return {
      address,
      listen: `${listenHost}/tcp/${p2pPort}`,
      api: {
        host: o.apiHost ?? (separate ? '0.0.0.0' : DEFAULTS.api.host),
        port: separate ? o.basePort : o.basePort + i,
      },
    };
  });
  const seen = new Map<string, string>();
  o.municipalities.forEach((m, i) => {
    const at = places[i]?.address as string;
    const other = seen.get(at);
    if (other) throw new UsageError(`${m.name} and ${other} have the same address ${at}`);
    seen.set(at, m.name);
  });
  return places;
}
