/**
 * The "last signed" guard. An authority that signs two different votes (or proposals) for the same
 * height, round and type is indistinguishable from a Byzantine one, and the lock it held is what
 * keeps a decided block decided. A node that crashes and restarts must therefore remember what it
 * signed: before signing the engine asks this log, and it records every signature here before the
 * message leaves the node. From the precommits it also rebuilds its lock after a restart.
 *
 * The memory implementation survives an engine restart in the simulator (the log object outlives
 * the engine, like a file outlives a process). A durable one must make `record` reach the disk
 * (fsync) before returning.
 */
import type { Block } from '../../protocol/block.ts';
import type { Proposal, Vote, VoteType } from './messages.ts';

export type SignedEntry =
  | { readonly kind: 'proposal'; readonly proposal: Proposal }
  | {
      readonly kind: 'vote';
      readonly vote: Vote;
      /** For a precommit for a block: the block, so the lock on it can be restored. */
      readonly block?: Block;
    };

export type SlotType = 'proposal' | VoteType;

export interface SignedVoteLog {
  /**
   * True when the log cannot vouch for what was signed before it was opened: its file was missing
   * (a data directory wiped or restored from a block backup, or the log deleted). A log that exists
   * vouches for everything, even on an empty chain. The host then signs nothing until other
   * authorities' heads bound what this key signed before (../rejoin.ts).
   */
  readonly lost?: boolean;
  /** Everything signed at `height`, in signing order. */
  signedAt(height: number): readonly SignedEntry[];
  /** Must be durable when it returns: the signed message is broadcast right after. */
  record(entry: SignedEntry): void;
  /** Forgets heights below `height`; they are final and nothing there will be signed again. */
  prune(height: number): void;
}

export const slotOf = (entry: SignedEntry): { height: number; round: number; type: SlotType } =>
  entry.kind === 'proposal'
    ? { height: entry.proposal.height, round: entry.proposal.round, type: 'proposal' }
    : { height: entry.vote.height, round: entry.vote.round, type: entry.vote.type };

export class MemorySignedVoteLog implements SignedVoteLog {
  readonly #byHeight = new Map<number, SignedEntry[]>();
  readonly lost: boolean;
  /** `lost`: the simulator's stand-in for a node restarted without its signed-vote log file (or wiped). */
  constructor(options: { lost?: boolean } = {}) {
    this.lost = options.lost ?? false;
  }
  signedAt(height: number): readonly SignedEntry[] {
    return this.#byHeight.get(height) ?? [];
  }
  record(entry: SignedEntry): void {
    const { height, round, type } = slotOf(entry);
    const entries = this.#byHeight.get(height) ?? [];
    const clash = entries.find((e) => {
      const s = slotOf(e);
      return s.round === round && s.type === type;
    });
    // The engine consults the log first, so this is a programming error, never a peer's doing.
    if (clash) throw new Error(`already signed ${type} at height ${height} round ${round}`);
    entries.push(entry);
    this.#byHeight.set(height, entries);
  }
  prune(height: number): void {
    for (const h of this.#byHeight.keys()) if (h < height) this.#byHeight.delete(h);
  }
}
