/**
 * The libp2p host of a consortium node: its key, addresses and topics from the configuration, and
 * the allow-list rule — a peer is admitted if it is a configured observer, an authority at the next
 * height, or an authority of a change already decided and not yet in force (an authority voted in,
 * or a rotated key, connects and catches up during the two blocks before it must vote). The rule is
 * consulted per connection, so changes apply without a restart; a peer that leaves the list is hung
 * up on. Besides its configured peers the node dials every authority at its on-chain address
 * (peers.ts), so an authority voted in is dialled without a restart or an edited peer list.
 */
import type { Chain } from '../chain/chain.ts';
import type { NodeConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Authority } from '../protocol/genesis.ts';
import type { MessageSigner } from '../protocol/signature.ts';
import { authoritySchedule } from '../state/modules/governance-schedule.ts';
import { TOPICS, topicName } from './gossip.ts';
import { createHost, type RunningHost } from './host.ts';
import { authorityPeers } from './peers.ts';

export interface NodeHostComponents {
  readonly p2p: NonNullable<NodeConfig['p2p']>;
  readonly signer: MessageSigner;
  readonly chain: Pick<Chain, 'authorityRecordsAt' | 'head' | 'rules' | 'genesis' | 'readState'>;
  readonly log: Logger;
}

/** The authorities at the next height and of the latest decided change, each once. */
export function allowedAuthorities(chain: Pick<Chain, 'authorityRecordsAt' | 'head'>): readonly Authority[] {
  const next = chain.authorityRecordsAt(chain.head.height + 1);
  const latest = chain.authorityRecordsAt(Number.MAX_SAFE_INTEGER);
  if (latest === next) return next;
  return [...next, ...latest.filter((a) => !next.some((b) => b.publicKey === a.publicKey))];
}

/**
 * A key that was an authority's and is not in the latest set was rotated away or voted out: the
 * other members' gaters refuse it, so this node will neither vote nor follow. Said once, at start.
 */
function warnIfRetired(chain: NodeHostComponents['chain'], key: string, log: Logger): void {
  const schedule = authoritySchedule({ get: (k) => chain.readState(k) }, chain.genesis);
  const was = schedule.some((e) => e.authorities.some((a) => a.publicKey === key));
  const is = schedule.at(-1)?.authorities.some((a) => a.publicKey === key);
  if (was && !is)
    log.error(
      { publicKey: key },
      "this node's key is no longer an authority key (rotated or voted out): the other members refuse it; " +
        'after a rotation, start the node with the new key file (deploy/CEREMONY.md)',
    );
}

export async function openNodeHost({ p2p, signer, chain, log }: NodeHostComponents): Promise<RunningHost> {
  const observers = new Set(p2p.observers);
  const me = signer.publicKey;
  const running = await createHost({
    identity: signer,
    listen: p2p.listen,
    ...(p2p.announce ? { announce: p2p.announce } : {}),
    peers: p2p.peers,
    discover: () => authorityPeers(allowedAuthorities(chain), me),
    topics: TOPICS.map((name) => topicName(chain.rules.chainId, name)),
    allowed: (key) => observers.has(key) || allowedAuthorities(chain).some((a) => a.publicKey === key),
    log: log.child({ component: 'p2p' }),
  });
  const { host } = running;
  warnIfRetired(chain, me, log);
  log.info({ peerId: host.peerId.toString(), listen: host.getMultiaddrs().map(String) }, 'p2p listening');
  return running;
}
