/**
 * Admitted proposals and votes for a height this node's engine has not started yet, kept by the
 * consensus host until it starts that height.
 *
 * Why (traced in the joining test with the stall re-send at 3 s, issue 15): the engine takes
 * messages for its own height and buffers those for the next one; anything for a later height it
 * dropped. A node catching up by block sync leaves its engine on the height it was stuck on while
 * the head moves past it, so the live height's proposal and votes — arriving during the sync, or
 * handed over by proposal assembly as each synced block landed — reached an engine two or more
 * heights behind and were dropped (the newcomer's engine, started at 28 after a sync to 27, had
 * dropped height 28's proposal and 7 of its votes; started at 36 after syncs to 35, it had
 * dropped the proposals of 31, 33 and 35 and 44 votes). It then ran the live height holding
 * nothing for it, the others decided it without it, and it noticed only when their messages were
 * three heights past its head (admission ignores those: 8 proposals and 64 votes in that run),
 * then synced two blocks and met the same loss: 12 batches of two blocks in 31 s. Only a re-send
 * after a stall brought the messages back, so a 1 s threshold hid it and 3 s did not. The
 * messages that admission ignored are asked for once caught up (host.ts #joinLiveHeight).
 *
 * Bounded like the engine's own next-height buffer: only heights up to head + MAX_HEIGHTS_AHEAD
 * (admission refuses further ones), at most `perAuthority` messages per authority and height, no
 * duplicates, and everything at or below the head is forgotten. Insertion-ordered: deterministic.
 */
import type { Hex } from '../protocol/hash.ts';
import { MAX_HEIGHTS_AHEAD } from './message-admission.ts';
import { type ConsensusMessage, heightOf, senderOf } from './tendermint/messages.ts';

const signatureOf = (m: ConsensusMessage): Hex =>
  m.kind === 'vote' ? m.vote.signature : m.proposal.signature;

export class EarlyMessages {
  readonly #perAuthority: number;
  /** Height → authority → messages. */
  readonly #byHeight = new Map<number, Map<Hex, ConsensusMessage[]>>();

  constructor(perAuthority = 16) {
    this.#perAuthority = perAuthority;
  }

  /** Keeps `message` for later; false if it is out of bounds or held already. */
  keep(message: ConsensusMessage, head: number): boolean {
    this.forget(head);
    const height = heightOf(message);
    if (height <= head || height > head + MAX_HEIGHTS_AHEAD) return false;
    const bySender = this.#byHeight.get(height) ?? new Map<Hex, ConsensusMessage[]>();
    const sender = senderOf(message);
    const held = bySender.get(sender) ?? [];
    if (held.length >= this.#perAuthority) return false;
    const signature = signatureOf(message);
    if (held.some((m) => signatureOf(m) === signature)) return false;
    held.push(message);
    bySender.set(sender, held);
    this.#byHeight.set(height, bySender);
    return true;
  }

  /** Whether anything is held for `height` (the network has evidently started it). */
  has(height: number): boolean {
    return this.#byHeight.has(height);
  }

  /** Hands over and forgets what is held for `height`. */
  take(height: number): ConsensusMessage[] {
    const bySender = this.#byHeight.get(height);
    this.#byHeight.delete(height);
    return bySender ? [...bySender.values()].flat() : [];
  }

  /** Forgets heights at or below the head: final, nothing to start. */
  forget(head: number): void {
    for (const height of [...this.#byHeight.keys()]) if (height <= head) this.#byHeight.delete(height);
  }
}
