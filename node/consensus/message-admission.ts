/**
 * Gossip validation of consensus messages, before they reach the engine: a message for a height
 * final before our head is of no use; one for our head's height still is — the engine checks it
 * for equivocation (tendermint/late-evidence.ts: an equivocator cut off while that height ran
 * shows its two faces only afterwards) and a peer still finishing that height can count it. One
 * far ahead means this node is behind (only block sync helps, and the engine would buffer it
 * without end), and a sender must be an authority at the message's height — membership changes
 * apply from the next height, so the set is looked up per height.
 */
import type { Chain } from '../chain/chain.ts';
import type { Hex } from '../protocol/hash.ts';
import { type ConsensusMessage, heightOf, senderOf } from './tendermint/messages.ts';

/** Consensus messages for heights further ahead than this are not admitted (a sync is due). */
export const MAX_HEIGHTS_AHEAD = 2;

export type Admission = { verdict: 'accept' } | { verdict: 'ignore' | 'reject'; reason: string };

/**
 * The verdict on `message`, and the head its sender evidently holds when that is two or more
 * heights past ours: a message for height h means someone holds h - 1, and two ahead of our
 * engine, consensus has moved on without us (the caller notes it to catch up, whatever the verdict).
 */
export function admitMessage(
  chain: Chain,
  message: ConsensusMessage,
): { admission: Admission; peerHead?: number } {
  const chainId = message.kind === 'vote' ? message.vote.chainId : message.proposal.chainId;
  if (chainId !== chain.rules.chainId) return { admission: { verdict: 'reject', reason: 'another chain' } };
  const height = heightOf(message);
  const head = chain.head.height;
  if (height < head) return { admission: { verdict: 'ignore', reason: 'height already final' } };
  const peerHead = height >= head + 3 ? { peerHead: height - 1 } : {};
  if (height > head + MAX_HEIGHTS_AHEAD)
    return { admission: { verdict: 'ignore', reason: 'height far ahead' }, ...peerHead };
  if (!chain.authoritiesAt(height).includes(senderOf(message)))
    return { admission: { verdict: 'reject', reason: 'sender is not an authority' }, ...peerHead };
  return { admission: { verdict: 'accept' }, ...peerHead };
}

/** Heights without a message from an authority after which its proposer turns are cut short. */
export const SILENT_HEIGHTS = 2;

/**
 * Which authorities are heard from. Every live authority votes at every height, so one that has
 * sent nothing for the last SILENT_HEIGHTS heights is taken to be down, and the engine does not
 * wait a full propose timeout on its turns (the Tendermint paper's timeouts stay correct either
 * way; this only saves time while it is down).
 */
export class AuthorityHearing {
  /** The highest height each authority has sent us a message for. */
  readonly #heardAt = new Map<Hex, number>();
  /** The head this host started at: no authority is judged silent before SILENT_HEIGHTS more. */
  #startedAt = 0;

  started(head: number): void {
    this.#startedAt = head;
  }

  heard(message: ConsensusMessage): void {
    const sender = senderOf(message);
    this.#heardAt.set(sender, Math.max(this.#heardAt.get(sender) ?? 0, heightOf(message)));
  }

  /** Never true for `me`: this node knows it is alive. */
  silent(authority: Hex, head: number, me: Hex | undefined): boolean {
    if (authority === me || head < this.#startedAt + SILENT_HEIGHTS) return false;
    return (this.#heardAt.get(authority) ?? 0) <= head - SILENT_HEIGHTS;
  }
}
