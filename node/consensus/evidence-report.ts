/**
 * Equivocation evidence reporting: when consensus sees one authority sign two conflicting
 * statements, this authority puts both on the chain as an `evidence.equivocation` transaction,
 * which every node re-verifies (state/modules/evidence.ts). Observers see it too but do not report.
 */
import { randomUUID } from 'node:crypto';
import type { Chain } from '../chain/chain.ts';
import type { Logger } from '../log.ts';
import { blockHash } from '../protocol/block.ts';
import type { JsonObject } from '../protocol/canonical.ts';
import type { Hex } from '../protocol/hash.ts';
import type { MessageSigner } from '../protocol/signature.ts';
import { signTransactionWith, transactionHash } from '../protocol/transaction.ts';
import { type ConsensusMessage, senderOf } from '../protocol/votes.ts';

/** How long the evidence transaction stays valid for admission. */
const EVIDENCE_TTL_MS = 10 * 60_000;

export interface EvidenceReportComponents {
  readonly chain: Pick<Chain, 'authoritiesAt' | 'head' | 'rules'>;
  readonly signer: MessageSigner;
  /** Admits the transaction here and relays it to peers; throws a TillidError. */
  readonly submit: (tx: unknown) => Promise<Hex>;
  readonly log: Logger;
  /** Wall clock for the transaction's expiry (not consensus-critical: admission only). */
  readonly now: () => number;
}

/** Returns the handler consensus calls with two conflicting statements by one authority. */
export function evidenceReporter(c: EvidenceReportComponents) {
  return async (first: ConsensusMessage, second: ConsensusMessage): Promise<void> => {
    if (!c.chain.authoritiesAt(c.chain.head.height + 1).includes(c.signer.publicKey)) return;
    const tx = signTransactionWith(
      {
        chainId: c.chain.rules.chainId,
        type: 'evidence.equivocation',
        payload: { first: statement(first), second: statement(second) } as unknown as JsonObject,
        signer: c.signer.publicKey,
        nonce: randomUUID(),
        expiresAt: c.now() + EVIDENCE_TTL_MS,
      },
      c.signer,
    );
    try {
      await c.submit(tx);
      c.log.warn(
        { authority: senderOf(first), txHash: transactionHash(tx) },
        'reported equivocation evidence',
      );
    } catch (e) {
      c.log.warn({ err: (e as Error).message }, 'could not report equivocation evidence');
    }
  };
}

/** A signed statement as evidence carries it: a proposal without its block, by the block's hash. */
function statement(m: ConsensusMessage) {
  if (m.kind === 'vote') return { kind: 'vote', vote: m.vote };
  const { block, ...rest } = m.proposal;
  return { kind: 'proposal', proposal: { ...rest, blockHash: blockHash(block.header) } };
}
