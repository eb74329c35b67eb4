/**
 * The libp2p host of a consortium node: its key, addresses and topics from the configuration, and
 * the allow-list rule — a peer is admitted if it is a configured observer or an authority at the
 * next height. The rule is consulted per connection, so an authority added by vote is admitted
 * without a restart (and one voted out is refused).
 */
import type { Chain } from '../chain/chain.ts';
import type { NodeConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { MessageSigner } from '../protocol/signature.ts';
import { TOPICS, topicName } from './gossip.ts';
import { createHost, type RunningHost } from './host.ts';

export interface NodeHostComponents {
  readonly p2p: NonNullable<NodeConfig['p2p']>;
  readonly signer: MessageSigner;
  readonly chain: Pick<Chain, 'authoritiesAt' | 'head' | 'rules'>;
  readonly log: Logger;
}

export async function openNodeHost({ p2p, signer, chain, log }: NodeHostComponents): Promise<RunningHost> {
  const observers = new Set(p2p.observers);
  const running = await createHost({
    identity: signer,
    listen: p2p.listen,
    ...(p2p.announce ? { announce: p2p.announce } : {}),
    peers: p2p.peers,
    topics: TOPICS.map((name) => topicName(chain.rules.chainId, name)),
    allowed: (key) => observers.has(key) || chain.authoritiesAt(chain.head.height + 1).includes(key),
    log: log.child({ component: 'p2p' }),
  });
  const { host } = running;
  log.info({ peerId: host.peerId.toString(), listen: host.getMultiaddrs().map(String) }, 'p2p listening');
  return running;
}
