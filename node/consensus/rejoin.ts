/**
 * When an authority that cannot vouch for what it signed may sign again.
 *
 * Its signed-vote log is lost (the file is missing: a data directory wiped or restored from a block
 * backup). Before the loss it ran the engine only at its head + 1, so it signed at heights up to
 * h + 1, where h is the highest block it ever committed — and h is unknown now. But h was decided:
 * more than two thirds of the authorities precommitted at h, and an authority precommits at h only
 * with its head at h − 1. Of those signers at most f are faulty and one may be this node, so at
 * least q − f − 1 of the *other* authorities are honest and have had a head ≥ h − 1 since before the
 * loss (q = ⌊2n/3⌋ + 1, f = ⌊(n − 1)/3⌋). Any n − q + f + 1 of the n − 1 others include one of them.
 * So once that many other authorities have each told this node their own head since it started,
 * the highest of those heads H satisfies H ≥ h − 1: it signed at most at H + 2, and from H + 3 on
 * it cannot sign twice. Heads learnt otherwise (from a peer's messages, or a status forwarded by a
 * third peer) are not its author's current head and do not count.
 *
 * With 4 authorities that is all 3 others, with 7 five of the 6: a node that lost its log waits
 * for the others to finalize two or three heights without it, and cannot rejoin while more than
 * n − q + f + 1 others are down. Deterministic: insertion-ordered map, no clock.
 */
import type { Hex } from '../protocol/hash.ts';

/** How many other authorities' own heads bound what a node that lost its log signed, among n. */
export function headsNeeded(n: number): number {
  const quorum = Math.floor((2 * n) / 3) + 1;
  const f = Math.floor((n - 1) / 3);
  return Math.min(n - 1, n - quorum + f + 1);
}

export class LostLogRejoin {
  /** Highest head each other authority reported about itself since this start. */
  readonly #heads = new Map<Hex, number>();

  note(author: Hex, height: number): void {
    if (height > (this.#heads.get(author) ?? -1)) this.#heads.set(author, height);
  }

  /**
   * The first height this node may sign at, once enough of `authorities` other than `me` have
   * reported; undefined until then.
   */
  voteFrom(authorities: readonly Hex[], me: Hex): number | undefined {
    const others = authorities.filter((a) => a !== me);
    let heard = 0;
    let top = 0;
    for (const a of others) {
      const h = this.#heads.get(a);
      if (h === undefined) continue;
      heard++;
      top = Math.max(top, h);
    }
    return heard >= headsNeeded(others.length + 1) ? top + 3 : undefined;
  }
}

/**
 * For the consensus host: from which height this authority may run the engine. A log that exists
 * is trusted whatever the chain holds — an empty chain with its log (a node stopped before its
 * first commit) votes at once; a lost one (lose()) waits until enough other authorities told their
 * own heads, and then signs only from the height that bound gives.
 */
export class RejoinGate {
  #rejoin: LostLogRejoin | undefined;
  #voteFrom = 1;

  /** The signed-vote log is lost: sign nothing until the bound is known. */
  lose(): void {
    this.#rejoin = new LostLogRejoin();
  }

  get waiting(): boolean {
    return this.#rejoin !== undefined;
  }

  mayVoteAt(height: number): boolean {
    return this.#rejoin === undefined && height >= this.#voteFrom;
  }

  /**
   * `author`'s own head; returns the first height this node may sign at once the bound is known
   * (once), else undefined. `authorities`: those of the height after the head.
   */
  note(author: Hex, height: number, authorities: readonly Hex[], me: Hex): number | undefined {
    const rejoin = this.#rejoin;
    if (!rejoin) return undefined;
    rejoin.note(author, height);
    const from = rejoin.voteFrom(authorities, me);
    if (from === undefined) return undefined;
    this.#rejoin = undefined;
    this.#voteFrom = from;
    return from;
  }
}
