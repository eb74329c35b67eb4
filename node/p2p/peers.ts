/**
 * Peers learned from the chain: every authority's on-chain address (governance.propose's
 * `address`, the genesis' for the founders) with its peer id, which is its key (identity.ts). A
 * node keeps these connected besides its configured peers, so an authority voted in is dialled
 * without a restart or an edited peer list, and `tillid network join` writes them into a joiner's
 * config.
 */
import type { Authority } from '../protocol/genesis.ts';
import type { Hex } from '../protocol/hash.ts';
import { peerIdForPublicKey } from './identity.ts';

/** The dialable multiaddrs (`<address>/p2p/<peer id>`) of `authorities` other than `self`. */
export async function authorityPeers(authorities: readonly Authority[], self: Hex): Promise<string[]> {
  const out: string[] = [];
  for (const a of authorities) {
    if (a.publicKey === self || !a.address) continue;
    out.push(`${a.address.replace(/\/p2p\/[^/]+$/, '')}/p2p/${await peerIdForPublicKey(a.publicKey)}`);
  }
  return out;
}
