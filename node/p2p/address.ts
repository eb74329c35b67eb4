/**
 * A node's public p2p address from a host name or IP and a port, as the genesis and the peer lists
 * carry it: `/ip4/…`, `/ip6/…` or `/dns4/…` (a DNS name resolves on each dial, so an organisation
 * can move its node to another IP without a genesis change).
 */

/** `host`, `host:port`, `[v6]` or `[v6]:port`; `port` undefined when not given. */
export function parseHostPort(text: string): { host: string; port: number | undefined } {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  const [host, portText] = v6 ? [v6[1], v6[2]] : text.split(':').length === 2 ? text.split(':') : [text];
  if (!host || /[\s/]/.test(host) || (!v6 && host.includes(':')))
    throw new Error(`"${text}": expected host[:port] (an IPv6 address in brackets)`);
  if (portText === undefined) return { host, port: undefined };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new Error(`"${text}": port must be 1-65535`);
  return { host, port };
}

/** The multiaddr other nodes dial: `/ip4/203.0.113.7/tcp/7201`, `/dns4/node.kommune.dk/tcp/7201`. */
export function hostMultiaddr(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::')
    throw new Error(`"${host}" means any interface: give the address the other nodes dial`);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return `/ip4/${host}/tcp/${port}`;
  if (host.includes(':')) return `/ip6/${host}/tcp/${port}`;
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(host))
    throw new Error(`"${host}" is neither an IP address nor a DNS name`);
  return `/dns4/${host}/tcp/${port}`;
}

/** Addresses that mean "this machine" or "any interface": never announced, never in a genesis across hosts. */
export const isLocalOnly = (host: string): boolean => /^(127\.|0\.0\.0\.0$|localhost$|::1?$)/.test(host);
