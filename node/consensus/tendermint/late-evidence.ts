/**
 * Equivocation on the height this engine last finished. Messages for a final height can change
 * nothing, so the engine does not count them — but two conflicting statements one authority signed
 * for it are still proof of equivocation, and an equivocator that was cut off while that height
 * ran (or that only reaches us after we decided) shows its conflicting statements only then.
 * CometBFT does the same with the previous height's precommits (its LastCommit vote set).
 *
 * One height is watched: the one before the engine's (or the engine's own once it has decided),
 * seeded with what the engine held while it ran. Memory is bounded: at most `maxPerAuthority`
 * slots per authority beyond the seed, and one statement per slot (the first validly signed one).
 */
import { blockHash } from '../../protocol/block.ts';
import type { Hex } from '../../protocol/hash.ts';
import {
  type ConsensusMessage,
  heightOf,
  proposalSignatureValid,
  type SignatureCheck,
  senderOf,
  voteSignatureValid,
} from './messages.ts';

/** What one authority signed for one slot, and the statement itself. */
interface Slot {
  readonly value: string;
  readonly message: ConsensusMessage;
  reported: boolean;
}

const slotKey = (m: ConsensusMessage): string =>
  m.kind === 'vote'
    ? `${m.vote.authority}/${m.vote.round}/${m.vote.type}`
    : `${m.proposal.proposer}/${m.proposal.round}/proposal`;

/** What the statement says in its slot: two statements for one slot conflict when this differs. */
const statedValue = (m: ConsensusMessage): string =>
  m.kind === 'vote'
    ? String(m.vote.blockHash)
    : `${blockHash(m.proposal.block.header)}/${m.proposal.validRound}`;

export class LateEquivocationWatch {
  readonly #check: SignatureCheck;
  readonly #maxPerAuthority: number;
  #height = 0;
  #members = new Set<Hex>();
  #slots = new Map<string, Slot>();
  #added = new Map<Hex, number>();

  constructor(check: SignatureCheck, maxPerAuthority: number) {
    this.#check = check;
    this.#maxPerAuthority = maxPerAuthority;
  }

  /** The height watched (0: none yet). */
  get height(): number {
    return this.#height;
  }

  /**
   * Watches `height` from now on, forgetting the one before. `held`: validly signed messages the
   * engine held for it; conflicts among them were reported while the height ran.
   */
  watch(height: number, members: readonly Hex[], held: readonly ConsensusMessage[]): void {
    this.#height = height;
    this.#members = new Set(members);
    this.#slots = new Map();
    this.#added = new Map();
    for (const m of held) {
      const key = slotKey(m);
      const slot = this.#slots.get(key);
      if (!slot) this.#slots.set(key, { value: statedValue(m), message: m, reported: false });
      else if (slot.value !== statedValue(m)) slot.reported = true;
    }
  }

  /** A message for the watched height: the earlier conflicting statement, when it proves equivocation. */
  observe(m: ConsensusMessage): { first: ConsensusMessage; second: ConsensusMessage } | undefined {
    const sender = senderOf(m);
    if (heightOf(m) !== this.#height || !this.#members.has(sender)) return undefined;
    const key = slotKey(m);
    const value = statedValue(m);
    const slot = this.#slots.get(key);
    // A duplicate, or a slot already reported, costs a comparison, not a signature check.
    if (slot && (slot.value === value || slot.reported)) return undefined;
    if (!slot && (this.#added.get(sender) ?? 0) >= this.#maxPerAuthority) return undefined;
    const valid =
      m.kind === 'vote'
        ? voteSignatureValid(m.vote, this.#check)
        : proposalSignatureValid(m.proposal, blockHash(m.proposal.block.header), this.#check);
    if (!valid) return undefined;
    if (!slot) {
      this.#slots.set(key, { value, message: m, reported: false });
      this.#added.set(sender, (this.#added.get(sender) ?? 0) + 1);
      return undefined;
    }
    slot.reported = true;
    return { first: slot.message, second: m };
  }
}
