/**
 * The open membership proposals, for operators (the console's network page). State keeps each
 * proposal under its id only (governance.ts), so this read model remembers the ids of the
 * `governance.propose` transactions the chain includes — from each commit, and once, in the
 * background from the node's start, from the blocks a still-open proposal can have come from (the
 * last PROPOSAL_LIFETIME heights; older ones have expired) — and reads each proposal's state when
 * asked. Started at once so that the first question (a gateway waits 5 s) does not wait for up to
 * 10,000 block reads. It never touches consensus: it only reads committed blocks and state.
 */
import type { Hex } from '../protocol/hash.ts';
import { transactionHash } from '../protocol/transaction.ts';
import { type MembershipProposal, PROPOSAL_LIFETIME, proposalKey } from '../state/modules/governance.ts';
import type { Chain } from './chain.ts';

export interface ProposalIndexComponents {
  readonly chain: Pick<Chain, 'block' | 'onCommit' | 'head' | 'readState'>;
}

export class OpenProposalIndex {
  readonly #chain: ProposalIndexComponents['chain'];
  readonly #ids = new Set<Hex>();
  #scanned: Promise<void> | undefined;

  constructor({ chain }: ProposalIndexComponents) {
    this.#chain = chain;
    chain.onCommit(({ execution }) => {
      for (const t of execution.included) if (t.tx.type === 'governance.propose') this.#ids.add(t.hash);
    });
    this.#scanned = this.#scanFromHead();
  }

  /** Proposals still open at the head, oldest first (ties by id, so every node lists them alike). */
  async open(): Promise<MembershipProposal[]> {
    // A scan that failed (the store closing under it) is tried again by the next question.
    this.#scanned ??= this.#scanFromHead();
    await this.#scanned;
    const head = this.#chain.head.height;
    const open: MembershipProposal[] = [];
    for (const id of this.#ids) {
      const p = this.#chain.readState(proposalKey(id)) as unknown as MembershipProposal | undefined;
      // Refused proposals never reach state; adopted and expired ones are forgotten.
      if (p?.status === 'open' && p.expiresAt >= head) open.push(p);
      else this.#ids.delete(id);
    }
    return open.sort((a, b) => a.proposedAt - b.proposedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #scanFromHead(): Promise<void> {
    return this.#scan(this.#chain.head.height).catch(() => {
      this.#scanned = undefined;
    });
  }

  async #scan(to: number): Promise<void> {
    for (let h = Math.max(1, to - PROPOSAL_LIFETIME); h <= to; h++) {
      const block = await this.#chain.block(h);
      for (const tx of block?.transactions ?? [])
        if (tx.type === 'governance.propose') this.#ids.add(transactionHash(tx));
    }
  }
}
